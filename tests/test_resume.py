"""Exact resume: stopping a run (between epochs, or mid-epoch by SIGTERM/SIGINT) and
resuming it ends bit-identical to a run that was never stopped, with dropout and a
stateful KL warm-up plugin on; logs and history hold every epoch once."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import reliability_plugins  # noqa: F401  registers the test plugins
from cli_process import run_recipe
from exact import assert_same_run
from vaereg import RunInterrupted
from vaereg.cli import main
from vaereg.core.loop.trainer import Trainer
from vaereg.core.run_folder.checkpoint import load_checkpoint
from vaereg.core.run_folder.resume import load_run_recipe
from vaereg.testing import HookRecorder, make_trainer, tiny_recipe

SIGNAL_STEP = 6  # 4 batches per epoch: the signal lands after batch 2 of epoch 2
CHECKPOINT_HOOKS = ("on_before_save_checkpoint", "on_save_checkpoint", "on_load_checkpoint")


def recipe(signal_step: int = 0, signals: tuple[str, ...] = ("SIGINT",)) -> dict:
    return tiny_recipe(run={"epochs": 2}, plugins={
        "dropout": {"p": 0.3}, "test_schedule": {},
        "test_signal": {"step": signal_step, "signals": list(signals)}})


def trained_calls(recorder: HookRecorder) -> list[str]:
    return [name for name in recorder.names() if name not in CHECKPOINT_HOOKS]


@pytest.fixture(scope="module")
def straight(tmp_path_factory) -> tuple[Path, list[str]]:
    """The uninterrupted run: its folder and its hook calls."""
    recorder = HookRecorder()
    trainer = make_trainer(recipe(), tmp_path_factory.mktemp("straight"),
                           extra_plugins=(("recorder", recorder),))
    trainer.fit()
    return trainer.run_dir, trained_calls(recorder)


def resume(run_dir: Path, *overrides: str, **kwargs) -> Trainer:
    trainer = Trainer(load_run_recipe(run_dir, overrides), quiet=True, **kwargs)
    trainer.fit(run_dir=run_dir, resume=True)
    return trainer


def test_resume_between_epochs_with_more_epochs_is_exact(straight, tmp_path):
    first = make_trainer(recipe(), tmp_path, overrides=("run.epochs=1",))
    first.fit()
    checkpoints = first.run_dir / "checkpoints"
    after_epoch_1 = (checkpoints / "last.pt").read_bytes()
    assert len(resume(first.run_dir, "run.epochs=2").history) == 2
    assert_same_run(straight[0], first.run_dir)
    # as if that resumed process had been SIGKILLed while saving after epoch 2: its
    # TensorBoard events of epoch 2 are written, last.pt is still epoch 1's, a partial
    # temporary file lies beside it. Resuming again hides its steps (purge_step); only
    # epoch 2's epoch-axis points repeat, with the very same values
    (checkpoints / "last.pt").write_bytes(after_epoch_1)
    (checkpoints / ".last.pt.killed.tmp").write_bytes(after_epoch_1[:100])
    resume(first.run_dir, "run.epochs=2")
    assert sorted(p.name for p in checkpoints.iterdir()) == ["best.pt", "last.pt"]
    assert_same_run(straight[0], first.run_dir, repeated_epoch_points=True)


def test_sigterm_mid_epoch_checkpoints_and_resumes_exactly(straight, tmp_path):
    interrupted_calls, resumed_calls = HookRecorder(), HookRecorder()
    interrupted = make_trainer(recipe(SIGNAL_STEP, ("SIGTERM",)), tmp_path,
                               extra_plugins=(("recorder", interrupted_calls),))
    with pytest.raises(RunInterrupted) as stopped:
        interrupted.fit()
    assert stopped.value.exit_code == 143
    state = load_checkpoint(interrupted.run_dir / "checkpoints" / "last.pt")
    assert (state["epoch"], state["step"], state["epoch_progress"]["batches_done"]) == (1, 6, 2)
    resume(interrupted.run_dir, extra_plugins=(("recorder", resumed_calls),))
    assert_same_run(straight[0], interrupted.run_dir, ignore_plugins=("test_signal",))
    # the two halves call the hooks as the uninterrupted run did (the resumed trainer
    # builds its model and starts again; the half-done epoch does not start twice)
    head = straight[1][:3]
    assert trained_calls(resumed_calls)[:3] == head == ["build_layers", "configure_optimizer",
                                                        "on_train_start"]
    assert trained_calls(interrupted_calls) + trained_calls(resumed_calls)[3:] == straight[1]


def test_ctrl_c_in_a_real_process_then_resume_command_is_exact(straight, tmp_path,
                                                                monkeypatch):
    table = recipe(SIGNAL_STEP)
    table["run"]["out_dir"] = "runs"
    done = run_recipe(tmp_path, table)
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stderr
    assert "interrupted by SIGINT after batch 2 of epoch 2 (step 6)" in done.stderr
    command = re.search(r"Resume with: (vaereg run --resume \S+)", done.stderr).group(1)
    assert command == "vaereg run --resume runs/test/version_0"
    monkeypatch.chdir(tmp_path)  # the printed command is relative to where the run started
    result = CliRunner().invoke(main, command.split()[1:] + ["--quiet"])
    assert result.exit_code == 0, result.output
    assert_same_run(straight[0], tmp_path / "runs/test/version_0",
                    ignore_plugins=("test_signal",))
