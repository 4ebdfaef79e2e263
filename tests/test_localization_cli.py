"""`vaereg eval RUN --anomaly` on a run trained on an MVTec-layout folder, in real
subprocesses: localization figures per map and defect type, maps.npz aligned with
scores.csv, heat maps, an evaluation folder of its own."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from PIL import Image

from cli_process import vaereg
from vaereg.evaluation.anomaly_maps import MODEL_MAPS
from vaereg.evaluation.baseline_maps import BASELINES
from vaereg.evaluation.localization import aupro, best_dice, dice, pixel_auprc
from vaereg.testing import tiny_recipe

from image_fixtures import mvtec_folder
from test_localization import rank_auroc

FOLDER = "best-test-labelled-defects"


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    import tomli_w

    root = tmp_path_factory.mktemp("mvtec")
    mvtec_folder(root / "data", train=40, good=6, defects={"bright": 4, "dark": 3}, size=12)
    table = tiny_recipe(run={"epochs": 1, "out_dir": "runs", "name": "mvtec"},
                        data={"name": "image_folder", "root": str(root / "data"),
                              "batch_size": 8})
    (root / "recipe.toml").write_text(tomli_w.dumps(table))
    result = vaereg("run", "recipe.toml", "--quiet", cwd=root)
    assert result.returncode == 0, result.stderr
    run_dir = root / "runs" / "mvtec" / "version_0"
    result = vaereg("eval", str(run_dir), "--anomaly", "--projector-points", "0", cwd=root)
    assert result.returncode == 0, result.stderr
    folder = run_dir / "eval" / FOLDER
    with open(folder / "scores.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    with np.load(folder / "maps.npz") as arrays:
        maps = {name: torch.from_numpy(arrays[name]) for name in arrays.files}
    return run_dir, json.loads((folder / "eval.json").read_text()), rows, maps


def mask_of(path: str) -> torch.Tensor:
    """The mask of an image, read from the fixture's files (none for a normal image)."""
    parts = path.split("/")
    if parts[-2] == "good":
        return torch.zeros(12, 12, dtype=torch.bool)
    root = "/".join(parts[:-3])
    mask = Image.open(f"{root}/ground_truth/{parts[-2]}/{parts[-1][:-4]}_mask.png")
    return torch.from_numpy(np.asarray(mask) > 0)


def test_rows_are_the_test_files_labelled_by_folder(evaluated):
    _, record, rows, maps = evaluated
    assert record["protocol"] == "labelled defects" and record["examples"] == 13
    assert [row["path"].split("/")[-2] for row in rows] == ["good"] * 6 + ["bright"] * 4 + \
        ["dark"] * 3
    assert [row["is_anomaly"] for row in rows] == ["0"] * 6 + ["1"] * 7
    assert set(maps) == set(MODEL_MAPS) | set(BASELINES)
    for name, values in maps.items():
        assert values.dtype == torch.float32 and values.shape == (13, 12, 12)
        column = torch.tensor([float(row[f"{name}_max"]) for row in rows])
        assert torch.allclose(column, values.flatten(1).max(1).values, rtol=1e-6)


def test_pixel_figures_are_computed_from_the_written_maps_and_masks(evaluated):
    _, record, rows, maps = evaluated
    metrics = record["metrics"]
    masks = torch.stack([mask_of(row["path"]) for row in rows])
    for name, values in maps.items():
        key = f"localization/{name}"
        assert metrics[f"{key}/pixel_auroc"] == pytest.approx(rank_auroc(values, masks),
                                                              abs=1e-9)
        low, high = metrics[f"{key}/pixel_auroc_ci"]
        assert low <= high and 0 <= low and high <= 1
        assert metrics[f"{key}/dice"] == pytest.approx(
            dice(values, masks, metrics[f"{key}/threshold"]), abs=1e-9)
        for kind in ("bright", "dark"):  # normal images and those of one defect type
            rows_of = torch.tensor([row["path"].split("/")[-2] in ("good", kind) for row in rows])
            for figure, compute in (("aupro", aupro), ("pixel_auprc", pixel_auprc),
                                    ("best_dice", best_dice)):
                assert metrics[f"{key}/{kind}/{figure}"] == pytest.approx(
                    compute(values[rows_of], masks[rows_of]), abs=1e-9)
        assert {f"anomaly/{name}_max/auroc", f"anomaly/{name}_top1pct/auroc_ci"} <= set(metrics)
    # the fixture's defects are white and black patches: the intensity baselines find them
    assert metrics["localization/intensity/bright/pixel_auroc"] > 0.95
    assert metrics["localization/intensity_inverted/dark/pixel_auroc"] > 0.95
    assert metrics["localization/intensity/dark/pixel_auroc"] < 0.1


