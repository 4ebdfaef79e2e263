"""A split held as one tensor on the device, batched by index.

For datasets that fit in memory (MNIST-sized), gathering rows of one device tensor is far
cheaper than a per-sample DataLoader; the shuffling generator is the only state.
"""
from __future__ import annotations

from typing import Iterator

import attrs
import torch
from torch import Tensor

from vaereg.core.batch import Batch


class TensorSplit:
    """Images ``x`` (N, C, H, W) in [0, 1] and labels ``y`` (N,), or None for data
    without labels."""

    def __init__(self, x: Tensor, y: Tensor | None, *, binarize: bool = False):
        self.x = x
        self.y = y
        self.binarize = binarize

    def __len__(self) -> int:
        return self.x.shape[0]

    def to(self, device: torch.device) -> "TensorSplit":
        y = None if self.y is None else self.y.to(device)
        return TensorSplit(self.x.to(device), y, binarize=self.binarize)

    def num_batches(self, batch_size: int) -> int:
        return -(-len(self) // batch_size)

    def batches(self, batch_size: int, generator: torch.Generator | None = None,
                start: int = 0) -> Iterator[Batch]:
        """Batches in order, or shuffled by ``generator`` (a CPU generator).

        ``start`` skips the first batches of the epoch's order (mid-epoch resume).
        Dynamic binarization draws from torch's global generator, so it is seeded and
        checkpointed with the rest of the run.
        """
        n = len(self)
        order = torch.randperm(n, generator=generator).to(self.x.device) if generator else None
        for begin in range(start * batch_size, n, batch_size):
            index = slice(begin, begin + batch_size) if order is None \
                else order[begin:begin + batch_size]
            x, y = self.x[index], None if self.y is None else self.y[index]
            if self.binarize:
                x = torch.bernoulli(x)
            yield Batch(x=x, target=x, y=y)


@attrs.frozen
class Splits:
    """What a dataset's ``load(seed)`` returns: three splits, each with ``to(device)``,
    ``batches(batch_size, generator)``, ``num_batches``, ``len``, ``x`` and ``y``."""

    train: TensorSplit
    val: TensorSplit
    test: TensorSplit


def split_train_val(x: Tensor, y: Tensor, *, val_size: int, train_size: int, seed: int,
                    binarize: bool) -> tuple[TensorSplit, TensorSplit]:
    """Seeded split of a training set into train and validation; ``train_size`` > 0
    keeps a fixed subset of the remainder (the small-data regime). Validation data are
    binarized once, with the same seed, so every epoch scores the same images."""
    if val_size + max(train_size, 1) > len(x):
        raise ValueError(f"val_size ({val_size}) + train_size ({train_size}) exceeds the "
                         f"{len(x)} training images")
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(x), generator=generator)
    val_index = order[:val_size]
    train_index = order[val_size:] if train_size == 0 else order[val_size:val_size + train_size]
    val = TensorSplit(x[val_index], y[val_index])
    if binarize:
        val = fixed_binarization(val, seed)
    return TensorSplit(x[train_index], y[train_index], binarize=binarize), val


def class_labels_check(num_classes: int):
    """An option check: a list of distinct class labels in [0, num_classes)."""
    def check(values) -> str | None:
        ok = all(0 <= v < num_classes for v in values) and len(set(values)) == len(values)
        return None if ok else f"distinct class labels in 0..{num_classes - 1}"
    return check


def keep_classes(split: TensorSplit, classes: tuple[int, ...]) -> TensorSplit:
    """The examples of ``split`` whose label is in ``classes`` (all when empty): training
    on some classes leaves the others unseen, for the held-out-class anomaly protocol."""
    if not classes:
        return split
    keep = torch.isin(split.y, torch.tensor(classes, device=split.y.device))
    return TensorSplit(split.x[keep], split.y[keep], binarize=split.binarize)


def fixed_binarization(split: TensorSplit, seed: int) -> TensorSplit:
    """One seeded Bernoulli draw per pixel, for evaluation sets."""
    generator = torch.Generator().manual_seed(seed + 1)
    x = torch.bernoulli(split.x, generator=generator)
    return TensorSplit(x, split.y)
