"""A Trainer subclass that overrides training_step keeps every plugin working."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from torch import nn

from vaereg import Trainer
from vaereg.testing import HookRecorder, check_conformance, make_trainer, tiny_recipe

from recipe_files import write_recipe

EXAMPLE = Path(__file__).parents[1] / "examples" / "subclass_trainer.py"


def load_example():
    spec = importlib.util.spec_from_file_location("subclass_trainer", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def train(cls: type, tmp_path: Path) -> tuple[Trainer, HookRecorder]:
    recorder = HookRecorder()
    trainer = make_trainer(tiny_recipe(plugins={"dropout": {"p": 0.5}}), tmp_path / cls.__name__,
                           cls=cls, extra_plugins=(("recorder", recorder),))
    trainer.fit()
    return trainer, recorder


def test_subclass_adds_its_loss_term_and_every_hook_still_fires(tmp_path):
    subclass = load_example().MeanPenaltyTrainer
    trainer, recorder = train(subclass, tmp_path)
    _, base_recorder = train(Trainer, tmp_path)
    assert recorder.calls == base_recorder.calls
    assert recorder.calls.count("on_batch_end") == 8  # 2 epochs x 4 batches
    assert any(isinstance(m, nn.Dropout) and m.p == 0.5 for m in trainer.model.modules())
    for epoch in trainer.history:
        assert epoch["train_running/penalty/mu_l2"] > 0
        expected = epoch["train_running/neg_elbo"] + epoch["train_running/penalty/mu_l2"]
        assert epoch["train_running/loss"] == pytest.approx(expected)


def test_subclass_passes_the_conformance_check(tmp_path):
    metrics = check_conformance(tiny_recipe(plugins={"dropout": {}}), tmp_path,
                                cls=load_example().MeanPenaltyTrainer)
    assert metrics["epochs"] == 2


def test_example_runs_as_a_script_with_overrides(tmp_path, capsys):
    recipe = write_recipe(tmp_path, plugins={"dropout": {}})
    load_example().main([str(recipe), "--set", "run.epochs=1", "--set", "run.name=script"])
    out = capsys.readouterr().out
    assert out.startswith(f"run directory: {tmp_path / 'runs' / 'script' / 'version_0'}")


def test_subclass_method_named_like_a_hook_is_rejected_at_class_definition():
    with pytest.raises(TypeError, match="LightningStyle defines on_train_start, on_batch_end, "
                       "named like hooks, but trainer methods are not hooks"):
        class LightningStyle(Trainer):
            def on_train_start(self):
                pass

            def on_batch_end(self):
                pass

    class OverridesTemplateMethod(Trainer):  # configure_optimizer is also a template method
        def configure_optimizer(self):
            return super().configure_optimizer()
