"""compare and sweep with [plugins.mlflow]: their runs nested under one parent MLflow run
per output folder, whose artifacts are the compare table and the sweep's reports; the same
command again continues the same parent. Read back from a local store with MlflowClient."""
from __future__ import annotations

import json
import os

import tomli_w
from click.testing import CliRunner
from mlflow import MlflowClient

from cli_process import vaereg
from vaereg.cli import main
from vaereg.testing import tiny_recipe
from vaereg.tracking.mlflow_run import PARENT_RUN_VARIABLE

TRACKED = {"mlflow": {"tracking_uri": "mlruns"}}  # in the working directory
ONE_EPOCH = {"epochs": 1}


def client_for(folder) -> MlflowClient:
    return MlflowClient(f"sqlite:///{folder / 'mlruns' / 'mlflow.db'}")


def family(client: MlflowClient, experiment: str):
    """(the parent run, its children), the only runs of the experiment."""
    runs = client.search_runs([client.get_experiment_by_name(experiment).experiment_id])
    (parent,) = [run for run in runs if "mlflow.parentRunId" not in run.data.tags]
    children = [run for run in runs if run is not parent]
    assert all(run.data.tags["mlflow.parentRunId"] == parent.info.run_id for run in children)
    return parent, children


def artifacts(client: MlflowClient, run) -> set[str]:
    return {item.path for item in client.list_artifacts(run.info.run_id)}


def test_compare_nests_its_runs_under_one_parent_holding_the_table(tmp_path):
    (tmp_path / "base.toml").write_text(tomli_w.dumps(tiny_recipe(run=ONE_EPOCH, plugins=TRACKED)))
    (tmp_path / "dropout.toml").write_text(
        tomli_w.dumps(tiny_recipe(run=ONE_EPOCH, plugins={"dropout": {"p": 0.2}, **TRACKED})))
    args = ("compare", "base.toml", "dropout.toml", "--seeds", "1", "--jobs", "2", "--out",
            "cmp")  # two runs write the store at once
    done = vaereg(*args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    logs = [path.read_text() for path in (tmp_path / "cmp").glob("*/seed_0.log")]
    assert len(logs) == 2 and not [log for log in logs if "MLflow tracking" in log]
    client = client_for(tmp_path)
    parent, children = family(client, "cmp")  # default experiment: the --out folder's name
    assert parent.data.tags["vaereg.command"] == "compare"
    assert parent.info.status == "FINISHED"
    assert json.loads(parent.data.params["recipes"]) == ["base.toml", "dropout.toml"]
    assert sorted(run.data.params.get("plugins.dropout.p", "-") for run in children) == \
        ["-", "0.2"]
    assert artifacts(client, parent) == {"compare.md", "compare.json", "compare.png"}
    table = client.download_artifacts(parent.info.run_id, "compare.md", str(tmp_path))
    assert open(table).read() == (tmp_path / "cmp" / "compare.md").read_text()

    again = vaereg(*args, cwd=tmp_path)  # every run reused: the same parent, no new run
    assert again.returncode == 0, again.stderr
    assert family(client, "cmp")[0].info.run_id == parent.info.run_id
    assert len(family(client, "cmp")[1]) == 2


def test_sweep_nests_its_trials_under_one_parent_holding_the_reports(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.toml").write_text(tomli_w.dumps(tiny_recipe(
        run={"epochs": 1}, plugins={"mlflow": {"tracking_uri": "mlruns",
                                               "experiment": "lr-search"}})))
    result = CliRunner().invoke(main, ["sweep", "tiny.toml", "--param",
                                       "optimizer.lr=1e-3,1e-2", "--out", "sw"])
    assert result.exit_code == 0, result.output
    assert PARENT_RUN_VARIABLE not in os.environ  # only while the sweep ran
    client = client_for(tmp_path)
    parent, children = family(client, "lr-search")
    assert sorted(run.data.params["optimizer.lr"] for run in children) == ["0.001", "0.01"]
    assert {"trials.csv", "sweep.png", "best.toml"} <= artifacts(client, parent)
    best = min(run.data.metrics["best/monitored"] for run in children)  # the objective
    assert parent.data.metrics["best/val/neg_elbo"] == best
