"""Each process's part of a split in a torchrun job: its slice of every global batch.

``data.batch_size`` is the global batch. The order, and dynamic binarization, are drawn
exactly as in one process (from the same seeded data generator), then rank r keeps
examples ``[lo_r, hi_r)`` of each batch, so the union over ranks is the one-process batch
and a resumed epoch (at any number of processes) continues the same order. A split that
streams (``StreamSplit``) slices the batch plan itself, so each process decodes only its
own examples. A last batch that does not split evenly gives some ranks one example more;
``Batch.shard_weight`` (local size x processes / global size) weighs each rank's loss so
that DDP's gradient average is the gradient of the global batch mean.
"""
from __future__ import annotations

from typing import Any, Iterator

import torch

from vaereg.core.common.errors import VaeregError
from vaereg.core.data.batch import Batch
from vaereg.core.scale.distributed import Job


def bounds(size: int, rank: int, world_size: int) -> tuple[int, int]:
    """Rank ``rank``'s slice of ``size`` examples: sizes differ by at most one."""
    base, extra = divmod(size, world_size)
    lo = rank * base + min(rank, extra)
    return lo, lo + base + (rank < extra)


def slice_batch(batch: Batch, rank: int, world_size: int) -> Batch:
    lo, hi = bounds(len(batch), rank, world_size)
    y = None if batch.y is None else batch.y[lo:hi]
    return Batch(x=batch.x[lo:hi], target=batch.target[lo:hi], y=y,
                 shard_weight=(hi - lo) * world_size / len(batch))


class ShardedSplit:
    """A split as one rank of a job sees it in training and validation."""

    def __init__(self, split: Any, job: Job):
        self.split, self.job = split, job

    def num_batches(self, batch_size: int) -> int:
        return self.split.num_batches(batch_size)

    def local_size(self, batch_size: int) -> int:
        """How many examples of a pass this rank takes."""
        n, rank, world = len(self.split), self.job.rank, self.job.world_size
        sizes = [min(batch_size, n - begin) for begin in range(0, n, batch_size)]
        return sum(hi - lo for lo, hi in (bounds(size, rank, world) for size in sizes))

    def batches(self, batch_size: int, generator: torch.Generator | None = None,
                start: int = 0) -> Iterator[Batch]:
        """This rank's slices of the global batches; empty slices (a tiny last batch in
        evaluation) are left out."""
        for batch in self.split.batches(batch_size, generator, start):
            local = batch if self.split_is_sharded else \
                slice_batch(batch, self.job.rank, self.job.world_size)
            if len(local):
                yield local

    @property
    def split_is_sharded(self) -> bool:
        return getattr(self.split, "shard", None) is not None


def shard_of(split: Any, job: Job) -> Any:
    """``split`` itself for one process, else this rank's part of it."""
    if not job.active:
        return split
    shard = getattr(split, "sharded", None)
    return ShardedSplit(shard(job.rank, job.world_size) if shard else split, job)


def check_last_batch(size: int, batch_size: int, job: Job) -> None:
    """Every rank needs at least one example of every training batch (DDP steps together)."""
    last = size % batch_size
    if job.active and 0 < last < job.world_size:
        raise VaeregError(f"the last training batch of each epoch holds {last} example(s) "
                          f"({size} examples, data.batch_size = {batch_size}), fewer than "
                          f"the {job.world_size} processes of this torchrun job; change "
                          f"data.batch_size or data.train_size")
