"""[plugins.mlflow]: what a run sends to MLflow, read back with MlflowClient from a file
store and from a real ``mlflow server`` on loopback; a resume continues the same MLflow
run; a server that is down or refuses costs one warning, the run finishes, and the run
folder keeps what was not uploaded until a resume sends it."""
from __future__ import annotations

import json
import subprocess
import sys
import warnings

import pytest
import tomli_w
from click.testing import CliRunner
from mlflow import MlflowClient

import vaereg
from mlflow_server import MLflowServer, Relay
from torchrun_helpers import torchrun, write_recipe
from vaereg.cli import main
from vaereg.testing import make_trainer, tiny_recipe
from vaereg.tracking.recipe_params import flatten

EXPERIMENT = "tests"


def tracked(uri: str, experiment: str = EXPERIMENT, run: dict | None = None,
            **options) -> dict:
    return tiny_recipe(run=run or {}, plugins={
        "dropout": {"p": 0.3},
        "mlflow": {"tracking_uri": uri, "experiment": experiment, **options}})


def only_run(client: MlflowClient, experiment: str = EXPERIMENT):
    runs = client.search_runs([client.get_experiment_by_name(experiment).experiment_id])
    assert len(runs) == 1, [run.info.run_name for run in runs]
    return runs[0]


def history(client: MlflowClient, run_id: str, name: str) -> list[tuple[int, float]]:
    return sorted((point.step, point.value) for point in client.get_metric_history(run_id, name))


def metrics_json(run_dir) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


