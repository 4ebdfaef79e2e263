"""TensorBoard pictures and checkpoints follow their cadence; data without labels works;
data that is not images (signals, volumes) trains with the default logging, unpictured."""
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from vaereg import DATASETS, Splits, TensorSplit
from vaereg.core.recipes.run_cadence import Cadence
from vaereg.testing import SyntheticImages, make_trainer, registered, tiny_recipe


class Unlabelled(SyntheticImages):
    num_classes = 0

    def load(self, seed):
        splits = super().load(seed)
        return Splits(*(TensorSplit(s.x, None) for s in (splits.train, splits.val, splits.test)))


class Signals(SyntheticImages):
    """The synthetic data as 1-D signals of 64 samples."""

    def __init__(self, options):
        super().__init__(options)
        self.input_shape = (1, 64)


class Volumes(SyntheticImages):
    """The synthetic data as 6x6x6 volumes."""

    def __init__(self, options):
        super().__init__(options)
        self.input_shape = (1, 6, 6, 6)


class NotPictures(SyntheticImages):
    """Image-shaped, but declared not to be images."""

    yields_images = False


def images(run_dir, tag):
    events = EventAccumulator(str(run_dir), size_guidance={"images": 0})
    events.Reload()
    return events.Images(tag)


def event_tags(run_dir):
    events = EventAccumulator(str(run_dir))
    events.Reload()
    return events.Tags()


@pytest.mark.parametrize("cls", [Signals, Volumes, NotPictures], ids=lambda c: c.__name__)
def test_data_that_is_not_images_trains_with_the_default_logging_and_no_pictures(tmp_path,
                                                                                 cls):
    recipe = tiny_recipe(data={"name": "shaped"}, logging={"histograms": True})
    with registered("shaped", cls, DATASETS):
        trainer = make_trainer(recipe, tmp_path)
        metrics = trainer.fit()
    assert trainer.recipe.logging.images  # the default: pictures where the data has them
    assert metrics["epochs"] == 2 and (trainer.run_dir / "metrics.json").is_file()
    tags = event_tags(trainer.run_dir)
    assert tags["images"] == []
    assert "weights/mu_head.weight" in tags["histograms"]  # the pictures plugin ran


def test_data_without_labels_gets_grids_of_the_asked_size(tmp_path):
    with registered("unlabelled", Unlabelled, DATASETS):
        trainer = make_trainer(tiny_recipe(data={"name": "unlabelled"},
                                           logging={"num_images": 8}), tmp_path)
        trainer.fit()
    samples = images(trainer.run_dir, "images/samples")
    assert [e.step for e in samples] == [0, 1]
    # 8 images in a grid of 8 columns: one row of 28-pixel tiles plus 2-pixel padding
    assert (samples[0].width, samples[0].height) == (8 * 30 + 2, 32)


def test_pictures_every_n_epochs_and_always_after_the_last(tmp_path):
    trainer = make_trainer(tiny_recipe(run={"epochs": 5}, logging={"every_n_epochs": 2}),
                           tmp_path)
    trainer.fit()
    assert [e.step for e in images(trainer.run_dir, "images/samples")] == [1, 3, 4]


def test_pictures_after_the_last_epoch_when_early_stopping_ends_the_run(tmp_path):
    trainer = make_trainer(tiny_recipe(
        run={"epochs": 6}, logging={"every_n_epochs": 100},
        plugins={"early_stopping": {"patience": 0, "min_delta": 1e6}}), tmp_path)
    metrics = trainer.fit()
    assert metrics["epochs"] == 2  # the second validation cannot gain a million nats
    assert [e.step for e in images(trainer.run_dir, "images/samples")] == [1]


def test_checkpoint_cadence_waits_for_epochs_and_seconds():
    now = [0.0]
    cadence = Cadence(every_n_epochs=2, min_seconds=10.0, clock=lambda: now[0])
    assert not cadence.due(1, last_epoch=False)
    assert not cadence.due(2, last_epoch=False)  # two epochs, but no 10 s yet
    now[0] = 11.0
    assert cadence.due(2, last_epoch=False)
    cadence.done(2)
    assert not cadence.due(3, last_epoch=False) and cadence.due(3, last_epoch=True)


def test_a_run_with_default_cadence_writes_checkpoints_only_at_the_end(tmp_path):
    """Default min_seconds (30 s) on a run of a second: last.pt and best.pt once each."""
    written = []
    trainer = make_trainer(tiny_recipe(run={"epochs": 3}, checkpoint={"min_seconds": 30.0}),
                           tmp_path)
    original = trainer.save
    trainer.save = lambda name: written.append(name) or original(name)
    trainer.fit()
    assert written == ["last.pt"]
    best = torch.load(trainer.run_dir / "checkpoints" / "best.pt", weights_only=True)
    assert best["epoch"] == 1 + min(range(3), key=lambda e: trainer.history[e]["val/neg_elbo"])
