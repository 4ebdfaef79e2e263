"""`vaereg eval`, `sample` and `reconstruct` on real run folders: one made by `vaereg run`
on a small real Fashion-MNIST subset (classes 0-4, for the held-out-class protocol),
one interrupted in its first epoch (last.pt only)."""
import csv
import json
import signal
import subprocess
import sys

import pytest
import torch
from click.testing import CliRunner
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

import vaereg
from cli_process import small_fmnist_run
from vaereg.cli import main
from vaereg.core.common.errors import RunInterrupted
from vaereg.evaluation.stale_evaluations import file_digest
from vaereg.testing import SYNTHETIC, make_trainer, tiny_recipe
from test_localization import rank_auroc

PNG = b"\x89PNG"


def vaereg_cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "vaereg", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def invoke(*args):
    """The CLI in this process: for the protocols, where a fresh interpreter adds only
    start-up time (the end-to-end tests run it as a real subprocess)."""
    return CliRunner().invoke(main, [str(arg) for arg in args])


def test_eval_help_names_every_default_metric():
    """The defaults `vaereg eval --help` lists are the ones the evaluation runs: the help
    text is written out by hand (the CLI does not import torch to show it)."""
    from vaereg.evaluation.run_evaluation import ANOMALY_METRICS, DEFAULT_METRICS

    text = " ".join(invoke("eval", "--help").output.split())
    listed = text[text.index("(default: "):text.index(" with --ood/--anomaly")]
    plain, anomaly = listed.removeprefix("(default: ").split("; ")
    assert plain.split(", ") == list(DEFAULT_METRICS)
    assert anomaly.split(", ") == list(ANOMALY_METRICS)


PLAIN = "best-test-none"
OOD = "best-test-out-of-distribution-vaereg-testing-syntheticimages"
HELD_OUT = "best-test-held-out-classes-trained-on-0-1-2-3-4"


