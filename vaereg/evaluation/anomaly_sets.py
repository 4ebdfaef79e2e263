"""The two anomaly protocols as labelled splits: which test images are anomalies. Both
read the datasets' test splits a batch at a time (a streamed split stays on disk).

- Held-out classes: a run trained on ``data.classes`` sees the full test split; images of
  the other classes are the anomalies (the one-class protocol of Ruff et al. 2018).
- Out of distribution: the run's test split (normal) followed by another dataset's test
  split (anomalies), built from the run's recipe with ``data`` replaced, so its options
  are validated like any recipe's. A folder of images without a ``test/`` part is used
  whole (``test_fraction = 1``), not a seeded tenth of it.
"""
from __future__ import annotations

from typing import Any

import attrs
import torch
from torch import Tensor

from vaereg.core.common.errors import VaeregError
from vaereg.core.data.class_subset import class_labels, described
from vaereg.core.data.split_preparation import prepare_splits
from vaereg.core.recipes.recipe import load_recipe
from vaereg.core.recipes.registry import DATASETS
from vaereg.data.concatenated_split import ConcatenatedSplit
from vaereg.data.split_images import read_positions, split_files
from vaereg.evaluation.run_loading import LoadedRun


@attrs.frozen
class StreamedAnomalySet:
    """An anomaly set read a batch at a time, never copied into memory: ``split`` is the
    run's test split itself, or it followed by another split (``parts``, in order: another
    dataset's test split, or the labelled defects); ``trained_classes``: the classes the
    run saw (held-out protocol: the others are the anomalies), or None (the second part
    is). ``protocol`` says how it was made; ``prefix`` names the figures over the whole
    set (``test``, ``test+ood``, ``test+defects``); ``name`` is its short, stable name
    (the evaluation folder's); ``paths``: each image's file, where the set is not the
    run's test split.

    ``index`` (each image's position in its own part), ``labels`` and ``is_anomaly``
    describe the examples a pass over ``split`` yields (a streamed part leaves out
    unreadable files): read them after the pass."""

    split: Any
    parts: tuple[Any, ...]
    trained_classes: Tensor | None
    protocol: str
    prefix: str
    name: str
    paths: tuple[str, ...] | None = None

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


def held_out_classes(run: LoadedRun) -> StreamedAnomalySet:
    """The test split; classes outside the run's ``data.classes`` are anomalies. When the
    run's ``data.test_classes`` kept only trained classes, the whole test split is used."""
    loader = run.recipe.data.loader
    if not loader.classes:
        raise VaeregError(f"--anomaly needs a run trained on a class subset (data.classes), "
                          f"but {run.run_dir} was trained on every class; use --ood DATASET")
    classes = class_labels(loader.classes, run.dataset, "data.classes").cpu()
    name = f"held-out classes (trained on {classes.tolist()})"
    test, paths = run.splits.test, None
    protocol = f"held-out classes (trained on {described(run.dataset, classes)})"
    if loader.test_classes and not _has_anomalies(test, classes):
        test = prepare_splits(run.dataset, run.recipe.seed_for_data,
                              attrs.evolve(loader, test_classes=()), run.device).test
        protocol += (f"; the whole test split, as data.test_classes = "
                     f"{list(loader.test_classes)} holds no held-out class")
        files = split_files(test)
        paths = None if files is None else tuple(files)
    if not _has_anomalies(test, classes):
        raise VaeregError(f"--anomaly: every test image of {run.run_dir} is of a trained class "
                          f"(data.classes = {list(loader.classes)}), so there is no anomaly "
                          f"to detect; train on fewer classes, or use --ood DATASET")
    return StreamedAnomalySet(test, (test,), classes, protocol, "test", name, paths)


def _has_anomalies(split, classes: Tensor) -> bool:
    """Whether ``split`` holds an image of a class outside ``classes``."""
    return split.y is not None and not torch.isin(split.y.cpu(), classes.cpu()).all()


def out_of_distribution(run: LoadedRun, name: str,
                        overrides: tuple[str, ...] = ()) -> StreamedAnomalySet:
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
    normal, other = run.splits.test, dataset.load(run.recipe.run.seed).test.to(run.device)
    return StreamedAnomalySet(ConcatenatedSplit(normal, other), (normal, other), None,
                              f"out of distribution ({len(other)} images of {name})",
                              "test+ood", f"out of distribution {name}")
