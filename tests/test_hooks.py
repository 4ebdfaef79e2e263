"""The hook contract: call order, recipe order, documentation, subclassing."""
import json
from pathlib import Path

import attrs
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import vaereg
from vaereg.core.hooks.hook_reference import render
from vaereg.core.hooks.plugin_manager import hook_names
from vaereg.testing import HookRecorder, make_trainer, tiny_recipe

DOCS = Path(__file__).resolve().parents[1] / "docs" / "hooks.md"

STEP = ["on_batch_start", "transform_batch", "transform_objective", "compute_penalties",
        "on_before_backward", "on_after_backward", "on_before_optimizer_step", "on_batch_end",
        "on_log_step"]  # (tiny_recipe logs every step)
EPOCH = (["on_train_epoch_start"] + STEP + STEP
         + ["on_validation_start", "on_validation_end", "on_train_epoch_end",
            "on_before_save_checkpoint", "on_save_checkpoint"])


def two_by_two():
    """2 epochs x 2 batches; validation improves both epochs, so best.pt is written just
    before last.pt (in on_before_save_checkpoint) twice."""
    return tiny_recipe(data={"train_size": 32, "batch_size": 16},
                       optimizer={"lr": 1e-2})


def test_exact_hook_sequence_two_epochs_two_batches(tmp_path):
    recorder = HookRecorder()
    trainer = make_trainer(two_by_two(), tmp_path, extra_plugins=(("recorder", recorder),))
    trainer.fit()
    assert trainer.history[1]["val/neg_elbo"] < trainer.history[0]["val/neg_elbo"]
    expected = (["build_layers", "configure_optimizer", "on_train_start"] + EPOCH + EPOCH
                + ["on_train_end", "on_test_end"])
    assert recorder.calls == expected


class Tracer:
    """Appends its own name to a shared list at every hook it implements."""

    def __init__(self, options):
        self.options = options

    @vaereg.hookimpl
    def on_batch_start(self, trainer):
        trainer.trace.append(("on_batch_start", self.options.label))

    @vaereg.hookimpl
    def build_layers(self, trainer):
        trainer.trace.append(("build_layers", self.options.label))


@attrs.frozen
class TracerOptions:
    label: str = vaereg.option("", "name written to the trace")


Tracer.Options = TracerOptions


class StepWatcher:
    """Reads each step's scalars, logs a figure of its own, adds one to the final metrics."""

    def __init__(self):
        self.losses = []

    @vaereg.hookimpl
    def on_batch_end(self, trainer, scalars):
        self.losses.append(float(scalars["loss"]))
        trainer.log("watcher/step", float(trainer.step))

    @vaereg.hookimpl
    def on_test_end(self, metrics):
        metrics["watcher/epochs"] = float(metrics["epochs"])


def test_step_scalars_and_metrics_json_are_what_the_hooks_saw(tmp_path):
    """The built-in plugins write TensorBoard's per-step scalars (every
    ``run.log_every_n_steps`` steps, with ``trainer.log``'s) and metrics.json (after every
    plugin's ``on_test_end``), from what the hooks pass."""
    watcher = StepWatcher()
    trainer = make_trainer(tiny_recipe(run={"log_every_n_steps": 2}), tmp_path,
                           extra_plugins=(("watcher", watcher),))
    final = trainer.fit()
    events = EventAccumulator(str(trainer.run_dir), size_guidance={"scalars": 0})
    events.Reload()
    loss = events.Scalars("train_step/loss")
    assert [e.step for e in loss] == [2, 4, 6, 8]  # 2 epochs x 4 batches, every 2nd step
    assert [e.value for e in loss] == pytest.approx(watcher.losses[1::2])
    assert [e.value for e in events.Scalars("watcher/step")] == [2.0, 4.0, 6.0, 8.0]
    assert final["watcher/epochs"] == 2.0 and final["train_seconds"] > 0
    assert json.loads((trainer.run_dir / "metrics.json").read_text()) == final


class TracingTrainer(vaereg.Trainer):
    def __init__(self, *args, **kwargs):
        self.trace = []
        super().__init__(*args, **kwargs)


@pytest.fixture
def tracer_registered():
    vaereg.PLUGINS.register("tracer", Tracer)
    yield


