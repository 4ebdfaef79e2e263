"""The ``[data]`` keys the core owns, valid for every dataset.

A recipe's ``[data]`` table holds two kinds of keys: how batches are formed and loaded
(batch size, worker processes, pinned memory) and which classes are used — read by the
core for any dataset — and the dataset's own keys (its ``Options``: where the files are,
image size, ...). The recipe loader splits the table and validates both, collecting every
problem; a dataset's ``Options`` must not declare a core key.

``data.seed`` is also the core's: it seeds which images form the training subset and the
validation split, apart from ``run.seed`` (initialization, batch order, dropout), so a
comparison over seeds can vary one and hold the other.
"""
from __future__ import annotations

from typing import Any

import attrs

from vaereg.core.common.options import found, in_range, option, positive


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

SEED_KEY = "seed"
SEED_EXPECTED = "a non-negative integer (default: run.seed)"


def pop_data_seed(table: Any) -> tuple[Any, int | None, str | None]:
    """(the ``[data]`` table without ``seed``, the seed or None, a problem or None)."""
    if not isinstance(table, dict) or SEED_KEY not in table:
        return table, None, None
    rest = {key: value for key, value in table.items() if key != SEED_KEY}
    seed = table[SEED_KEY]
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        return rest, None, f"expected {SEED_EXPECTED}, found {found(seed)}"
    return rest, seed, None