def fit_warnings(trainer, **fit) -> list[str]:
    """Fit, and return the MLflow warnings it raised (each one, even repeated)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer.fit(**fit)
    return [str(w.message) for w in caught if "MLflow tracking" in str(w.message)]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    running = MLflowServer(tmp_path_factory.mktemp("mlflow-server"))
    yield running.start()
    running.stop()


@pytest.mark.parametrize("store", ["folder", "file store"])
def test_a_local_store_holds_params_scalars_final_metrics_artifacts_and_tags(
        store, tmp_path, monkeypatch):
    """A folder (vaereg's local store: sqlite and an artifacts folder), and MLflow's file
    store (which MLflow 3 keeps only behind MLFLOW_ALLOW_FILE_STORE)."""
    folder = tmp_path / "mlruns"
    if store == "file store":
        monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    uri = folder.as_uri() if store == "file store" else str(folder)
    trainer = make_trainer(tracked(uri), tmp_path / "runs")
    trainer.fit()
    link = json.loads((trainer.run_dir / "mlflow.json").read_text())
    assert link["tracking_uri"] == (uri if store == "file store"
                                    else f"sqlite:///{folder / 'mlflow.db'}")
    client = MlflowClient(link["tracking_uri"])
    run = only_run(client)
    run_id = run.info.run_id
    assert link["run_id"] == run_id
    if store == "folder":
        assert any((folder / "artifacts").rglob("metrics.json"))
    assert run.info.status == "FINISHED"
    assert run.info.run_name == f"test/{trainer.run_dir.name}"

    params = run.data.params
    assert params == flatten(trainer.recipe.to_table())
    assert params["plugins.dropout.p"] == "0.3" and params["model.hidden_dims"] == "[32, 16]"

    assert [step for step, _ in history(client, run_id, "train_step/loss")] == \
        list(range(1, trainer.step + 1))
    assert history(client, run_id, "epoch/val/neg_elbo") == \
        [(epoch, figures["val/neg_elbo"]) for epoch, figures in enumerate(trainer.history)]
    final = metrics_json(trainer.run_dir)
    for name in ("test/neg_elbo", "best/test/neg_elbo", "gap/neg_elbo", "train_seconds"):
        assert run.data.metrics[name] == final[name], name

    assert {"recipe.toml", "metrics.json"} <= {a.path for a in client.list_artifacts(run_id)}
    copy = client.download_artifacts(run_id, "metrics.json", str(tmp_path))
    assert open(copy).read() == (trainer.run_dir / "metrics.json").read_text()

    tags = run.data.tags
    assert tags["vaereg.version"] == vaereg.__version__
    assert tags["vaereg.trainer"] == "vaereg.core.loop.trainer.Trainer"
    assert tags["vaereg.run_dir"] == str(trainer.run_dir.resolve())
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True)
    assert tags.get("mlflow.source.git.commit") == (head.stdout.strip() or None)
    assert not (trainer.run_dir / "mlflow_unsent.json").exists()


def test_eval_outputs_and_pictures_made_later_go_to_the_run_s_mlflow_run(tmp_path):
    trainer = make_trainer(tracked(str(tmp_path / "mlruns"), run={"epochs": 1}), tmp_path)
    trainer.fit()
    run_dir = str(trainer.run_dir)
    for command in (["eval", run_dir, "--metrics", "elbo", "--projector-points", "0"],
                    ["sample", run_dir, "--n", "4"]):
        done = CliRunner().invoke(main, command)
        assert done.exit_code == 0, done.output
    link = json.loads((trainer.run_dir / "mlflow.json").read_text())
    client = MlflowClient(link["tracking_uri"])
    (evaluation,) = [a.path for a in client.list_artifacts(link["run_id"], "eval")]
    sent = {a.path for a in client.list_artifacts(link["run_id"], evaluation)}
    assert f"{evaluation}/eval.json" in sent
    assert (trainer.run_dir / evaluation / "eval.json").is_file()
    assert "samples.png" in {a.path for a in client.list_artifacts(link["run_id"])}


def test_a_resumed_run_continues_the_same_run_on_a_tracking_server(server, tmp_path):
    table = tracked(server, experiment="resume", log_every_n_steps=2)
    first = make_trainer(tracked(server, "resume", run={"epochs": 1}, log_every_n_steps=2),
                         tmp_path)
    first.fit()
    second = make_trainer(table, tmp_path)  # run.epochs raised from 1 to 2
    assert fit_warnings(second, run_dir=first.run_dir, resume=True) == []

    client = MlflowClient(server)
    run = only_run(client, "resume")
    run_id = run.info.run_id
    assert run.info.status == "FINISHED"
    assert [step for step, _ in history(client, run_id, "epoch/val/neg_elbo")] == [0, 1]
    assert [step for step, _ in history(client, run_id, "train_step/loss")] == \
        list(range(2, second.step + 1, 2))
    # params cannot change in MLflow: the resume's new value is a tag
    assert run.data.params["run.epochs"] == "1"
    assert run.data.tags["vaereg.resumed.run.epochs"] == "2"
    assert run.data.metrics["test/neg_elbo"] == metrics_json(first.run_dir)["test/neg_elbo"]
    copy = client.download_artifacts(run_id, "recipe.toml", str(tmp_path))
    assert open(copy).read() == (first.run_dir / "recipe.toml").read_text()


def test_a_refused_request_is_one_warning_and_the_run_folder_keeps_the_rest(server, tmp_path):
    client = MlflowClient(server)
    client.delete_experiment(client.create_experiment("deleted"))  # runs there are refused
    trainer = make_trainer(tracked(server, "deleted", run={"epochs": 1}), tmp_path)
    (message,) = fit_warnings(trainer)
    assert "creating the run" in message and "training goes on" in message
    unsent = json.loads((trainer.run_dir / "mlflow_unsent.json").read_text())
    assert unsent["run_id"] is None and "creating the run" in unsent["error"]
    final = metrics_json(trainer.run_dir)
    assert ["test/neg_elbo", final["test/neg_elbo"]] in [p[:2] for p in unsent["metrics"]]


def test_a_server_that_is_down_costs_one_warning_and_a_resume_sends_what_was_kept(
        server, tmp_path):
    address = Relay(int(server.rsplit(":", 1)[1]))  # nothing answers there until started
    first = make_trainer(tracked(address.uri, "later", run={"epochs": 1}), tmp_path)
    (message,) = fit_warnings(first)
    assert address.uri in message and "mlflow_unsent.json" in message
    run_dir = first.run_dir
    final = metrics_json(run_dir)  # the run finished
    unsent = json.loads((run_dir / "mlflow_unsent.json").read_text())
    assert unsent["params"] == flatten(first.recipe.to_table())
    assert ["test/neg_elbo", final["test/neg_elbo"]] in [p[:2] for p in unsent["metrics"]]
    assert {"recipe.toml", "metrics.json"} <= set(unsent["artifacts"])
    assert not (run_dir / "mlflow.json").exists()

    address.start()  # the server is back: the resume sends what was kept, then its own
    try:
        second = make_trainer(tracked(address.uri, "later"), tmp_path)
        assert fit_warnings(second, run_dir=run_dir, resume=True) == []
    finally:
        address.stop()
    client = MlflowClient(server)
    run = only_run(client, "later")
    run_id = run.info.run_id
    assert [step for step, _ in history(client, run_id, "epoch/val/neg_elbo")] == [0, 1]
    assert (first.step, final["test/neg_elbo"]) in history(client, run_id, "test/neg_elbo")
    assert run.data.params["plugins.dropout.p"] == "0.3" and run.data.params["run.epochs"] == "1"
    assert run.data.tags["vaereg.resumed.run.epochs"] == "2"
    assert {"recipe.toml", "metrics.json"} <= {a.path for a in client.list_artifacts(run_id)}
    assert not (run_dir / "mlflow_unsent.json").exists()


def test_under_torchrun_only_rank_0_tracks(tmp_path):
    table = tracked("mlruns", "job", run={"epochs": 1, "out_dir": str(tmp_path / "runs")})
    write_recipe(tmp_path, table)
    job = torchrun(tmp_path, "run", "recipe.toml")
    assert job.returncode == 0, job.stderr
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    run = only_run(client, "job")  # rank 1 made none
    final = metrics_json(tmp_path / "runs" / "test" / "version_0")
    assert [step for step, _ in history(client, run.info.run_id, "train_step/loss")] == \
        list(range(1, final["steps"] + 1))  # each step once
    assert run.data.metrics["test/neg_elbo"] == final["test/neg_elbo"]


def test_validate_refuses_the_plugin_without_the_mlflow_package(tmp_path):
    recipe = tmp_path / "recipe.toml"
    recipe.write_text(tomli_w.dumps(tracked(str(tmp_path / "mlruns"))))
    program = ("import sys\n"
               "if sys.argv.pop(1) == 'hide':\n"
               "    sys.modules['mlflow'] = None  # as if not installed: import fails\n"
               "from vaereg.cli import main\n"
               "main()")

    def validate(mlflow: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", program, mlflow, "validate", str(recipe)],
                              capture_output=True, text=True, timeout=120)

    hidden = validate("hide")
    assert hidden.returncode == 2, hidden.stderr
    assert "plugins.mlflow" in hidden.stderr and "pip install vaereg[mlflow]" in hidden.stderr
    assert "Traceback" not in hidden.stderr
    installed = validate("keep")
    assert installed.returncode == 0, installed.stderr


def test_log_every_n_steps_must_be_a_multiple_of_the_run_s(tmp_path):
    with pytest.raises(vaereg.RecipeError, match="plugins.mlflow.log_every_n_steps.*multiple"):
        make_trainer(tracked(str(tmp_path), run={"log_every_n_steps": 2}, log_every_n_steps=3),
                     tmp_path)