@pytest.mark.parametrize("order", [("a", "b"), ("b", "a")])
def test_hooks_run_in_recipe_order(tmp_path, tracer_registered, order):
    plugins = {name: {"use": "tracer", "label": name} for name in order}
    trainer = make_trainer(tiny_recipe(plugins=plugins), tmp_path, cls=TracingTrainer)
    assert [label for hook, label in trainer.trace if hook == "build_layers"] == list(order)
    trainer.trace.clear()
    trainer.fit()
    starts = [label for hook, label in trainer.trace if hook == "on_batch_start"]
    assert starts[:2] == list(order)


def test_every_implementation_of_every_hook_runs():
    """No hookspec is firstresult: hooks.md promises that every implementation runs."""
    for name in hook_names():
        assert not getattr(vaereg.core.hooks.hookspecs, name).vaereg_spec.get("firstresult"), name


def test_every_hookspec_has_a_docstring_that_says_what_it_returns():
    for name in hook_names():
        doc = getattr(vaereg.core.hooks.hookspecs, name).__doc__ or ""
        assert "Returns:" in doc, name
        assert len(doc.split()) >= 10, name


def test_hook_reference_docs_are_generated_from_the_hookspecs():
    text = DOCS.read_text()
    assert text == render(), ("docs/hooks.md is stale: "
                              "python -m vaereg.core.hooks.hook_reference > docs/hooks.md")
    for name in hook_names():
        assert f"## `{name}(" in text


def test_the_three_flagship_hooks_exist():
    assert {"build_layers", "configure_optimizer", "on_batch_end"} <= set(hook_names())


class Misspelled:
    Options = TracerOptions

    def __init__(self, options):
        pass

    @vaereg.hookimpl
    def on_batch_ends(self, trainer):
        pass


def test_a_misspelled_hook_is_a_clear_error(tmp_path):
    vaereg.PLUGINS.register("misspelled", Misspelled)
    with pytest.raises(vaereg.VaeregError, match="misspelled.*on_batch_ends"):
        make_trainer(tiny_recipe(plugins={"misspelled": {}}), tmp_path)


class ExtraLossTrainer(vaereg.Trainer):
    """A subclass that changes the step; plugins must keep running."""

    def training_step(self, batch):
        objective = super().training_step(batch)
        objective.add_term("latent_l2", 0.0 * objective.terms["kl"], weight=1.0)
        return objective


def test_a_subclass_that_overrides_training_step_keeps_every_hook(tmp_path):
    plain, sub = HookRecorder(), HookRecorder()
    make_trainer(two_by_two(), tmp_path / "a", extra_plugins=(("r", plain),)).fit()
    trainer = make_trainer(two_by_two(), tmp_path / "b", cls=ExtraLossTrainer,
                           extra_plugins=(("r", sub),))
    trainer.fit()
    assert sub.calls == plain.calls
    assert "train_running/latent_l2" in trainer.history[0]


class ValidationStartProbe:
    def __init__(self):
        self.seen = []

    @vaereg.hookimpl
    def on_validation_start(self, trainer):
        self.seen.append((trainer.model.training, torch.is_grad_enabled()))


def test_validation_start_sees_eval_mode_without_gradients(tmp_path):
    probe = ValidationStartProbe()
    trainer = make_trainer(two_by_two(), tmp_path, extra_plugins=(("probe", probe),))
    trainer.fit()
    assert probe.seen == [(False, False), (False, False)]
    assert trainer.model.training


@pytest.mark.parametrize("name", ["adversarial", "batchnorm", "dropout", "kl_schedule",
                                  "sparsity", "weight_decay"])
def test_one_plugin_runs_twice_under_two_names_with_equal_options(tmp_path, name):
    # plugin instances must compare by identity: pluggy refuses an equal one as registered
    plugins = {"a": {"use": name}, "b": {"use": name}}
    trainer = make_trainer(tiny_recipe(plugins=plugins), tmp_path)
    assert trainer.plugin_manager.get_plugin("a") is not trainer.plugin_manager.get_plugin("b")


@attrs.define  # value equality: two equal instances look like one plugin to pluggy
class ValueEqual:
    Options = TracerOptions
    options: TracerOptions

    @vaereg.hookimpl
    def on_batch_start(self, trainer):
        pass


def test_a_value_equal_plugin_class_run_twice_is_a_clear_error(tmp_path):
    with vaereg.testing.registered("value_equal", ValueEqual):
        with pytest.raises(vaereg.VaeregError, match="plugin 'b' .*ValueEqual compares by "
                                                     "value.*eq=False"):
            make_trainer(tiny_recipe(plugins={"a": {"use": "value_equal"},
                                              "b": {"use": "value_equal"}}), tmp_path)
