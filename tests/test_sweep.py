"""vaereg sweep: grid and resume, failing and pruned trials, strict specs."""
import csv
import subprocess
import sys
import tomllib

import pytest
import tomli_w
from click.testing import CliRunner

from cli_process import vaereg
from vaereg.cli import main
from vaereg.core.common.errors import VaeregError
from vaereg.core.recipes.recipe import load_recipe
from vaereg.experiments.param_specs import parse_param
from vaereg.testing import tiny_recipe


def trials(folder):
    with open(folder / "trials.csv") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def recipe(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(tomli_w.dumps(tiny_recipe()))
    return path


def sweep(recipe, *args):
    return CliRunner().invoke(main, ["sweep", str(recipe), *args])


def test_grid_runs_each_point_once_and_a_second_call_none(tmp_path, recipe):
    args = ("sweep", "tiny.toml", "--param", "optimizer.lr=1e-4,1e-3,1e-2", "--out", "sw")
    first = vaereg(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    rows = trials(tmp_path / "sw")
    assert sorted(float(r["optimizer.lr"]) for r in rows) == [1e-4, 1e-3, 1e-2]
    assert {r["state"] for r in rows} == {"COMPLETE"}
    again = vaereg(*args, "--trials", "3", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "3 of 3 trials done" in again.stderr and "trial 3" not in again.stderr
    assert len(trials(tmp_path / "sw")) == 3
    best = min(rows, key=lambda r: float(r["value"]))
    table = tomllib.loads((tmp_path / "sw" / "best.toml").read_text())
    assert table["optimizer"]["lr"] == float(best["optimizer.lr"])
    load_recipe(tmp_path / "sw" / "best.toml")  # valid for vaereg run


def test_a_failing_trial_is_recorded_and_the_study_goes_on(tmp_path, recipe):
    result = sweep(recipe, "--param", "optimizer.lr=1e-3,1e7", "--set", "run.on_nonfinite=stop",
                   "--out", str(tmp_path / "sw"))
    assert result.exit_code == 0, result.output
    rows = {r["optimizer.lr"]: r for r in trials(tmp_path / "sw")}
    assert rows["10000000.0"]["state"] == "FAIL" and "NonFiniteError" in rows["10000000.0"]["error"]
    assert rows["0.001"]["state"] == "COMPLETE"


def test_median_pruning_stops_bad_trials(tmp_path, recipe):
    result = sweep(recipe, "--param", "optimizer.lr=1e-2,1e-5,3e-5,1e-4,3e-3",
                   "--set", "run.epochs=3", "--prune-after", "1", "--out", str(tmp_path / "sw"))
    assert result.exit_code == 0, result.output
    states = [r["state"] for r in trials(tmp_path / "sw")]
    assert len(states) == 5 and "PRUNED" in states and "FAIL" not in states


def test_tpe_with_ranges_runs_the_total_and_maximizes(tmp_path, recipe):
    out = str(tmp_path / "sw")
    result = sweep(recipe, "--param", "optimizer.lr=loguniform(1e-4, 1e-2)",
                   "--param", "model.latent_dim=int(2, 6)", "--trials", "3",
                   "--objective", "gap/neg_elbo", "--maximize", "--out", out)
    assert result.exit_code == 0, result.output
    rows = trials(tmp_path / "sw")
    assert len(rows) == 3 and all(1e-4 <= float(r["optimizer.lr"]) <= 1e-2 for r in rows)
    best = max(rows, key=lambda r: float(r["value"]))
    assert tomllib.loads((tmp_path / "sw" / "best.toml").read_text())["model"]["latent_dim"] \
        == int(best["model.latent_dim"])
    changed = sweep(recipe, "--param", "optimizer.lr=loguniform(1e-4, 1e-2)", "--out", out)
    assert changed.exit_code == 2 and "started with other arguments" in changed.output


@pytest.mark.parametrize("spec, message", [
    ("optimizer.lr=loguniform(0, 1)", "positive low bound"),
    ("optimizer.lr=normal(1, 2)", "unknown spec"),
    ("optimizer.lr=uniform(2, 1)", "low bound must be below"),
    ("model.latent_dim=int(1.5, 3)", "two integers"),
    ("optimizer.lr", "expected KEY.PATH=SPEC"),
    ("optimizer.lr=1e-3,1e-3", "given twice"),
    ("optimizer.lr=choice()", "no values"),
])
def test_bad_specs_are_refused(spec, message):
    with pytest.raises(VaeregError, match=message):
        parse_param(spec)


def test_bad_spec_or_key_exits_2_without_a_trial(tmp_path, recipe):
    bad_spec = vaereg("sweep", "tiny.toml", "--param", "optimizer.lr=loguniform(1e-3)",
                      "--out", "sw", cwd=tmp_path)
    assert bad_spec.returncode == 2 and "takes two numbers" in bad_spec.stderr
    bad_key = sweep(recipe, "--param", "optimizer.lrr=1e-3,1e-2", "--out", str(tmp_path / "sw"))
    assert bad_key.exit_code == 2 and "did you mean 'lr'" in bad_key.output
    assert "Traceback" not in bad_spec.stderr and not (tmp_path / "sw").exists()


def test_spec_values_are_toml_literals_or_words():
    assert parse_param("optimizer.name=choice(adam, sgd)").values == ("adam", "sgd")
    assert parse_param("run.epochs=int(1, 5)").values == (1, 5)
    assert parse_param("plugins.dropout.p=0.1,0.2").values == (0.1, 0.2)


def test_workers_share_the_study_and_run_its_total_exactly(tmp_path, recipe):
    grid = (1e-4, 1e-3, 1e-2)
    run = subprocess.Popen([sys.executable, "-m", "vaereg", "sweep", "tiny.toml", "--param",
                            "optimizer.lr=" + ",".join(map(str, grid)), "--workers", "2",
                            "--out", "sw"], cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    _, stderr = run.communicate(timeout=300)
    assert run.returncode == 0, stderr
    rows = trials(tmp_path / "sw")
    assert sorted(float(r["optimizer.lr"]) for r in rows) == sorted(grid)
    assert {r["state"] for r in rows} == {"COMPLETE"}
    workers = {r["worker"].rpartition(":")[2] for r in rows}
    assert 1 <= len(workers) <= 2 and str(run.pid) not in workers  # run by the 2 workers
    assert all((tmp_path / r["run_dir"] / "metrics.json").is_file() for r in rows)
