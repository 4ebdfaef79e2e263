"""`vaereg run` end to end in a real subprocess, on a small real Fashion-MNIST subset."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from vaereg.data.fashion_mnist import SYSTEM_DIR

ROOT = Path(__file__).resolve().parents[1]


def vaereg(*args, cwd):
    return subprocess.run([sys.executable, "-m", "vaereg", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    if not SYSTEM_DIR.is_dir():
        pytest.skip("apt-get install dataset-fashion-mnist")
    out = tmp_path_factory.mktemp("runs")
    result = vaereg("run", str(ROOT / "recipes" / "vanilla_dropout.toml"),
                    "--set", "data.train_size=512", "--set", "data.val_size=256",
                    "--set", "run.epochs=2", "--set", f"run.out_dir='{out}'",
                    "--set", "run.log_every_n_steps=1", "--set", "logging.min_seconds=0",
                    cwd=out)
    assert result.returncode == 0, result.stderr
    run_dir = out / "vanilla_dropout" / "version_0"
    return result, run_dir


def test_last_line_names_run_dir_and_test_metric(finished_run):
    result, run_dir = finished_run
    last = result.stdout.strip().splitlines()[-1]
    assert str(run_dir) in last and "test/neg_elbo" in last
    assert "\r" not in result.stderr  # no progress bar off a terminal


def test_run_dir_holds_recipe_metrics_checkpoints(finished_run):
    _, run_dir = finished_run
    text = (run_dir / "recipe.toml").read_text()
    assert "# torch 2." in text and "# vaereg 0." in text
    recipe = tomllib.loads(text)
    assert recipe["run"]["epochs"] == 2 and recipe["plugins"]["dropout"]["p"] == 0.2
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for split in ("train", "val", "test"):
        for term in ("neg_elbo", "recon", "kl"):
            assert metrics[f"{split}/{term}"] > 0
        assert abs(metrics[f"{split}/neg_elbo"] - metrics[f"{split}/recon"]
                   - metrics[f"{split}/kl"]) < 1e-3
    assert metrics["plugins"] == {"dropout": {"p": 0.2, "where": "both", "kind": "standard",
                                              "blocks": "all"}}
    assert (run_dir / "checkpoints" / "last.pt").is_file()
    assert (run_dir / "checkpoints" / "best.pt").is_file()


def test_resolved_recipe_reproduces_the_run(finished_run, tmp_path):
    _, run_dir = finished_run
    result = vaereg("validate", str(run_dir / "recipe.toml"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_tensorboard_events_hold_steps_epochs_histograms_images(finished_run):
    _, run_dir = finished_run
    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "images": 0,
                                                           "histograms": 0})
    events.Reload()
    tags = events.Tags()
    steps = 2 * 4  # 2 epochs x ceil(512 / 128) batches
    for term in ("loss", "neg_elbo", "recon", "kl"):
        assert [e.step for e in events.Scalars(f"train_step/{term}")] == list(range(1, steps + 1))
    for name in ("train_running/neg_elbo", "val/neg_elbo", "val/kl"):
        assert [e.step for e in events.Scalars(f"epoch/{name}")] == [0, 1]
    assert "weights/mu_head.weight" in tags["histograms"]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for name in ("test/neg_elbo", "gap/neg_elbo", "best/test/neg_elbo"):
        [event] = events.Scalars(f"final/{name}")
        assert (event.step, event.value) == (steps, pytest.approx(metrics[name]))
    assert {"images/reconstructions", "images/samples"} <= set(tags["images"])
    assert len(events.Images("images/samples")) == 2


def test_bad_recipe_exits_2_with_every_problem_and_no_traceback(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[run]\nepochs = "ten"\n[plugins.dropuot]\np = 0.2\n')
    result = vaereg("run", str(bad), cwd=tmp_path)
    assert result.returncode == 2
    assert "run.epochs: expected an integer, found string 'ten'" in result.stderr
    assert "did you mean 'dropout'" in result.stderr
    assert "Traceback" not in result.stderr
    result = vaereg("validate", str(bad), "--set", "plugins.dropuot.p=2", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_plugins_lists_names_with_distribution_and_options(tmp_path):
    listing = vaereg("plugins", cwd=tmp_path)
    assert listing.returncode == 0 and "dropout" in listing.stdout and "vaereg" in listing.stdout
    detail = vaereg("plugins", "dropout", cwd=tmp_path)
    assert "p = 0.2" in detail.stdout and "probability" in detail.stdout
    unknown = vaereg("plugins", "dropot", cwd=tmp_path)
    assert unknown.returncode == 2 and "did you mean 'dropout'" in unknown.stderr
