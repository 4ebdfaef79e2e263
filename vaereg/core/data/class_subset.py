"""Class subsets, applied by the core to any dataset whose splits have labels.

``data.classes`` restricts training and validation; ``data.test_classes`` the test split
(empty: all of it). Training on some classes and testing on all is the held-out-class
anomaly protocol. Classes are named by label or, where a dataset has ``class_names``, by
name; one that does not exist is bad input.
"""
from __future__ import annotations

from typing import Any

import torch

from vaereg.core.common.errors import VaeregError, did_you_mean
from vaereg.core.data.data_options import LoaderOptions


def class_labels(requested: tuple[int | str, ...], dataset: Any, key: str) -> torch.Tensor:
    """The labels of ``requested`` classes; every one that does not exist is named."""
    names = tuple(getattr(dataset, "class_names", ()) or ())
    count = getattr(dataset, "num_classes", 0) or len(names)
    known = ", ".join(f"{i} ({n})" for i, n in enumerate(names)) if names \
        else f"labels 0 .. {count - 1}"
    labels, missing = [], []
    for item in requested:
        if isinstance(item, str) and item in names:
            labels.append(names.index(item))
        elif isinstance(item, int) and 0 <= item < count:
            labels.append(item)
        else:
            missing.append(repr(item) + (did_you_mean(item, names) if isinstance(item, str)
                                         else ""))
    if missing:
        raise VaeregError(f"{key}: no class {', '.join(missing)} in this dataset; it has "
                          f"{known}")
    return torch.tensor(sorted(set(labels)))


def class_names(dataset: Any, labels: Any) -> list[str]:
    """The dataset's name of each label (its ``class_names``), else the label itself."""
    names = tuple(getattr(dataset, "class_names", ()) or ())
    return [names[int(label)] if 0 <= int(label) < len(names) else str(int(label))
            for label in labels]


def described(dataset: Any, labels: Any) -> str:
    """Classes for a message or a title: their names where the dataset has them
    (``Coat, Shirt``), else their labels (``[4, 6]``)."""
    if getattr(dataset, "class_names", ()):
        return ", ".join(class_names(dataset, labels))
    return str([int(label) for label in labels])


def _subset(split: Any, labels: torch.Tensor, key: str, which: str) -> Any:
    if split.y is None:
        raise VaeregError(f"{key} needs labels, but this dataset's {which} split has none")
    index = torch.isin(split.y.cpu(), labels).nonzero().squeeze(1)
    if len(index) == 0:
        raise VaeregError(f"{key} = {labels.tolist()} leaves no images in the {which} split")
    return split.select(index)


def restrict_classes(splits: Any, loader: LoaderOptions, dataset: Any) -> Any:
    """Train and validation restricted to ``loader.classes``, test to ``test_classes``."""
    train, val, test = splits.train, splits.val, splits.test
    if loader.classes:
        labels = class_labels(loader.classes, dataset, "data.classes")
        train = _subset(train, labels, "data.classes", "training")
        val = _subset(val, labels, "data.classes", "validation")
    if loader.test_classes:
        labels = class_labels(loader.test_classes, dataset, "data.test_classes")
        test = _subset(test, labels, "data.test_classes", "test")
    return type(splits)(train, val, test)
