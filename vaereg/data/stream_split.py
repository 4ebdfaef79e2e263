"""A split streamed from files through ``torch.utils.data.DataLoader``.

For datasets that do not fit on the device: worker processes decode, batches come back
pinned for a non-blocking copy. The interface is :class:`TensorSplit`'s (``batches``,
``num_batches``, ``len``, ``to``, ``y``), so the trainer treats both alike.

Exactness: the order is drawn from the trainer's data generator (whose state at the epoch
start a checkpoint keeps), and each example travels to its worker with its own seed,
mixed from an epoch seed and its index. Which worker decodes it, how many there are, or
whether the epoch was resumed half-way never changes a pixel. The DataLoader gets a
private generator, so creating one leaves torch's global stream (dropout) alone.

A file that cannot be decoded is reported by the worker, not raised there (a worker's
exception would reach the user as a traceback): ``on_bad_file = "stop"`` ends the run
with a message naming the file, ``"skip"`` leaves it out of its batch with a warning and
counts it in ``skipped_files`` (each file once; ``skipped_index`` holds their positions).

In a torchrun job each process reads only its slice of every batch (:meth:`sharded`):
the plan of global batches is the one a single process makes, so the examples, their
seeds and a mid-epoch resume are the same at any number of processes.
"""
from __future__ import annotations

import warnings
from typing import Any, Callable, Iterator, Literal

import attrs
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from vaereg.core.common.errors import VaeregError
from vaereg.core.data.batch import Batch
from vaereg.core.data.data_options import LoaderOptions
from vaereg.core.scale.shard import bounds
from vaereg.data.example_seeds import draw_seed, mix


