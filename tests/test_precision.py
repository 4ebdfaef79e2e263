"""run.precision and run.compile on the CPU: bf16/fp16 train and resume across
precisions, gradients are unscaled before any hook reads them, an fp16 overflow is the
scaler's to skip (not a non-finite stop), and compiled runs keep plain checkpoints."""
from __future__ import annotations

import math

import pytest
import torch

from vaereg import hookimpl
from vaereg.core.run_folder.checkpoint import load_checkpoint
from vaereg.core.scale.precision import scaler_found_inf
import reliability_plugins  # noqa: F401  registers test_overflow
from vaereg.testing import make_trainer, tiny_recipe


class GradientNorms:
    """In ``on_after_backward``: the norm of the gradients the hook sees, and of the fp32
    gradient of the same batch at the same weights (the model is deterministic)."""

    def __init__(self):
        self.pairs: list[tuple[float, float]] = []

    @hookimpl
    def on_batch_start(self, batch):
        self.batch = batch

    @hookimpl
    def on_after_backward(self, trainer):
        params = [p for p in trainer.model.parameters() if p.requires_grad]
        objective = trainer.compute_loss(self.batch, trainer.model(self.batch.x))
        reference = torch.autograd.grad(objective.loss(), params)
        self.pairs.append((norm([p.grad for p in params]), norm(reference)))


def norm(tensors) -> float:
    return float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(t)
                                                       for t in tensors])))


def last_state(trainer):
    return load_checkpoint(trainer.run_dir / "checkpoints" / "last.pt")


@pytest.mark.parametrize("first, then", [("bf16", "fp32"), ("fp16", "fp32"), ("fp32", "fp16")])
def test_a_run_resumes_under_another_precision(tmp_path, first, then):
    trainer = make_trainer(tiny_recipe(run={"epochs": 1, "precision": first}), tmp_path)
    trainer.fit()
    saved = last_state(trainer)["precision"]
    assert (saved["scaler"] is not None) == (first == "fp16")
    resumed = make_trainer(trainer.recipe.to_table(), tmp_path,
                           overrides=(f"run.precision={then}", "run.epochs=2"))
    metrics = resumed.fit(trainer.run_dir, resume=True)
    batches = trainer.splits.train.num_batches(trainer.recipe.data.loader.batch_size)
    assert metrics["epochs"] == 2
    assert metrics["steps"] + metrics["scaler_skipped_steps"] == 2 * batches
    assert math.isfinite(metrics["test/neg_elbo"])
    scaler = last_state(resumed)["precision"]["scaler"]
    if then == "fp16":  # a scaler the fp32 checkpoint lacked starts afresh, at 2**16
        assert scaler["scale"] == 65536.0 / 2 ** metrics["scaler_skipped_steps"]
    else:
        assert scaler is None


def test_bf16_changes_the_arithmetic_but_not_the_result(tmp_path):
    results = {name: make_trainer(tiny_recipe(run={"precision": name}), tmp_path).fit()
               for name in ("fp32", "bf16")}
    fp32, bf16 = results["fp32"]["test/neg_elbo"], results["bf16"]["test/neg_elbo"]
    assert fp32 != bf16 and bf16 == pytest.approx(fp32, rel=0.02)


def test_hooks_see_unscaled_fp16_gradients(tmp_path):
    recorder = GradientNorms()
    recipe = tiny_recipe(run={"epochs": 1, "precision": "fp16"},
                         model={"name": "torchrun_helpers:MeanCodeVAE"})
    make_trainer(recipe, tmp_path, extra_plugins=(("norms", recorder),)).fit()
    finite = [(seen, fp32) for seen, fp32 in recorder.pairs if math.isfinite(seen)]
    assert finite and len(finite) < len(recorder.pairs)  # the scaler's first scale overflows
    for seen, fp32 in finite:
        assert seen == pytest.approx(fp32, rel=0.02)  # not 65536 times it


def test_an_fp16_overflow_is_skipped_by_the_scaler_not_stopped(tmp_path):
    plain = make_trainer(tiny_recipe(run={"precision": "fp16"}), tmp_path)
    expected = plain.fit()  # the scale starts too high for the tiny model: one skip
    trainer = make_trainer(tiny_recipe(run={"precision": "fp16", "on_nonfinite": "stop"},
                                       plugins={"test_overflow": {"step": 3}}), tmp_path)
    metrics = trainer.fit()  # on_nonfinite = "stop" would raise NonFiniteError
    assert metrics["scaler_skipped_steps"] == expected["scaler_skipped_steps"] + 1
    assert metrics["skipped_steps"] == 0
    assert metrics["steps"] == expected["steps"] - 1  # a skipped update is not a step
    assert trainer.precision.scaler.get_scale() == plain.precision.scaler.get_scale() / 2
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())
    saved = last_state(trainer)["precision"]["scaler_skipped_steps"]
    assert saved == metrics["scaler_skipped_steps"]


