"""The two anomaly protocols as labelled splits: which test images are anomalies.

- Held-out classes: a run trained on ``data.classes`` sees the full test split; images of
  the other classes are the anomalies (the one-class protocol of Ruff et al. 2018).
- Out of distribution: the run's test split (normal) followed by another dataset's test
  split (anomalies), built from the run's recipe with ``data`` replaced, so its options
  are validated like any recipe's.
"""
from __future__ import annotations

import attrs
import torch
from torch import Tensor

from vaereg.core.class_subset import class_labels
from vaereg.core.errors import VaeregError
from vaereg.core.recipe import load_recipe
from vaereg.core.registry import DATASETS
from vaereg.core.run_loading import LoadedRun
from vaereg.data.split_images import read_positions, split_images
from vaereg.data.tensor_split import TensorSplit


@attrs.frozen
class AnomalySet:
    """``split`` to score; ``index`` (each image's position in its own dataset's test
    split) and ``is_anomaly`` (0/1), aligned with it; ``protocol`` names how it was made;
    ``prefix`` names the figures over the whole set (``test``, or ``test+ood`` when it
    is not the test split alone)."""

    split: TensorSplit
    index: Tensor
    is_anomaly: Tensor
    protocol: str
    prefix: str


def held_out_classes(run: LoadedRun) -> AnomalySet:
    """The full test split; classes outside the run's ``data.classes`` are anomalies."""
    if not run.recipe.data.loader.classes:
        raise VaeregError(f"--anomaly needs a run trained on a class subset (data.classes), "
                          f"but {run.run_dir} was trained on every class; use --ood DATASET")
    classes = class_labels(run.recipe.data.loader.classes, run.dataset, "data.classes")
    x, y = split_images(run.splits.test)
    unseen = ~torch.isin(y, classes.to(y.device))
    return AnomalySet(TensorSplit(x, y), read_positions(run.splits.test), unseen.long().cpu(),
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
    # one tensor of both sets: images as each split gives them (streamed ones too)
    normal_split = run.splits.test
    other_split = dataset.load(run.recipe.run.seed).test.to(run.device)
    normal, normal_y = split_images(normal_split)
    other, other_y = split_images(other_split)
    labels = None if normal_y is None or other_y is None else \
        torch.cat([normal_y, other_y.to(normal_y)])
    split = TensorSplit(torch.cat([normal, other]), labels)
    index = torch.cat([read_positions(normal_split), read_positions(other_split)])
    is_anomaly = torch.cat([torch.zeros(len(normal)), torch.ones(len(other))]).long()
    return AnomalySet(split, index, is_anomaly, f"out of distribution ({name})", "test+ood")
