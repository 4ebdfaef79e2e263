"""Images and labels of any split, read through its batches.

A split held as one tensor has ``x``; a streamed one (``image_folder``, ``celeba``) has
no such tensor, its images live in files. Code that needs images of a split (a
robustness attack, a reference set for sample metrics, a picture) reads them here, with
only what every split has (``batches``, ``select``, ``len``): the pixels the model sees,
binarized if the split binarizes.
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import Tensor


def split_images(split: Any, n: int | None = None, *,
                 index: Tensor | Sequence[int] | None = None,
                 batch_size: int = 500) -> tuple[Tensor, Tensor | None]:
    """(images, labels or None) of ``split``, in order: the first ``n`` (all when None),
    or those at ``index`` (a tensor or any sequence of positions). Only the chosen
    examples are read."""
    if index is not None:
        index = torch.as_tensor(index, dtype=torch.long).reshape(-1)
        outside = index[(index < 0) | (index >= len(split))]
        if len(outside):
            raise IndexError(f"positions {outside.tolist()} are outside the split's "
                             f"{len(split)} examples (0 .. {len(split) - 1})")
    elif n is not None and n < len(split):
        index = torch.arange(n)
    chosen = split if index is None else split.select(index)
    batches = list(chosen.batches(batch_size))
    if not batches:
        raise ValueError("the split has no examples")
    x = torch.cat([batch.x for batch in batches])
    y = None if batches[0].y is None else torch.cat([batch.y for batch in batches])
    return x, y


def images_at_rows(split: Any, rows: Sequence[int], batch_size: int = 500) -> Tensor:
    """The images at ``rows`` (in that order) of a pass over ``split``: the same pixels
    as every other evaluation pass (a random binarization is seeded by position), read
    a batch at a time, keeping only those rows."""
    wanted, kept, start = set(rows), {}, 0
    for batch in split.batches(batch_size):
        for row in wanted.intersection(range(start, start + len(batch))):
            kept[row] = batch.x[row - start]
        start += len(batch)
        if len(kept) == len(wanted):
            break
    missing = sorted(wanted - kept.keys())
    if missing:
        raise IndexError(f"rows {missing} are outside the {start} images of the split")
    return torch.stack([kept[row] for row in rows])


def read_positions(split: Any) -> Tensor:
    """Positions of the examples a pass over ``split`` yields: all but the unreadable
    files a streamed split skipped (``skipped_index``, known once a pass met them)."""
    keep = torch.ones(len(split), dtype=torch.bool)
    keep[sorted(getattr(split, "skipped_index", ()))] = False
    return keep.nonzero().squeeze(1)


def dynamic_binarization(split: Any) -> bool:
    """Whether ``split`` draws Bernoulli pixels for each pass (one-tensor splits say so in
    ``binarize``, streamed ones in ``transforms.binarize``)."""
    transforms = getattr(split, "transforms", None)
    return bool(getattr(split, "binarize", False) or getattr(transforms, "binarize", False))


def is_binary(split: Any, batch_size: int = 500) -> bool:
    """Whether every pixel of ``split`` is 0 or 1; stops at the first batch that is not,
    so grey data cost one batch."""
    return all(bool(((batch.x == 0) | (batch.x == 1)).all())
               for batch in split.batches(batch_size))


def split_files(split: Any) -> list[str] | None:
    """The file of each example of a split that streams image files, else None."""
    read = getattr(split, "read", None)
    chosen = None
    while hasattr(read, "inner"):  # a class subset of the files
        chosen = read.chosen if chosen is None else [read.chosen[i] for i in chosen]
        read = read.inner
    paths = getattr(read, "paths", None)
    if paths is None:
        return None
    return list(paths) if chosen is None else [paths[i] for i in chosen]
