"""The ``[data]`` keys the core owns, valid for every dataset.

A recipe's ``[data]`` table holds two kinds of keys: how batches are formed and loaded
(batch size, worker processes, pinned memory) and which classes are used — read by the
core for any dataset — and the dataset's own keys (its ``Options``: where the files are,
image size, ...). The recipe loader splits the table and validates both, collecting every
problem; a dataset's ``Options`` must not declare a core key.
"""
from __future__ import annotations

import attrs

from vaereg.core.options import in_range, option, positive


@attrs.frozen
class LoaderOptions:
    batch_size: int = option(128, "training (and evaluation) batch size", check=positive)
    num_workers: int = option(0, "worker processes that read and decode a streamed dataset "
                              "(image_folder, celeba); 0 = in the main process. Results do "
                              "not depend on it", check=in_range(0))
    pin_memory: bool = option(True, "page-locked batches of a streamed dataset, copied to a "
                              "CUDA device without blocking (ignored on the CPU)")
    prefetch_factor: int = option(2, "batches each worker loads ahead (num_workers > 0)",
                                  check=positive)
    classes: tuple[int | str, ...] = option(
        (), "train and validate on these classes only (labels, or class names where the "
        "dataset has them); empty = all")
    test_classes: tuple[int | str, ...] = option(
        (), "test on these classes only; empty = the whole test split (the held-out-class "
        "anomaly protocol trains on `classes` and tests on everything)")


LOADER_KEYS = frozenset(field.name for field in attrs.fields(LoaderOptions))