class BadFile(Exception):
    """A file that is not a readable image of the expected kind."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason


@attrs.frozen
class Transforms:
    """Seeded random transforms, applied per example in the worker."""

    flip: bool = False      # horizontal flip with probability 1/2 (training passes only)
    binarize: bool = False  # Bernoulli pixels


class _SeededExamples(Dataset):
    """Maps ``(index, seed)`` to ``(index, image or the reason it failed)``."""

    def __init__(self, read: Callable[[int], Tensor], transforms: Transforms, train: bool):
        self.read, self.transforms, self.train = read, transforms, train

    def __getitem__(self, key: tuple[int, int]) -> tuple[int, Tensor | str]:
        index, seed = key
        try:
            x = self.read(index)
        except BadFile as error:
            return index, str(error)
        generator = torch.Generator().manual_seed(seed)
        if self.train and self.transforms.flip and bool(torch.rand((), generator=generator) < 0.5):
            x = x.flip(-1)
        if self.transforms.binarize:
            x = torch.bernoulli(x, generator=generator)
        return index, x


def _collate(items: list[tuple[int, Tensor | str]]
             ) -> tuple[Tensor, Tensor | None, list[tuple[int, str]]]:
    """(indices of the good examples, their images stacked, (index, reason) of the bad)."""
    good = [(i, x) for i, x in items if not isinstance(x, str)]
    bad = [(i, x) for i, x in items if isinstance(x, str)]
    if not good:
        return torch.empty(0, dtype=torch.long), None, bad
    return torch.tensor([i for i, _ in good]), torch.stack([x for _, x in good]), bad


class StreamSplit:
    """``size`` examples read by ``read(index) -> (C, H, W)`` float tensor in [0, 1]
    (raising :class:`BadFile`), labels ``y`` (or None); ``seed`` seeds the transforms of
    passes without a shuffling generator (evaluation)."""

    def __init__(self, read: Callable[[int], Tensor], size: int, y: Tensor | None, *,
                 transforms: Transforms = Transforms(), seed: int = 0,
                 on_bad_file: Literal["stop", "skip"] = "stop",
                 loader: LoaderOptions = LoaderOptions(),
                 device: torch.device = torch.device("cpu"),
                 shard: tuple[int, int] | None = None):
        self.read, self.size, self.y = read, size, y
        self.transforms, self.seed, self.on_bad_file = transforms, seed, on_bad_file
        self.loader, self.device, self.shard = loader, device, shard
        self.skipped_files: list[str] = []
        self.skipped_index: set[int] = set()  # positions of the skipped examples

    def _copy(self, **changes: Any) -> "StreamSplit":
        fields = {"read": self.read, "size": self.size, "y": self.y,
                  "transforms": self.transforms, "seed": self.seed,
                  "on_bad_file": self.on_bad_file, "loader": self.loader,
                  "device": self.device, "shard": self.shard, **changes}
        return StreamSplit(**fields)

    def __len__(self) -> int:
        return self.size

    def to(self, device: torch.device) -> "StreamSplit":
        return self._copy(device=torch.device(device))

    def with_loader(self, loader: LoaderOptions) -> "StreamSplit":
        """The same split read with the recipe's workers and memory settings."""
        return self._copy(loader=loader)

    def sharded(self, rank: int, world_size: int) -> "StreamSplit":
        """The split as process ``rank`` of ``world_size`` reads it: its slice of each batch."""
        return self._copy(shard=(rank, world_size))

    def select(self, index: Tensor) -> "StreamSplit":
        """The examples at ``index`` (a class subset)."""
        chosen = index.tolist()
        return self._copy(read=_Selected(self.read, chosen), size=len(chosen),
                          y=None if self.y is None else self.y[index])

    def num_batches(self, batch_size: int) -> int:
        return -(-len(self) // batch_size)

    def batches(self, batch_size: int, generator: torch.Generator | None = None,
                start: int = 0) -> Iterator[Batch]:
        """Batches in order, or shuffled by ``generator``; ``start`` skips the first
        batches of the epoch's order (mid-epoch resume). Random flips are applied in
        shuffled (training) passes only."""
        train = generator is not None
        order = torch.randperm(self.size, generator=generator) if train else torch.arange(self.size)
        epoch_seed = draw_seed(generator) if train else self.seed
        keys = [(index, mix(epoch_seed, index)) for index in order.tolist()]
        plan = [keys[begin:begin + batch_size]
                for begin in range(start * batch_size, self.size, batch_size)]
        weights = [1.0] * len(plan)
        if self.shard is not None:
            rank, world_size = self.shard
            spans = [bounds(len(keys), rank, world_size) for keys in plan]
            weights = [(hi - lo) * world_size / len(keys) for keys, (lo, hi) in zip(plan, spans)]
            kept = [(keys[lo:hi], w) for keys, (lo, hi), w in zip(plan, spans, weights) if hi > lo]
            plan, weights = [keys for keys, _ in kept], [w for _, w in kept]
        if not plan:
            return
        workers = self.loader.num_workers
        loader = DataLoader(_SeededExamples(self.read, self.transforms, train),
                            batch_sampler=plan, collate_fn=_collate, num_workers=workers,
                            pin_memory=self.loader.pin_memory and self.device.type == "cuda",
                            prefetch_factor=self.loader.prefetch_factor if workers else None,
                            generator=torch.Generator())
        for number, (indices, x, bad) in enumerate(loader, start=start):
            self._bad_files(bad)
            if x is None:
                raise VaeregError(f"every file of batch {number + 1} is unreadable (the "
                                  f"first: {bad[0][1]}); check the data folder")
            y = None if self.y is None else self.y[indices].to(self.device, non_blocking=True)
            x = x.to(self.device, non_blocking=True)
            yield Batch(x=x, target=x, y=y, shard_weight=weights[number - start])

    def _bad_files(self, bad: list[tuple[int, str]]) -> None:
        if not bad:
            return
        if self.on_bad_file == "stop":
            raise VaeregError(f"cannot read {bad[0][1]}. Replace or remove the file, or set "
                              f"data.on_bad_file = \"skip\" to leave such files out (counted, "
                              f"with a warning)")
        for index, reason in bad:
            if index in self.skipped_index:  # once a file, though every pass meets it
                continue
            self.skipped_index.add(index)
            self.skipped_files.append(reason)
            warnings.warn(f"skipped {reason} (data.on_bad_file = \"skip\"; "
                          f"{len(self.skipped_files)} skipped so far)", RuntimeWarning,
                          stacklevel=3)


class _Selected:
    """``read`` restricted to some indices (picklable, for worker processes)."""

    def __init__(self, read: Callable[[int], Tensor], chosen: list[int]):
        self.inner, self.chosen = read, chosen

    def __call__(self, index: int) -> Tensor:
        return self.inner(self.chosen[index])