def read_scores(folder):
    with open(folder / "scores.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def read_eval(run_dir, name):
    return json.loads((run_dir / "eval" / name / "eval.json").read_text())


@pytest.fixture(scope="module")
def fmnist_run(tmp_path_factory):
    return small_fmnist_run(tmp_path_factory.mktemp("runs"), "vanilla_dropout",
                            "--set", "data.train_size=512", "--set", "data.val_size=256",
                            "--set", "data.classes=[0, 1, 2, 3, 4]")


class _StopInFirstEpoch:
    """Stops the run after its first batch, as a SIGTERM would: last.pt only."""

    @vaereg.hookimpl
    def on_batch_end(self, trainer, batch_idx):
        trainer._stop.signum = signal.SIGTERM


@pytest.fixture(scope="module")
def interrupted_run(tmp_path_factory):
    trainer = make_trainer(tiny_recipe(plugins={"batchnorm": {}}), tmp_path_factory.mktemp("stop"),
                           extra_plugins=(("stop", _StopInFirstEpoch()),))
    with pytest.raises(RunInterrupted):
        trainer.fit()
    assert not (trainer.run_dir / "checkpoints" / "best.pt").exists()
    return trainer


def test_eval_writes_results_scores_pictures_and_hparams(fmnist_run):
    result = vaereg_cli("eval", fmnist_run, "--metrics", "elbo,active_units", cwd=fmnist_run)
    assert result.returncode == 0, result.stderr
    assert "bernoulli likelihood, binarization none, a loss: not a log-likelihood" in result.stdout
    record = read_eval(fmnist_run, PLAIN)
    steps = json.loads((fmnist_run / "metrics.json").read_text())["steps"]
    best = fmnist_run / "checkpoints" / "best.pt"
    assert record["checkpoint"] == {"name": "best", "epoch": 1, "step": steps,
                                    "sha256": file_digest(best)}
    assert (record["likelihood"], record["binarization"], record["is_log_likelihood"]) == \
        ("bernoulli", "none", False)
    assert "not log-likelihood bounds" in record["note"]
    metrics = record["metrics"]
    assert metrics["test/neg_elbo"] == pytest.approx(metrics["test/recon"] + metrics["test/kl"])
    assert 0 <= metrics["test/active_units"] <= metrics["test/latent_dim"] == 16
    rows = read_scores(fmnist_run / "eval" / PLAIN)
    assert len(rows) == 10_000
    assert list(rows[0]) == ["index", "path", "label", "recon", "kl", "neg_elbo"]
    assert [int(row["index"]) for row in rows] == list(range(10_000))
    assert rows[17]["path"] == "fashion_mnist:test[17]"
    mean = sum(float(row["neg_elbo"]) for row in rows) / len(rows)
    assert mean == pytest.approx(metrics["test/neg_elbo"], rel=1e-5)
    assert (fmnist_run / "eval" / PLAIN / "latent_space.png").read_bytes()[:4] == PNG
    events = EventAccumulator(str(fmnist_run / "eval" / PLAIN))
    events.Reload()
    hparams = events.PluginTagToContent("hparams")
    session = plugin_data_pb2.HParamsPluginData.FromString(
        hparams["_hparams_/session_start_info"]).session_start_info
    assert session.hparams["plugins.dropout.p"].number_value == pytest.approx(0.2)
    assert session.hparams["likelihood"].string_value == "bernoulli"
    assert "test/neg_elbo" in events.Tags()["scalars"]


def test_ood_synthetic_noise_is_told_apart(fmnist_run):
    result = invoke("eval", fmnist_run, "--ood", SYNTHETIC, "--set", "test_size=500",
                    "--metrics", "elbo,reconstruction")
    assert result.exit_code == 0, result.output
    metrics = read_eval(fmnist_run, OOD)["metrics"]
    # measured 0.986 (neg_elbo), 0.998 (mse) after one epoch on 512 images
    assert metrics["anomaly/neg_elbo/auroc"] > 0.9 and metrics["anomaly/mse/auroc"] > 0.9
    assert {"anomaly/recon/auprc", "anomaly/neg_elbo/fpr_at_95_tpr"} <= set(metrics)
    low, high = metrics["anomaly/neg_elbo/auroc_ci"]
    assert low <= metrics["anomaly/neg_elbo/auroc"] <= high and high - low < 0.1
    rows = read_scores(fmnist_run / "eval" / OOD)
    assert len(rows) == 10_500 and sum(int(row["is_anomaly"]) for row in rows) == 500
    assert rows[-1]["path"] == "ood:test[499]" and rows[0]["path"] == "fashion_mnist:test[0]"
    assert (fmnist_run / "eval" / OOD / "roc.png").read_bytes()[:4] == PNG


def test_held_out_classes_are_the_anomalies(fmnist_run):
    plain = invoke("eval", fmnist_run, "--metrics", "elbo", "--projector-points", 0)
    assert plain.exit_code == 0, plain.output
    result = invoke("eval", fmnist_run, "--anomaly", "--metrics", "elbo")
    assert result.exit_code == 0, result.output
    record = read_eval(fmnist_run, HELD_OUT)
    assert record["protocol"] == \
        "held-out classes (trained on T-shirt/top, Trouser, Pullover, Dress, Coat)"
    # measured 0.848 (neg_elbo), 0.853 (recon): classes 5-9 differ from 0-4 even after
    # one epoch on 512 images
    assert record["metrics"]["anomaly/neg_elbo/auroc"] > 0.7
    assert record["anomaly/headline"] == "neg_elbo"  # the headline score was not asked for
    rows = read_scores(fmnist_run / "eval" / HELD_OUT)
    assert all(row["is_anomaly"] == str(int(int(row["label"]) >= 5)) for row in rows)
    # each protocol has its own folder: the plain evaluation is still there, whole
    assert set(read_eval(fmnist_run, PLAIN)["metrics"]) == {"test/neg_elbo", "test/recon",
                                                            "test/kl"}


def test_the_default_anomaly_metrics_compute_the_headline_score(fmnist_run):
    result = invoke("eval", fmnist_run, "--anomaly", "--projector-points", 0)
    assert result.exit_code == 0, result.output
    record = read_eval(fmnist_run, HELD_OUT)
    assert record["anomaly/headline"] == "mean_mse_feature_knn_class_energy"
    rows = read_scores(fmnist_run / "eval" / HELD_OUT)
    assert {"neg_elbo", "complexity_corrected", "combined", "latent_mahalanobis",
            "latent_knn", "latent_class_mahalanobis", "latent_class_energy", "feature_knn",
            "feature_cosine_knn", "feature_class_energy", "combined_latent",
            "mean_mse_latent_knn", "mean_mse_latent_knn_class_energy",
            "mean_mse_feature_knn_class_energy", "mean_elbo_complexity_feature_knn",
            "mean_elbo_latent_knn_feature_cosine_knn",
            "mean_mse_feature_knn_feature_cosine_knn"} <= set(rows[0])
    headline = torch.tensor([float(row["mean_mse_feature_knn_class_energy"]) for row in rows])
    anomalous = torch.tensor([row["is_anomaly"] == "1" for row in rows])
    assert record["metrics"]["anomaly/mean_mse_feature_knn_class_energy/auroc"] == pytest.approx(
        rank_auroc(headline, anomalous), abs=1e-4)


def test_sample_and_reconstruct_grids(fmnist_run, tmp_path):
    for command in (("sample", "--n", 16), ("reconstruct", "--n", 8)):
        out = tmp_path / f"{command[0]}.png"
        result = invoke(command[0], fmnist_run, *command[1:], "--out", out)
        assert result.exit_code == 0, result.output
        assert out.read_bytes()[:4] == PNG


@pytest.mark.parametrize("args, message", [
    (("sample", "{run}", "--class", "3"), "is not conditional"),
    (("eval", "{run}", "--ood", SYNTHETIC, "--set", "image_size=14", "--metrics", "elbo"),
     "the shapes must match"),
    (("eval", "{run}", "--ood", "mnsit"), "did you mean 'mnist'"),
    (("eval", "{run}", "--set", "test_size=5"), "add --ood DATASET"),
])
def test_bad_requests_exit_2_with_a_message(fmnist_run, args, message):
    result = invoke(*(arg.format(run=fmnist_run) for arg in args))
    assert result.exit_code == 2 and message in result.output, result.output


def test_interrupted_run_evaluates_from_last_checkpoint(interrupted_run):
    run_dir = interrupted_run.run_dir
    result = vaereg_cli("eval", run_dir, "--checkpoint", "last", cwd=run_dir)
    assert result.returncode == 0, result.stderr
    record = read_eval(run_dir, "last-test-none")
    assert record["checkpoint"]["name"] == "last" and record["checkpoint"]["step"] == 1
    assert {"test/neg_elbo", "test/ssim", "test/mutual_information"} <= set(record["metrics"])
    assert len(read_scores(run_dir / "eval" / "last-test-none")) == 32


def test_load_run_rebuilds_layer_plugins_before_loading_weights(interrupted_run):
    """batch norm adds running statistics: its weights load only into a rebuilt model."""
    loaded = vaereg.load_run(interrupted_run.run_dir, checkpoint="last")
    assert not loaded.model.training
    expected = interrupted_run.model.state_dict()
    assert any("running_mean" in key for key in expected)
    for key, value in loaded.model.state_dict().items():
        assert torch.equal(value, expected[key]), key
    assert torch.equal(loaded.splits.test.x, interrupted_run.splits.test.x)


@pytest.mark.parametrize("make, message", [
    (lambda run: run.parent / "nowhere", "is not a vaereg run folder"),
    (lambda run: run, "the run has no best checkpoint; use --checkpoint last"),
])
def test_missing_folder_or_checkpoint_exits_2(interrupted_run, make, message):
    result = invoke("eval", make(interrupted_run.run_dir))
    assert result.exit_code == 2 and message in result.output, result.output
    assert "Traceback" not in result.output


def test_eval_records_the_weights_it_loaded_when_training_replaces_the_file(tmp_path):
    """A training process may replace best.pt while an evaluation runs: eval.json names
    the bytes the weights came from, so the evaluation then reads as stale, not current."""
    import shutil

    from vaereg.evaluation.eval_command import evaluate_and_save
    from vaereg.evaluation.run_loading import load_run
    from vaereg.evaluation.stale_evaluations import stale_identity

    trainer = make_trainer(tiny_recipe(run={"epochs": 2}), tmp_path)
    trainer.fit()
    best = trainer.run_dir / "checkpoints" / "best.pt"
    loaded = file_digest(best)
    run = load_run(trainer.run_dir, "best")
    assert run.checkpoint_info["sha256"] == loaded
    shutil.copyfile(trainer.run_dir / "checkpoints" / "last.pt", best)  # new weights land
    assert file_digest(best) != loaded
    _, paths = evaluate_and_save(run, metrics=["elbo"], projector_points=0)
    record = json.loads(paths["eval"].read_text())
    assert record["checkpoint"]["sha256"] == loaded
    assert stale_identity(paths["eval"].parent)["sha256"] == file_digest(best)
