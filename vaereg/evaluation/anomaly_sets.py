"""The two anomaly protocols as labelled splits: which test images are anomalies. Both
read the datasets' test splits a batch at a time (a streamed split stays on disk).

- Held-out classes: a run trained on ``data.classes`` sees the full test split; images of
  the other classes are the anomalies (the one-class protocol of Ruff et al. 2018).
- Out of distribution: the run's test split (normal) followed by another dataset's test
  split (anomalies), built from the run's recipe with ``data`` replaced, so its options
  are validated like any recipe's.
"""
from __future__ import annotations

from typing import Any

import attrs
import torch
from torch import Tensor

from vaereg.core.class_subset import class_labels
from vaereg.core.errors import VaeregError
from vaereg.core.recipe import load_recipe
from vaereg.core.registry import DATASETS
from vaereg.core.run_loading import LoadedRun
from vaereg.data.concatenated_split import ConcatenatedSplit
from vaereg.data.split_images import read_positions


@attrs.frozen
class AnomalySet:
    """``split`` to score: the run's test split itself, or it followed by another dataset's
    (``parts``, in order), read a batch at a time, never copied into memory;
    ``trained_classes``: the classes the run saw (held-out protocol: the others are the
    anomalies), or None (out of distribution: the second part is). ``protocol`` names how
    it was made; ``prefix`` names the figures over the whole set (``test``, or
    ``test+ood`` when it is not the test split alone).

    ``index``, ``labels`` and ``is_anomaly`` describe the examples a pass over ``split``
    yields (a streamed part leaves out unreadable files): read them after the pass."""

    split: Any
    parts: tuple[Any, ...]
    trained_classes: Tensor | None
    protocol: str
    prefix: str

    @property
    def index(self) -> Tensor:
        """Each scored image's position in its own dataset's test split."""
        return torch.cat([read_positions(part) for part in self.parts])

    @property
    def labels(self) -> Tensor | None:
        """The class of each scored image (None when a part has no labels)."""
        if any(part.y is None for part in self.parts):
            return None
        labels = [part.y.cpu()[read_positions(part)] for part in self.parts]
        return torch.cat([part.to(labels[0].dtype) for part in labels])

    @property
    def is_anomaly(self) -> Tensor:
        """1 for an anomaly, 0 for a normal image, aligned with ``index``."""
        if self.trained_classes is not None:
            return (~torch.isin(self.labels, self.trained_classes)).long()
        normal, other = (len(read_positions(part)) for part in self.parts)
        return torch.cat([torch.zeros(normal), torch.ones(other)]).long()


def held_out_classes(run: LoadedRun) -> AnomalySet:
    """The full test split; classes outside the run's ``data.classes`` are anomalies."""
    if not run.recipe.data.loader.classes:
        raise VaeregError(f"--anomaly needs a run trained on a class subset (data.classes), "
                          f"but {run.run_dir} was trained on every class; use --ood DATASET")
    classes = class_labels(run.recipe.data.loader.classes, run.dataset, "data.classes")
    test = run.splits.test
    return AnomalySet(test, (test,), classes.cpu(),
                      f"held-out classes (trained on {classes.tolist()})", "test")


def out_of_distribution(run: LoadedRun, name: str, overrides: tuple[str, ...] = ()) -> AnomalySet:
    """The run's test split (normal) then dataset ``name``'s test split (anomalies).

    ``overrides`` are ``KEY=VALUE`` options of that dataset. A run trained on binarized
    data scores binarized anomalies too (when the dataset has a ``binarize`` option and
    ``overrides`` leave it alone), else the pixel type alone would separate the sets.
    """
    try:
        cls = DATASETS.load(name)
    except KeyError:
        raise VaeregError(DATASETS.unknown(name)) from None
    data = {"name": name}
    binarize = getattr(run.recipe.data.options, "binarize", None)
    if binarize is not None and "binarize" in attrs.fields_dict(cls.Options):
        data["binarize"] = binarize
    table = {**run.recipe.to_table(), "data": data}
    recipe = load_recipe(table=table, overrides=[f"data.{text}" for text in overrides])
    dataset = recipe.data.cls(recipe.data.options)
    if tuple(dataset.input_shape) != tuple(run.dataset.input_shape):
        raise VaeregError(f"--ood {name}: its images are {tuple(dataset.input_shape)}, the run's "
                          f"are {tuple(run.dataset.input_shape)}; the shapes must match")
    normal, other = run.splits.test, dataset.load(run.recipe.run.seed).test.to(run.device)
    return AnomalySet(ConcatenatedSplit(normal, other), (normal, other), None,
                      f"out of distribution ({name})", "test+ood")
