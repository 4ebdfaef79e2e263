"""A NaN/inf loss term or gradient stops the run naming step, epoch and culprit, keeps
the checkpoints written before and exits 3, or is skipped when the recipe says so."""
from __future__ import annotations

import json
import warnings

import pytest
import tomli_w
import torch
from click.testing import CliRunner

import reliability_plugins  # noqa: F401  registers the test plugins
from exact import assert_same
import vaereg
from vaereg import NonFiniteError
from vaereg.cli import main
from vaereg.core.run_folder.checkpoint import load_checkpoint
from vaereg.testing import make_trainer, tiny_recipe


def test_nan_penalty_stops_with_exit_3_and_keeps_checkpoints(tmp_path, monkeypatch):
    table = tiny_recipe(run={"out_dir": "runs"},
                        plugins={"test_nonfinite": {"step": 6}})
    (tmp_path / "recipe.toml").write_text(tomli_w.dumps(table))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["run", "recipe.toml", "--quiet"])
    assert result.exit_code == 3
    assert "Traceback" not in result.output
    assert ("non-finite value at step 6 (epoch 2/2, batch 2): loss term 'penalty/boom' = nan"
            in result.output)
    assert "--set run.on_nonfinite=skip" in result.output
    checkpoints = tmp_path / "runs/test/version_0/checkpoints"
    last = load_checkpoint(checkpoints / "last.pt")  # from the end of epoch 1, untouched
    assert (last["epoch"], last["step"], last["epoch_progress"]) == (1, 4, None)
    best = load_checkpoint(checkpoints / "best.pt")
    assert (best["epoch"], best["step"]) == (1, 4)
    assert not list(checkpoints.glob(".*"))


def test_infinite_gradient_under_stop_names_the_weights_it_spoiled(tmp_path):
    # "stop" checks only the loss each step: the bad step-2 gradient spoils mu_head.weight,
    # so step 3's loss is NaN and the run stops there, before any checkpoint
    trainer = make_trainer(tiny_recipe(plugins={"test_nonfinite": {"step": 2,
                                                                  "where": "gradient"}}),
                           tmp_path)
    with pytest.raises(NonFiniteError, match=r"at step 3 \(epoch 1/2, batch 3\): loss term .*"
                                             r"the weights mu_head.weight are non-finite.*"
                                             r"no checkpoint"):
        trainer.fit()
    assert not (trainer.run_dir / "checkpoints").exists()


def test_infinite_gradient_under_skip_names_the_parameter_and_keeps_weights(tmp_path):
    trainer = make_trainer(tiny_recipe(run={"on_nonfinite": "skip"}, plugins={
        "test_nonfinite": {"step": 2, "where": "gradient"}}), tmp_path)
    with pytest.warns(RuntimeWarning, match=r"skipped step 2 \(epoch 1/2, batch 2\): "
                                            r"non-finite the gradient of mu_head.weight"):
        trainer.fit()
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())


def test_a_non_finite_model_is_never_checkpointed(tmp_path):
    # the last step of epoch 1 spoils the weights: no later step sees the NaN loss
    trainer = make_trainer(tiny_recipe(run={"epochs": 1}, plugins={
        "test_nonfinite": {"step": 4, "where": "gradient"}}), tmp_path)
    with pytest.raises(NonFiniteError, match=r"weights mu_head.weight became non-finite by "
                                             r"step 4.*last.pt was not written"):
        trainer.fit()
    assert not (trainer.run_dir / "checkpoints" / "last.pt").exists()


def test_skip_policy_skips_the_step_and_counts_it(tmp_path):
    trainer = make_trainer(tiny_recipe(run={"epochs": 1, "on_nonfinite": "skip"},
                                       plugins={"test_nonfinite": {"step": 3}}), tmp_path)
    with pytest.warns(RuntimeWarning, match=r"skipped step 3 \(epoch 1/1, batch 3\): "
                                            r"non-finite loss term 'penalty/boom'"):
        metrics = trainer.fit()
    assert (metrics["steps"], metrics["skipped_steps"]) == (3, 1)  # 4 batches, 1 skipped
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())
    assert json.loads((trainer.run_dir / "metrics.json").read_text())["skipped_steps"] == 1


class StateProbe:
    """Snapshots weights and optimizer state before the step that goes wrong (step 3) and
    compares them at the next batch: a skipped step must have changed nothing."""

    def __init__(self):
        self.before = None
        self.compared = 0

    @staticmethod
    def snapshot(trainer):
        import copy
        scaler = trainer.precision.scaler
        return (copy.deepcopy(trainer.model.state_dict()),
                copy.deepcopy(trainer.optimizer.state_dict()),
                scaler.state_dict() if scaler else None)

    @vaereg.hookimpl
    def on_batch_start(self, trainer):
        if trainer.step != 2:
            return
        if self.before is None:
            self.before = self.snapshot(trainer)
            return
        (model_a, optim_a, self.scaler_before), (model_b, optim_b, self.scaler_after) = (
            self.before, self.snapshot(trainer))
        for name in model_a:
            assert torch.equal(model_a[name], model_b[name]), name
        for key, state in optim_a["state"].items():
            for field, value in state.items():
                assert torch.equal(value, optim_b["state"][key][field]), (key, field)
        self.compared += 1


SKIPPED_STEP_3 = {  # case: (precision, on_nonfinite, the plugin that spoils step 3)
    "fp32": ("fp32", "skip", {"test_nonfinite": {"step": 3, "where": "gradient"}}),
    "bf16": ("bf16", "skip", {"test_nonfinite": {"step": 3, "where": "gradient"}}),
    # the scaler's overflow: the penalty's gradient is finite until it is scaled
    "fp16 overflow": ("fp16", "stop", {"test_overflow": {"step": 3}}),
    # the policy's skip under fp16: a NaN penalty makes every gradient NaN, so the
    # scaler records an inf too, yet the step says nothing about the scale
    "fp16 nan": ("fp16", "skip", {"test_nonfinite": {"step": 3}}),
}


@pytest.mark.parametrize("case", sorted(SKIPPED_STEP_3))
@pytest.mark.parametrize("mode", ["decoupled", "coupled"])
def test_a_skipped_step_leaves_weights_and_optimizer_state_bit_identical(tmp_path, mode,
                                                                         case):
    """... and the fp16 scaler's state, unless it was the scaler's own overflow (then
    the scale is halved)."""
    probe = StateProbe()
    precision, policy, spoiler = SKIPPED_STEP_3[case]
    trainer = make_trainer(tiny_recipe(
        run={"on_nonfinite": policy, "precision": precision},
        plugins={"weight_decay": {"mode": mode, "value": 0.1}, **spoiler}), tmp_path,
        extra_plugins=(("probe", probe),))
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        metrics = trainer.fit()
    assert probe.compared == 1  # step 3 was tried twice: the first time skipped
    assert metrics["skipped_steps"] == (policy == "skip")  # else the scaler's skip
    assert any("skipped step 3" in str(w.message) for w in warned) == (policy == "skip")
    if policy == "skip":
        assert_same(probe.scaler_before, probe.scaler_after)  # scale and growth count
    else:
        assert probe.scaler_after["scale"] == probe.scaler_before["scale"] / 2
    if precision == "fp16":
        assert probe.scaler_before["_growth_tracker"] > 0  # so a reset would show
