"""benchmarks/anomaly.py: what it refuses before training anything, how it goes on after a
stop, and how it reports a failing command."""
from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "anomaly.py"


def test_the_one_class_protocol_refuses_scores_fitted_on_two_classes(tmp_path):
    result = subprocess.run([sys.executable, str(SCRIPT), "--protocol", "one-class",
                             "--scores", "mse", "latent_class_energy", "--out", str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert ("latent_class_energy fit on the training labels of at least two classes, and the "
            "one-class protocol trains on one") in result.stderr
    assert "Traceback" not in result.stderr and not list(tmp_path.iterdir())


def benchmark(out, *extra):
    return subprocess.run([sys.executable, str(SCRIPT), "--protocol", "held-out", "--epochs",
                           "1", "--train-size", "600", "--classes", "9", "--scores", "mse",
                           "--out", str(out), *extra], capture_output=True, text=True)


def test_an_unfinished_run_resumes_and_one_that_cannot_starts_again(tmp_path):
    small = ("--recipes", "vanilla", "--set", "model.hidden_dims=[8, 16]")
    first = benchmark(tmp_path, *small)
    assert first.returncode == 0, first.stderr
    run = tmp_path / "held-out" / "vanilla_class9_seed0" / "version_0"
    recipe = tomllib.loads((run / "recipe.toml").read_text())
    assert recipe["model"]["hidden_dims"] == [8, 16]  # --set reached the run
    run_id = (run / "run_id.txt").read_text()
    result = tmp_path / "held-out" / "vanilla_class9_seed0.json"
    auroc = json.loads(result.read_text())["mse"]
    for path in (run / "metrics.json", result):  # stopped after its last checkpoint
        path.unlink()
    resumed = benchmark(tmp_path, *small)
    assert resumed.returncode == 0, resumed.stderr
    assert (run / "run_id.txt").read_text() == run_id  # the same run, resumed
    assert json.loads(result.read_text())["mse"] == auroc
    (run / "checkpoints" / "last.pt").write_bytes(b"not a checkpoint")
    for path in (run / "metrics.json", result):
        path.unlink()
    again = benchmark(tmp_path, *small)
    assert again.returncode == 0, again.stderr
    assert (run / "run_id.txt").read_text() != run_id and result.exists()


def test_a_failing_vaereg_command_stops_the_benchmark_with_its_message(tmp_path):
    failed = benchmark(tmp_path, "--recipes", "no_such_recipe")
    assert failed.returncode == 1
    assert "no_such_recipe" in failed.stderr and "Traceback" not in failed.stderr
    assert ("`vaereg run " in failed.stderr and "failed with exit code 2" in failed.stderr
            and "the same command goes on from there" in failed.stderr)


def test_a_recipe_override_the_recipe_lacks_is_refused(tmp_path):
    refused = benchmark(tmp_path, "--recipes", "vanilla", "--set", "model.no_such_key=1")
    assert refused.returncode == 1 and "no_such_key" in refused.stderr
