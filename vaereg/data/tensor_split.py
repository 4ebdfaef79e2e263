"""A split held as one tensor on the device, batched by index.

For datasets that fit in memory (MNIST-sized), gathering rows of one device tensor is far
cheaper than a per-sample DataLoader; the shuffling generator is the only state.
"""
from __future__ import annotations

from typing import Iterator

import attrs
import torch
from torch import Tensor

from vaereg.core.data.batch import Batch
from vaereg.data.example_seeds import draw_seed, generator_for


class TensorSplit:
    """Images ``x`` (N, C, H, W) in [0, 1] and labels ``y`` (N,), or None for data
    without labels.

    ``binarize``: draw Bernoulli pixels anew for every batch; ``seed`` seeds the draws of
    passes without a shuffling generator (evaluating the training split).
    """

    def __init__(self, x: Tensor, y: Tensor | None, *, binarize: bool = False, seed: int = 0):
        self.x = x
        self.y = y
        self.binarize = binarize
        self.seed = seed

    def __len__(self) -> int:
        return self.x.shape[0]

    def to(self, device: torch.device) -> "TensorSplit":
        y = None if self.y is None else self.y.to(device)
        return TensorSplit(self.x.to(device), y, binarize=self.binarize, seed=self.seed)

    def select(self, index: Tensor) -> "TensorSplit":
        """The examples at ``index`` (a class subset)."""
        y = None if self.y is None else self.y[index.to(self.y.device)]
        return TensorSplit(self.x[index.to(self.x.device)], y, binarize=self.binarize,
                           seed=self.seed)

    def num_batches(self, batch_size: int) -> int:
        return -(-len(self) // batch_size)

    def batches(self, batch_size: int, generator: torch.Generator | None = None,
                start: int = 0) -> Iterator[Batch]:
        """Batches in order, or shuffled by ``generator`` (a CPU generator).

        ``start`` skips the first batches of the epoch's order (mid-epoch resume).
        Dynamic binarization draws batch ``b`` from a generator seeded by the epoch's seed
        (drawn from ``generator`` after the order) and ``b``, so a resumed epoch draws the
        same pixels and the global random stream is left alone.
        """
        n = len(self)
        order = torch.randperm(n, generator=generator).to(self.x.device) if generator else None
        if self.binarize:
            epoch_seed = draw_seed(generator) if generator else self.seed
        for number, begin in enumerate(range(start * batch_size, n, batch_size), start=start):
            index = slice(begin, begin + batch_size) if order is None \
                else order[begin:begin + batch_size]
            x, y = self.x[index], None if self.y is None else self.y[index]
            if self.binarize:
                x = torch.bernoulli(x, generator=generator_for(epoch_seed, number, x.device))
            yield Batch(x=x, target=x, y=y)


@attrs.frozen
class Splits:
    """What a dataset's ``load(seed)`` returns: three splits, each with ``to(device)``,
    ``batches(batch_size, generator)``, ``num_batches``, ``len``, ``select(index)`` and
    ``y``; only one-tensor splits have ``x`` (read any split with ``split_images``)."""

    train: TensorSplit
    val: TensorSplit
    test: TensorSplit


def to_float(images: Tensor) -> Tensor:
    """uint8 (N, H, W) -> float (N, 1, H, W) in [0, 1]."""
    return images.unsqueeze(1).float().div_(255.0)


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
    return TensorSplit(x[train_index], y[train_index], binarize=binarize, seed=seed), val


def fixed_binarization(split: TensorSplit, seed: int) -> TensorSplit:
    """One seeded Bernoulli draw per pixel, for evaluation sets."""
    generator = torch.Generator().manual_seed(seed + 1)
    x = torch.bernoulli(split.x, generator=generator)
    return TensorSplit(x, split.y)
