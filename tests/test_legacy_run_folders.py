"""Run folders outlive vaereg's internal moves: a run records the plain Trainer by its
public name, and one recorded before ``vaereg.core`` was split into subpackages (as
``vaereg.core.trainer:Trainer``) still evaluates and resumes."""
from __future__ import annotations

import tomli_w
import tomllib
import torch

from cli_process import vaereg
from vaereg.core.run_folder.checkpoint import load_checkpoint
from vaereg.testing import tiny_recipe

LEGACY = "vaereg.core.trainer:Trainer"


def test_a_run_recorded_under_the_old_trainer_path_evaluates_and_resumes(tmp_path):
    (tmp_path / "r.toml").write_text(tomli_w.dumps(tiny_recipe(run={"out_dir": "runs"})))
    assert vaereg("run", "r.toml", cwd=tmp_path).returncode == 0
    run_dir = tmp_path / "runs" / "test" / "version_0"
    recipe = tomllib.loads((run_dir / "recipe.toml").read_text())
    assert recipe["run"]["trainer"] == "vaereg:Trainer"  # the public name, not the module

    recipe["run"]["trainer"] = LEGACY  # as a run folder of the flat core recorded it
    (run_dir / "recipe.toml").write_text(tomli_w.dumps(recipe))
    for name in ("last.pt", "best.pt"):
        path = run_dir / "checkpoints" / name
        state = load_checkpoint(path)
        state["recipe"]["run"]["trainer"] = LEGACY
        torch.save(state, path)

    evaluated = vaereg("eval", str(run_dir), "--metrics", "elbo", cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr
    resumed = vaereg("run", "--resume", str(run_dir), "--set", "run.epochs=3", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert load_checkpoint(run_dir / "checkpoints" / "last.pt")["epoch"] == 3
    other = vaereg("run", "--resume", str(run_dir), "--trainer", "no_such:Trainer",
                   "--set", "run.epochs=4", cwd=tmp_path)
    assert other.returncode == 2 and "no_such" in other.stderr
