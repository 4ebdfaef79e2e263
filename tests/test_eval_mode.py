"""Every place that switches a model to eval mode restores its training mode, also when
the work inside raises: a run that goes on after a failed evaluation must not train in
eval mode (dropout off, batch norm frozen)."""
from __future__ import annotations

import pytest

import vaereg
from vaereg.core.builtin.epoch_pictures import EpochPictures
from vaereg.core.recipes.run_cadence import LoggingOptions
from vaereg.evaluation.metric import evaluate
from vaereg.testing import make_trainer, tiny_recipe


class Failed(Exception):
    pass


class FailingValidation(vaereg.Trainer):
    def validation_step(self, batch):
        assert not self.model.training
        raise Failed


class FailingValidationStart:
    @vaereg.hookimpl
    def on_validation_start(self, trainer):
        assert not trainer.model.training
        raise Failed


class FailingMetric:
    name = "failing"

    def compute(self, context):
        assert not context.model.training
        raise Failed


def fail_sampling(*args, **kwargs):
    raise Failed


@pytest.mark.parametrize("place", ["evaluate", "validate", "metrics", "pictures"])
def test_training_mode_is_restored_when_evaluation_raises(tmp_path, place):
    cls = FailingValidation if place == "evaluate" else vaereg.Trainer
    extra = (("failing", FailingValidationStart()),) if place == "validate" else ()
    trainer = make_trainer(tiny_recipe(), tmp_path, cls=cls, extra_plugins=extra)
    model = trainer.model
    model.train()
    with pytest.raises(Exception) as raised:
        if place in ("evaluate", "validate"):
            trainer.validate()
        elif place == "metrics":
            evaluate(model, trainer.splits.test, [FailingMetric()])
        else:
            model.sample = fail_sampling
            EpochPictures(LoggingOptions()).images(trainer, epoch=0)
    assert "Failed" in repr(raised.value) or isinstance(raised.value, Failed)
    assert model.training
