"""A subclassed trainer survives Ctrl-C and resumes as itself (issue 14): the run records
its trainer class and the import paths of plugins that are not installed, and a resume
rebuilds them or refuses. Run as a user would, in subprocesses."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import tomli_w
import tomllib

from cli_process import TESTS, vaereg
from vaereg.core.run_folder.checkpoint import load_checkpoint
from vaereg.testing import tiny_recipe

EXAMPLE = TESTS.parent / "examples" / "subclass_trainer.py"
ENV = {"PYTHONPATH": str(TESTS)}
SIGNAL_AT_STEP_6 = {"signal": {"use": "reliability_plugins:SendSignal", "step": 6}}


def write(folder: Path, **sections) -> str:
    (folder / "r.toml").write_text(tomli_w.dumps(tiny_recipe(run={"out_dir": "runs"},
                                                             **sections)))
    return "r.toml"


def script(path: Path, folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(path), "r.toml"], cwd=folder,
                          env={**os.environ, **ENV}, capture_output=True, text=True, timeout=300)


def test_script_subclass_stops_cleanly_on_ctrl_c_and_resumes_as_itself(tmp_path):
    write(tmp_path, plugins=SIGNAL_AT_STEP_6)
    stopped = script(EXAMPLE, tmp_path)
    run_dir = tmp_path / "runs" / "test" / "version_0"
    assert stopped.returncode == 130, stopped.stderr
    assert "Traceback" not in stopped.stderr
    assert "Resume with: vaereg run --resume runs/test/version_0" in stopped.stderr
    recorded = tomllib.loads((run_dir / "recipe.toml").read_text())
    assert recorded["run"]["trainer"] == f"{EXAMPLE.resolve()}:MeanPenaltyTrainer"
    assert recorded["plugins"]["signal"]["use"] == "reliability_plugins:SendSignal"
    resumed = vaereg("run", "--resume", str(run_dir), cwd=tmp_path, env=ENV)
    assert resumed.returncode == 0, resumed.stderr
    history = load_checkpoint(run_dir / "checkpoints" / "last.pt")["history"]
    assert len(history) == 2 and all(epoch["train_running/penalty/mu_l2"] > 0 for epoch in history)


def test_resume_refuses_a_trainer_that_cannot_be_imported(tmp_path):
    copy = tmp_path / "my_script.py"
    shutil.copy(EXAMPLE, copy)
    write(tmp_path, plugins=SIGNAL_AT_STEP_6)
    assert script(copy, tmp_path).returncode == 130
    copy.unlink()
    run_dir = tmp_path / "runs" / "test" / "version_0"
    refused = vaereg("run", "--resume", str(run_dir), cwd=tmp_path, env=ENV)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert f"was trained by {copy}:MeanPenaltyTrainer" in refused.stderr
    assert "vaereg.run_main(YourTrainer(" in refused.stderr
    assert load_checkpoint(run_dir / "checkpoints" / "last.pt")["step"] == 6  # untouched


TRAINERS = '''
import vaereg

class DoubleKL(vaereg.Trainer):
    def training_step(self, batch):
        objective = super().training_step(batch)
        objective.scale("kl", 2.0)
        objective.add_term("extra_kl", objective.terms["kl"].detach().sum(1) * 0 + 1.0, 0.0)
        return objective
'''


def test_trainer_option_trains_with_a_class_by_import_path(tmp_path):
    (tmp_path / "my_trainers.py").write_text(TRAINERS)
    env = {"PYTHONPATH": str(tmp_path)}
    done = vaereg("run", write(tmp_path), "--trainer", "my_trainers:DoubleKL", cwd=tmp_path,
                  env=env)
    assert done.returncode == 0, done.stderr
    run_dir = tmp_path / "runs" / "test" / "version_0"
    assert tomllib.loads((run_dir / "recipe.toml").read_text())["run"]["trainer"] == \
        "my_trainers:DoubleKL"
    history = load_checkpoint(run_dir / "checkpoints" / "last.pt")["history"]
    assert all(epoch["train_running/extra_kl"] == 1.0 for epoch in history)
    changed = vaereg("run", "--resume", str(run_dir), "--trainer", "vaereg:Trainer",
                     "--set", "run.epochs=3", cwd=tmp_path, env=env)
    assert changed.returncode == 2 and "run.trainer: 'my_trainers:DoubleKL' -> " in changed.stderr
    missing = vaereg("validate", "r.toml", "--trainer", "no_such_module:T", cwd=tmp_path)
    assert missing.returncode == 2 and "No module named 'no_such_module'" in missing.stderr


START_SIGNAL = '''
import signal
import attrs
import vaereg

@attrs.frozen
class NoOptions:
    pass

class SigintAtStart:
    Options = NoOptions
    def __init__(self, options):
        pass
    @vaereg.hookimpl
    def on_train_start(self, trainer):
        # Ctrl-C as at a terminal, also where the tests run in the background (a shell
        # starts those ignoring SIGINT, and their children inherit that)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.raise_signal(signal.SIGINT)  # this thread: handled before the next line
'''


def test_ctrl_c_before_the_first_checkpoint_says_so_and_leaves_no_run_folder(tmp_path):
    (tmp_path / "start_signal.py").write_text(START_SIGNAL)
    write(tmp_path, plugins={"stop": {"use": "start_signal.py:SigintAtStart"}})
    early = vaereg("run", "r.toml", cwd=tmp_path)
    assert early.returncode == 130 and "Traceback" not in early.stderr
    assert "before the first checkpoint" in early.stderr and "was removed" in early.stderr
    assert "checkpoints written before are kept" not in early.stderr
    assert not (tmp_path / "runs" / "test" / "version_0").exists()
    write(tmp_path, plugins={"signal": {"use": "reliability_plugins:SendSignal", "step": 2,
                                        "signals": ["SIGINT", "SIGINT"]}})
    twice = vaereg("run", "r.toml", cwd=tmp_path, env=ENV)
    assert twice.returncode == 130 and "before the first checkpoint" in twice.stderr
    assert not (tmp_path / "runs" / "test" / "version_0").exists()