def test_a_nan_loss_under_fp16_is_the_policy_s_not_the_scaler_s(tmp_path):
    # the scaler scales gradients, not the loss: a NaN loss is a real non-finite step
    # even while the scale is above 1, so run.on_nonfinite = "skip" counts and warns
    expected = make_trainer(tiny_recipe(run={"precision": "fp16"}), tmp_path).fit()
    trainer = make_trainer(tiny_recipe(run={"precision": "fp16", "on_nonfinite": "skip"},
                                       plugins={"test_nonfinite": {"step": 3}}), tmp_path)
    with pytest.warns(RuntimeWarning, match="skipped step 3 .* loss term 'penalty/boom'"):
        metrics = trainer.fit()
    assert metrics["skipped_steps"] == 1
    assert metrics["scaler_skipped_steps"] == expected["scaler_skipped_steps"]


def test_the_scaler_s_record_of_an_overflow_is_read_as_its_step_reads_it():
    # scaler_found_inf reads GradScaler's private record: if a torch release renames or
    # changes it, this fails (AttributeError, or a verdict the scaler's step disagrees with)
    model = torch.nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu")
    for bad in (False, True, False):
        before = model.weight.detach().clone()
        loss = model(torch.ones(2, 3)).sum() * (float("inf") if bad else 1.0)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        assert scaler_found_inf(scaler, optimizer) is bad
        scaler.step(optimizer)  # skipped exactly when an inf was found
        assert torch.equal(model.weight, before) is bad
        scaler.update()
        optimizer.zero_grad()


def test_compiled_runs_resume_uncompiled_and_back(tmp_path):
    # inductor draws random numbers from its own generator: a model without draws makes
    # compiled and eager training comparable step for step
    model = {"name": "torchrun_helpers:MeanCodeVAE"}
    plain = make_trainer(tiny_recipe(model=model), tmp_path)
    plain.fit()
    expected = plain.model.state_dict()
    for first, then in ((True, False), (False, True)):
        trainer = make_trainer(tiny_recipe(run={"epochs": 1, "compile": first}, model=model),
                               tmp_path)
        trainer.fit()
        assert list(last_state(trainer)["model"]) == list(expected)  # no "_orig_mod."
        resumed = make_trainer(trainer.recipe.to_table(), tmp_path,
                               overrides=(f"run.compile={str(then).lower()}", "run.epochs=2"))
        resumed.fit(trainer.run_dir, resume=True)
        for name, value in resumed.model.state_dict().items():
            torch.testing.assert_close(value, expected[name], rtol=1e-4, atol=1e-5)


def test_every_process_backs_off_as_the_scaler_does_on_the_jobs_overflow():
    """Under torchrun the step guard takes the most severe verdict of any process: one
    that found no overflow itself still skips, and its scaler must end in the state of
    the one that overflowed (scale backed off, growth count 0), not grow on its own
    record; otherwise the processes' scales drift apart."""
    from vaereg.core.scale.precision import Precision

    def one_step(precision, factor):
        model = torch.nn.Linear(3, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        precision.scale(model(torch.ones(2, 3)).sum() * factor).backward()
        precision.unscale(optimizer)
        return precision.found_overflow(optimizer)

    overflowed, finite = (Precision("fp16", torch.device("cpu")) for _ in range(2))
    for precision in (overflowed, finite):  # five good steps counted towards growth
        precision.scaler.load_state_dict({**precision.scaler.state_dict(), "_growth_tracker": 5})
    reference = torch.amp.GradScaler("cpu")  # the scaler's own update after an overflow
    reference.load_state_dict(finite.scaler.state_dict())
    model = torch.nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    reference.scale(model(torch.ones(2, 3)).sum() * float("inf")).backward()
    reference.unscale_(optimizer)
    reference.step(optimizer)
    reference.update()
    assert one_step(overflowed, float("inf")) and not one_step(finite, 1.0)
    for precision in (overflowed, finite):
        precision.skip(overflow=True)
    assert overflowed.scaler.state_dict() == finite.scaler.state_dict() == reference.state_dict()
    assert reference.state_dict()["_growth_tracker"] == 0
    assert overflowed.skipped_steps == finite.skipped_steps == 1