def test_heat_maps_and_an_unwritable_folder(evaluated, tmp_path):
    run_dir, _, _, maps = evaluated
    pictures = run_dir / "eval" / FOLDER / "heat_maps"
    assert {p.name for p in pictures.iterdir()} == {f"{name}.png" for name in maps}
    assert (pictures / "nll.png").read_bytes()[:4] == b"\x89PNG"
    assert (pictures.parent / "pixel_roc_pr.png").read_bytes()[:4] == b"\x89PNG"
    blocked = run_dir / "eval" / "last-val-none"
    blocked.write_text("a file where the evaluation's folder would go")
    result = vaereg("eval", str(run_dir), "--split", "val", "--checkpoint", "last", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"the evaluation's folder {blocked}: cannot write files there" in result.stderr


def test_without_masks_the_maps_rank_images_only(evaluated, tmp_path):
    run_dir, _, _, _ = evaluated
    data = run_dir.parents[2] / "data"
    (data / "ground_truth").rename(tmp_path / "ground_truth")
    try:
        result = vaereg("eval", str(run_dir), "--anomaly", "--checkpoint", "last",
                        "--projector-points", "0", cwd=tmp_path)
    finally:
        (tmp_path / "ground_truth").rename(data / "ground_truth")
    assert result.returncode == 0, result.stderr
    folder = run_dir / "eval" / "last-test-labelled-defects"
    metrics = json.loads((folder / "eval.json").read_text())["metrics"]
    assert not any(key.startswith("localization/") for key in metrics)
    with open(folder / "scores.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    worst_pixel = torch.tensor([float(row["nll_max"]) for row in rows])
    anomalous = torch.tensor([row["is_anomaly"] == "1" for row in rows])
    assert metrics["anomaly/nll_max/auroc"] == pytest.approx(
        rank_auroc(worst_pixel, anomalous), abs=1e-4)
    assert (folder / "heat_maps" / "gaussian.png").read_bytes()[:4] == b"\x89PNG"


def test_an_evaluation_killed_while_writing_leaves_no_finished_folder(evaluated, tmp_path,
                                                                      monkeypatch):
    """eval.json goes last: stopped while drawing the heat maps, the folder has no
    eval.json (so compare and the stale check do not take it for a result), and the same
    evaluation again finishes it with the same figures."""
    import shutil

    from vaereg.evaluation import localization_outputs
    from vaereg.evaluation.eval_command import evaluate_and_save
    from vaereg.evaluation.run_loading import load_run
    from vaereg.evaluation.stale_evaluations import evaluation_folders

    run_dir, record, _, _ = evaluated
    copy = shutil.copytree(run_dir, tmp_path / "run")
    folder = copy / "eval" / FOLDER
    assert folder in evaluation_folders(copy)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(localization_outputs, "write_heat_maps", killed)
        with pytest.raises(KeyboardInterrupt):
            evaluate_and_save(load_run(copy), anomaly=True, projector_points=0)
    assert not (folder / "eval.json").exists()
    assert folder not in evaluation_folders(copy)

    evaluate_and_save(load_run(copy), anomaly=True, projector_points=0)
    again = json.loads((folder / "eval.json").read_text())
    assert folder in evaluation_folders(copy)
    key = next(key for key in record["metrics"] if key.endswith("pixel_auroc"))
    assert again["metrics"][key] == pytest.approx(record["metrics"][key])
