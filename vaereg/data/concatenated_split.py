"""Two splits read one after the other, as one split for evaluation (the anomaly protocol
that scores a run's test split followed by another dataset's): each part is read a batch
at a time as it would be alone, so nothing is copied into memory.
"""
from __future__ import annotations

from typing import Any, Iterator

import torch
from torch import Tensor

from vaereg.core.data.batch import Batch
from vaereg.data.split_images import dynamic_binarization


class ConcatenatedSplit:
    """``first`` then ``second``, in order (evaluation passes only: no shuffling)."""

    def __init__(self, first: Any, second: Any):
        self.first, self.second = first, second

    def __len__(self) -> int:
        return len(self.first) + len(self.second)

    @property
    def y(self) -> Tensor | None:
        if self.first.y is None or self.second.y is None:
            return None
        return torch.cat([self.first.y.cpu(), self.second.y.cpu().to(self.first.y.dtype)])

    @property
    def binarize(self) -> bool:
        """Whether a part draws Bernoulli pixels for each pass."""
        return dynamic_binarization(self.first) or dynamic_binarization(self.second)

    @property
    def skipped_index(self) -> set[int]:
        """Positions of the unreadable files the parts skipped, in this split's numbering."""
        offset = len(self.first)
        return set(getattr(self.first, "skipped_index", ())) | {
            offset + i for i in getattr(self.second, "skipped_index", ())}

    def num_batches(self, batch_size: int) -> int:
        return self.first.num_batches(batch_size) + self.second.num_batches(batch_size)

    def select(self, index: Tensor) -> "ConcatenatedSplit":
        """The examples at ``index``, those of ``first`` before those of ``second``."""
        index = index.cpu()
        inside = index < len(self.first)
        return ConcatenatedSplit(self.first.select(index[inside]),
                                 self.second.select(index[~inside] - len(self.first)))

    def batches(self, batch_size: int, generator: torch.Generator | None = None,
                start: int = 0) -> Iterator[Batch]:
        """The batches of ``first``, then those of ``second``."""
        if generator is not None or start:
            raise ValueError("a concatenated split is read in order, from its start")
        yield from self.first.batches(batch_size)
        yield from self.second.batches(batch_size)
