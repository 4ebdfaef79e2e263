"""Evaluation on streamed splits (no ``.x`` tensor): a real `vaereg run` on a folder of PNGs
with the adversarial plugin and two unreadable files skipped, then `vaereg eval` with the
default metrics, the sample metrics and an image-folder OOD set."""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
import tomli_w
import torch
from click.testing import CliRunner
from PIL import Image

import vaereg
from cli_process import vaereg as vaereg_cli
from vaereg.cli import main
from vaereg.data.split_images import split_files
from vaereg.testing import make_trainer, tiny_recipe

from image_fixtures import write_images

SIZE = 12  # SSIM's 11x11 window needs at least 11x11 images
OOD_FOLDER = Path("eval") / "best-test-out-of-distribution-image-folder"


@pytest.fixture(scope="module")
def folder_run(tmp_path_factory):
    """A run on 40 grey PNGs, one of them truncated (decoding fails) and one file that is
    not an image (the scan finds it); both skipped."""
    root = tmp_path_factory.mktemp("folder")
    paths = write_images(root / "images", 40, size=SIZE, mode="L")
    paths[5].write_bytes(paths[5].read_bytes()[:60])
    (root / "images" / "notes.png").write_text("these are not pixels")
    table = tiny_recipe(
        run={"out_dir": "runs", "name": "folder"},
        data={"name": "image_folder", "root": str(root / "images"), "batch_size": 8,
              "on_bad_file": "skip", "test_fraction": 0.25},
        plugins={"adversarial": {"steps": 2, "eval_steps": 3}})
    (root / "recipe.toml").write_text(tomli_w.dumps(table))
    result = vaereg_cli("run", "recipe.toml", cwd=root)
    assert result.returncode == 0, result.stderr
    return root, root / "runs" / "folder" / "version_0", result


def test_run_with_the_adversarial_plugin_reports_robustness_on_a_streamed_split(folder_run):
    _, run_dir, _ = folder_run
    metrics = json.loads((run_dir / "metrics.json").read_text())
    # PGD at eps = 0.1 maximizes the negative ELBO: it must come out above the clean one
    assert metrics["robust/neg_elbo"] > metrics["test/neg_elbo"]
    assert metrics["robust/latent_skl"] > 0


def test_skipped_files_are_counted_in_metrics_json_and_warned_about(folder_run):
    _, run_dir, result = folder_run
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["data/skipped_files"] == 2
    assert sorted(reason.split(":")[0].rsplit("/", 1)[1] for reason in metrics["data/skipped"]) \
        == ["0005.png", "notes.png"]
    assert "skipped" in result.stderr and "0005.png: not a readable image" in result.stderr
    assert "notes.png: not an image" in result.stderr


def test_a_run_that_skips_nothing_says_so_and_one_that_cannot_skip_is_silent(tmp_path):
    write_images(tmp_path / "images", 12, size=SIZE, mode="L")
    folder = {"name": "image_folder", "root": str(tmp_path / "images"), "batch_size": 8}
    for on_bad_file, expected in (("skip", 0), ("stop", None)):
        table = tiny_recipe(run={"epochs": 1}, data={**folder, "on_bad_file": on_bad_file})
        metrics = make_trainer(table, tmp_path / on_bad_file).fit()
        assert metrics.get("data/skipped_files") == expected


def test_eval_with_default_metrics_on_a_streamed_split(folder_run):
    root, run_dir, _ = folder_run
    result = vaereg_cli("eval", str(run_dir), cwd=root)
    assert result.returncode == 0, result.stderr
    folder = run_dir / "eval" / "best-test-none"
    record = json.loads((folder / "eval.json").read_text())
    metrics = record["metrics"]
    loaded = vaereg.load_run(run_dir)
    test_size = len(loaded.splits.test)
    assert record["binarization"] == "none"
    assert metrics["test/neg_elbo"] == pytest.approx(metrics["test/recon"] + metrics["test/kl"])
    assert 0 < metrics["test/ssim"] <= 1 and metrics["test/mse"] > 0
    assert 0 <= metrics["test/active_units"] <= 4
    assert 0 <= metrics["test/mutual_information"] <= torch.log(torch.tensor(test_size)) + 1e-6
    with open(folder / "scores.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert "label" not in rows[0]  # a flat folder: no labels
    files = split_files(loaded.splits.test)
    assert [row["path"] for row in rows] == [files[int(row["index"])] for row in rows]
    assert all(Path(row["path"]).is_file() for row in rows)
    readable, _ = vaereg.split_images(loaded.splits.test)
    skipped = loaded.splits.test.skipped_index  # this run's truncated file lies in test
    assert len(skipped) == 1 and len(rows) == len(readable) == record["examples"]
    assert [int(row["index"]) for row in rows] == sorted(set(range(test_size)) - skipped)
    assert (folder / "latent_space.png").read_bytes()[:4] == b"\x89PNG"


def test_sample_metrics_and_an_image_folder_as_ood_set(folder_run):
    root, run_dir, _ = folder_run
    noise = write_images(root / "ood", 12, size=SIZE, mode="L", seed=7)[0].parent
    result = vaereg_cli("eval", str(run_dir), "--metrics", "elbo,diversity,memorization",
                        "--ood", "image_folder", "--set", f"root='{noise}'",
                        "--set", "test_fraction=0.5", cwd=root)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((run_dir / OOD_FOLDER / "eval.json").read_text())["metrics"]
    assert metrics["test+ood/diversity"] > 0 and metrics["test+ood/memorization/nearest_min"] > 0
    assert 0 <= metrics["anomaly/neg_elbo/auroc"] <= 1
    with open(run_dir / OOD_FOLDER / "scores.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sum(int(row["is_anomaly"]) for row in rows) == 6  # half of the 12 noise images


def test_ood_defaults_score_the_complexity_corrected_likelihood(folder_run):
    """--ood without --metrics runs elbo, reconstruction and complexity: S(x) has its
    AUROC, AUPRC and FPR95 and a scores.csv column equal to neg_elbo in bits - png_bits."""
    root, run_dir, _ = folder_run
    flat = root / "flat"
    flat.mkdir()
    for k in range(8):  # constant images: far simpler than the training noise
        Image.new("L", (SIZE, SIZE), color=30 * k).save(flat / f"{k}.png")
    result = CliRunner().invoke(main, ["eval", str(run_dir), "--ood", "image_folder",
                                       "--set", f"root='{flat}'", "--set", "test_fraction=0.5"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((run_dir / OOD_FOLDER / "eval.json").read_text())["metrics"]
    for figure in ("auroc", "auprc", "fpr_at_95_tpr"):
        assert 0 <= metrics[f"anomaly/complexity_corrected/{figure}"] <= 1
    with open(run_dir / OOD_FOLDER / "scores.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        expected = float(row["neg_elbo"]) / math.log(2) - float(row["png_bits"])
        assert float(row["complexity_corrected"]) == pytest.approx(expected, rel=1e-5)
    normal = [float(r["png_bits"]) for r in rows if r["is_anomaly"] == "0"]
    constant = [float(r["png_bits"]) for r in rows if r["is_anomaly"] == "1"]
    assert max(constant) < min(normal)
