"""From a dataset's ``load(seed)`` to the splits the trainer iterates: class subsets,
the device, and the loader settings of streamed splits (the core's ``[data]`` keys)."""
from __future__ import annotations

from typing import Any

import attrs
import torch

from vaereg.core.common.errors import VaeregError
from vaereg.core.data.class_subset import restrict_classes
from vaereg.core.data.data_options import LoaderOptions


def prepare_splits(dataset: Any, seed: int, loader: LoaderOptions,
                   device: torch.device) -> Any:
    """Load, keep the recipe's classes, and move each split to ``device``; a split that
    streams (has ``with_loader``) also gets the recipe's workers and pinned memory."""
    splits = dataset.load(seed)
    if len(splits.train) == 0:
        raise VaeregError("the dataset's training split is empty: every image went to "
                          "validation or testing (data.test_fraction = 1 is for the "
                          "anomalies of `eval --ood`), so there is nothing to train on")
    splits = restrict_classes(splits, loader, dataset)
    return type(splits)(*(prepare_split(split, loader, device)
                          for split in (splits.train, splits.val, splits.test)))


def prepare_split(split: Any, loader: LoaderOptions, device: torch.device) -> Any:
    """``split`` on ``device``, with the recipe's loader settings if it streams."""
    split = split.to(device)
    configure = getattr(split, "with_loader", None)
    return configure(loader) if configure else split


def prepare_anomalies(dataset: Any, seed: int, loader: LoaderOptions,
                      device: torch.device, part: str = "test") -> Any:
    """The dataset's labelled defects of ``part`` (``anomalies(seed)``, the MVTec
    layout's test defects; ``part="val"``: its validation defects) with their split
    prepared like the test split; None for a dataset without them."""
    anomalies = getattr(dataset, "anomalies", None)
    defects = (anomalies(seed) if part == "test" else anomalies(seed, part)) if anomalies else None
    if defects is None:
        return None
    return attrs.evolve(defects, split=prepare_split(defects.split, loader, device))
