"""The two anomaly protocols as labelled splits: which test images are anomalies.

- Held-out classes: a run trained on ``data.classes`` sees the full test split; images of
  the other classes are the anomalies (the one-class protocol of Ruff et al. 2018).
- Out of distribution: the run's test split (normal) followed by another dataset's test
  split (anomalies), built from the run's recipe with ``data`` replaced, so its options
  are validated like any recipe's. A folder of images without a ``test/`` part is used
  whole (``test_fraction = 1``), not a seeded tenth of it.
"""
from __future__ import annotations

import warnings

import attrs
import torch
from torch import Tensor

from vaereg.core.class_subset import class_labels, described
from vaereg.core.errors import VaeregError
from vaereg.core.recipe import load_recipe
from vaereg.core.registry import DATASETS
from vaereg.core.run_loading import LoadedRun
from vaereg.core.split_preparation import prepare_splits
from vaereg.data.split_images import read_positions, split_images
from vaereg.data.tensor_split import TensorSplit


@attrs.frozen
class AnomalySet:
    """``split`` to score; ``index`` (each image's position in its own dataset's test
    split) and ``is_anomaly`` (0/1), aligned with it; ``protocol`` names how it was made;
    ``prefix`` names the figures over the whole set (``test``, or ``test+ood`` when it
    is not the test split alone); ``paths``, each image's file (or ``dataset:test[i]``)."""

    split: TensorSplit
    index: Tensor
    is_anomaly: Tensor
    protocol: str
    prefix: str
    paths: tuple[str, ...] | None = None


def held_out_classes(run: LoadedRun) -> AnomalySet:
    """The test split; classes outside the run's ``data.classes`` are anomalies. When the
    run's ``data.test_classes`` kept only trained classes, the whole test split is used."""
    loader = run.recipe.data.loader
    if not loader.classes:
        raise VaeregError(f"--anomaly needs a run trained on a class subset (data.classes), "
                          f"but {run.run_dir} was trained on every class; use --ood DATASET")
    classes = class_labels(loader.classes, run.dataset, "data.classes")
    test = run.splits.test
    if loader.test_classes and not _has_anomalies(test, classes):
        warnings.warn(f"data.test_classes = {list(loader.test_classes)} holds no held-out "
                      f"class, so --anomaly scores the whole test split", RuntimeWarning,
                      stacklevel=2)
        test = prepare_splits(run.dataset, run.recipe.seed_for_data,
                              attrs.evolve(loader, test_classes=()), run.device).test
    x, y = split_images(test)
    unseen = ~torch.isin(y, classes.to(y.device))
    if not unseen.any():
        raise VaeregError(f"--anomaly: every test image of {run.run_dir} is of a trained class "
                          f"(data.classes = {list(loader.classes)}), so there is no anomaly "
                          f"to detect; train on fewer classes, or use --ood DATASET")
    positions = read_positions(test)
    return AnomalySet(TensorSplit(x, y), positions, unseen.long().cpu(),
                      f"held-out classes (trained on {described(run.dataset, classes)})", "test",
                      _row_names(test, positions, f"{run.recipe.data.name}:test"))


def _row_names(split, positions: Tensor, fallback: str) -> tuple[str, ...]:
    """The file of each example at ``positions``, or ``fallback[i]`` for a tensor split."""
    from vaereg.evaluation.row_paths import split_files  # (it imports this module)

    files = split_files(split)
    return tuple(files[i] if files is not None else f"{fallback}[{i}]"
                 for i in positions.tolist())


def _has_anomalies(split, classes: Tensor) -> bool:
    """Whether ``split`` holds an image of a class outside ``classes``."""
    return split.y is not None and not torch.isin(split.y.cpu(), classes).all()


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
    data, fields = {"name": name}, attrs.fields_dict(cls.Options)
    binarize = getattr(run.recipe.data.options, "binarize", None)
    if binarize is not None and "binarize" in fields:
        data["binarize"] = binarize
    if "test_fraction" in fields:  # a folder without test/: every image is an anomaly
        data["test_fraction"] = 1.0
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
    normal_at, other_at = read_positions(normal_split), read_positions(other_split)
    is_anomaly = torch.cat([torch.zeros(len(normal)), torch.ones(len(other))]).long()
    paths = (_row_names(normal_split, normal_at, f"{run.recipe.data.name}:test")
             + _row_names(other_split, other_at, "ood:test"))
    return AnomalySet(split, torch.cat([normal_at, other_at]), is_anomaly,
                      f"out of distribution ({name})", "test+ood", paths)
