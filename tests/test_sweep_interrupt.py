"""A sweep stopped by SIGINT or SIGTERM, at an exact moment of a trial, to its process or
its process group, with one or two workers: it exits 130/143 with a message naming the
command that goes on, no traceback; that command finishes the study with each grid
point run once, the interrupted trial continued from its checkpoint."""
import json
import signal

import pytest

from interrupted_sweep import (GRID, assert_each_point_finished_once, gated_recipe, go_on,
                               interrupt, start, trial_rows)

LR = "optimizer.lr=" + ",".join(map(str, GRID))


@pytest.mark.parametrize("workers, signum, group, hook", [
    (1, signal.SIGINT, False, "on_train_epoch_end"),  # mid-trial: a checkpoint, then stop
    (1, signal.SIGTERM, True, "on_train_start"),  # before the trial's first batch
    (1, signal.SIGINT, True, "on_train_end"),  # training done: the trial finishes first
    (2, signal.SIGTERM, False, "on_train_epoch_end"),
    (2, signal.SIGINT, True, "on_train_start"),
])
def test_a_stopped_sweep_goes_on_with_the_command_it_names(tmp_path, workers, signum, group,
                                                          hook):
    recipe = gated_recipe(tmp_path, hook)
    sweep = start(tmp_path, recipe, "--param", LR, "--workers", str(workers), "--out", "sw")
    code, stderr, held = interrupt(sweep, tmp_path, signum, group)
    assert code == 128 + signum, stderr
    assert "Traceback" not in stderr and f"interrupted by {signum.name}" in stderr
    assert f"--workers {workers}" in stderr or workers == 1

    again = go_on(stderr, tmp_path)
    assert again.returncode == 0, again.stderr
    assert "Traceback" not in again.stderr
    rows = trial_rows(tmp_path / "sw")
    assert_each_point_finished_once(rows, "optimizer.lr", GRID)
    cut_short = [r for r in rows if r["state"] == "FAIL"]
    assert f"0 fail, {len(cut_short)} interrupted" in again.stdout
    held_rows = [r for r in rows if (tmp_path / r["run_dir"]).resolve() == held.resolve()]
    assert [r["state"] for r in held_rows if r["state"] != "FAIL"] == ["COMPLETE"]
    if hook != "on_train_end":  # cut short with a checkpoint, then continued from it
        assert [r["state"] for r in held_rows].count("FAIL") == 1
    metrics = json.loads((held / "metrics.json").read_text())
    assert len(metrics["history"]) == 2  # no epoch lost or repeated
    assert sorted(p.name for p in held.parent.iterdir()) == ["version_0"]


@pytest.mark.parametrize("hook, states", [
    ("on_train_epoch_end", ["FAIL", "PRUNED"]),  # checkpointed, then continued as pruned
    ("on_train_end", ["PRUNED"]),  # in its final evaluation: it finishes first
])
def test_a_pruned_trial_in_flight_stays_pruned(tmp_path, hook, states):
    """A trial the pruner has stopped, signalled before it ends, is not run again and
    ends PRUNED."""
    grid = (1e-2, 1e-5, 3e-5, 1e-4)
    param = "optimizer.lr=" + ",".join(map(str, grid))
    recipe = gated_recipe(tmp_path, hook, only_stopping=True, run={"epochs": 3})
    sweep = start(tmp_path, recipe, "--param", param, "--prune-after", "1", "--out", "sw")
    code, stderr, held = interrupt(sweep, tmp_path, signal.SIGINT, group=True)
    assert code == 130 and "Traceback" not in stderr, stderr

    again = go_on(stderr, tmp_path)
    assert again.returncode == 0, again.stderr
    rows = trial_rows(tmp_path / "sw")
    assert_each_point_finished_once(rows, "optimizer.lr", grid)
    held_rows = [r for r in rows if (tmp_path / r["run_dir"]).resolve() == held.resolve()]
    assert [r["state"] for r in held_rows] == states


def test_a_killed_sweep_continues_its_trial_from_the_last_checkpoint(tmp_path):
    """SIGKILL (no handler, no message) while a trial trains its second epoch: the same
    command again continues that trial from its first epoch's checkpoint."""
    recipe = gated_recipe(tmp_path, "on_train_epoch_end", epoch=1, run={"epochs": 3})
    args = (recipe, "--param", LR, "--out", "sw")
    code, _, held = interrupt(start(tmp_path, *args), tmp_path, signal.SIGKILL, group=False)
    assert code == -signal.SIGKILL

    again = start(tmp_path, *args)
    assert again.wait(timeout=300) == 0, (tmp_path / "stderr").read_text()
    assert "1 interrupted trial(s) queued again" in (tmp_path / "stderr").read_text()
    rows = trial_rows(tmp_path / "sw")
    assert_each_point_finished_once(rows, "optimizer.lr", GRID)
    held_rows = [r for r in rows if (tmp_path / r["run_dir"]).resolve() == held.resolve()]
    assert [r["state"] for r in held_rows] == ["FAIL", "COMPLETE"]
    assert len(json.loads((held / "metrics.json").read_text())["history"]) == 3
    assert sorted(p.name for p in held.parent.iterdir()) == ["version_0"]
