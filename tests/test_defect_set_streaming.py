"""The labelled-defects set streams: its images are read a batch at a time from the run's
test split and the defects' split (never gathered into one tensor), and what is computed
from them equals the same computation on the images held in memory."""
from __future__ import annotations

import weakref

import attrs
import pytest
import torch

from vaereg.data.split_images import images_at_rows, split_images
from vaereg.data.tensor_split import TensorSplit
from vaereg.evaluation.baseline_maps import PixelGaussian
from vaereg.evaluation.defect_localization import all_maps
from vaereg.evaluation.defect_set import labelled_defects
from vaereg.evaluation.eval_command import evaluate_and_save
from vaereg.evaluation.metric import evaluate
from vaereg.evaluation.anomaly_maps import MapOptions
from vaereg.evaluation.run_evaluation import metric_list
from vaereg.evaluation.run_loading import load_run
from vaereg.testing import make_trainer, tiny_recipe

from image_fixtures import mvtec_folder

NORMAL, DEFECTS = 6, {"bright": 4, "dark": 3}


@attrs.define
class Alive:
    """How many of the batches read are still referenced, and the most at once."""

    now: int = 0
    peak: int = 0
    read: int = 0

    def track(self, batch) -> None:
        self.now, self.read = self.now + 1, self.read + 1
        self.peak = max(self.peak, self.now)
        weakref.finalize(batch.x, self.release)

    def release(self) -> None:
        self.now -= 1


class Tracked:
    """A split whose batches ``alive`` counts while something holds them."""

    def __init__(self, split, alive: Alive):
        self.split, self.alive = split, alive

    def __getattr__(self, name):
        return getattr(self.split, name)

    def __len__(self) -> int:
        return len(self.split)

    def to(self, device) -> "Tracked":
        return Tracked(self.split.to(device), self.alive)

    def with_loader(self, loader) -> "Tracked":
        return Tracked(self.split.with_loader(loader), self.alive)

    def batches(self, batch_size, generator=None, start=0):
        for batch in self.split.batches(batch_size, generator, start):
            self.alive.track(batch)
            yield batch


class TrackedDefects:
    """A dataset whose defects' split is :class:`Tracked`."""

    def __init__(self, dataset, alive: Alive):
        self.dataset, self.alive = dataset, alive

    def __getattr__(self, name):
        return getattr(self.dataset, name)

    def anomalies(self, seed, part="test"):
        defects = self.dataset.anomalies(seed, part)
        return attrs.evolve(defects, split=Tracked(defects.split, self.alive))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("streaming")
    mvtec_folder(root / "data", train=24, good=NORMAL, defects=DEFECTS, size=8)
    table = tiny_recipe(run={"epochs": 1},
                        data={"name": "image_folder", "root": str(root / "data"), "batch_size": 8})
    trainer = make_trainer(table, root / "runs")
    trainer.fit()
    return load_run(trainer.run_dir, "last")


def test_the_defect_set_is_never_held_in_memory_whole(run):
    alive = Alive()
    splits = attrs.evolve(run.splits, test=Tracked(run.splits.test, alive))
    tracked = attrs.evolve(run, splits=splits, dataset=TrackedDefects(run.dataset, alive))
    assert labelled_defects(tracked) is not None and alive.read == 0  # nothing read yet
    evaluation, paths = evaluate_and_save(tracked, anomaly=True, batch_size=1,
                                          projector_points=0)
    images = NORMAL + sum(DEFECTS.values())
    assert len(evaluation.index) == images and "heat_maps" in paths
    assert alive.read >= 3 * images  # scores, maps and heat maps each passed over the set
    assert alive.peak <= 2  # one image a batch: the one being scored and the one before


def test_scores_and_maps_equal_those_of_the_images_held_in_memory(run):
    defects = labelled_defects(run)
    held = TensorSplit(torch.cat([split_images(part)[0] for part in defects.anomaly_set.parts]),
                       None)
    batch_size = NORMAL // 2  # no batch mixes normal and defect images in either
    # the protocol's defaults as eval runs them: the folder has no class labels
    metrics, _ = metric_list(None, None, anomaly=True, model=run.model, train=run.splits.train)
    streamed = evaluate(run.model, defects.anomaly_set.split, metrics,
                        train=run.splits.train, val=run.splits.val, batch_size=batch_size)
    in_memory = evaluate(run.model, held, metrics, train=run.splits.train,
                         val=run.splits.val, batch_size=batch_size)
    assert streamed.per_example.keys() == in_memory.per_example.keys()
    for name, values in in_memory.per_example.items():
        assert torch.equal(streamed.per_example[name], values), name
    gaussian = PixelGaussian.fit(run.splits.train)
    options = MapOptions(restoration_steps=2)
    maps = all_maps(run, defects.anomaly_set.split, gaussian, options, batch_size, seed=3)
    for name, values in all_maps(run, held, gaussian, options, batch_size, seed=3).items():
        assert torch.equal(maps[name], values), name
    assert torch.equal(images_at_rows(defects.anomaly_set.split, [8, 0, 12]), held.x[[8, 0, 12]])
    assert defects.kinds == ("good",) * NORMAL + ("bright",) * 4 + ("dark",) * 3
    assert defects.masks.shape == (13, 8, 8) and not defects.masks[:NORMAL].any()
    assert all(defects.masks[NORMAL:].flatten(1).any(1))
