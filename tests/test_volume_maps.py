"""eval --anomaly on slices of NIfTI volumes: maps written back as NIfTI in each volume's
own shape and affine, voxel figures over those files' voxels, volume-level AUROC."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import tomli_w

from vaereg.testing import tiny_recipe

from volume_fixtures import AFFINE, LESION, SHAPE, nifti_tree

MAPS = ("nll", "residual", "hyperintensity", "gradient", "combi", "restoration", "intensity",
        "intensity_inverted", "gaussian", "voxel_gaussian")
VOLUMES = ("healthy00", "healthy01", "patient00", "patient01")


def vaereg(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vaereg", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    """(the scans, the eval folder, its figures) of a run trained on axial slices."""
    folder = tmp_path_factory.mktemp("volume_maps")
    scans = nifti_tree(folder / "scans")
    table = tiny_recipe(run={"epochs": 1, "out_dir": str(folder / "runs")},
                        data={"name": "nifti", "root": str(scans), "size": 8, "batch_size": 4,
                              "min_foreground": 0.1},
                        model={"backbone": "conv", "hidden_dims": [4, 8]})
    (folder / "recipe.toml").write_text(tomli_w.dumps(table))
    assert vaereg("run", "recipe.toml", "--quiet", cwd=folder).returncode == 0
    run_dir = next((folder / "runs").glob("*/version_0"))
    result = vaereg("eval", str(run_dir), "--anomaly", cwd=folder)
    assert result.returncode == 0, result.stderr
    (eval_json,) = run_dir.rglob("eval.json")
    return scans, eval_json.parent, json.loads(eval_json.read_text())["metrics"]


def written(folder: Path, volume: str, name: str) -> nib.Nifti1Image:
    return nib.load(folder / "volume_maps" / f"{volume}_{name}.nii.gz")


def truth(scans: Path, volume: str) -> np.ndarray:
    mask = scans / "ground_truth" / "lesion" / f"{volume}_mask.nii.gz"
    return np.asarray(nib.load(mask).dataobj) > 0 if mask.exists() else np.zeros(SHAPE, bool)


def rank_auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Mann-Whitney: (rank sum of the positives - n+(n+ + 1)/2) / (n+ n-), ties averaged."""
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    average_rank = np.cumsum(counts) - (counts - 1) / 2
    ranks = average_rank[inverse]
    positives, negatives = labels.sum(), (~labels).sum()
    return float((ranks[labels].sum() - positives * (positives + 1) / 2)
                 / (positives * negatives))


def precision_recall_at_each_score(scores: np.ndarray, labels: np.ndarray):
    """(true positives, flagged) when flagging >= each distinct score, highest first."""
    thresholds = np.unique(scores)[::-1]
    tp = np.array([(labels & (scores >= t)).sum() for t in thresholds], float)
    flagged = np.array([(scores >= t).sum() for t in thresholds], float)
    return tp, flagged


def test_every_map_is_written_with_its_volumes_shape_and_affine(evaluated):
    _, folder, _ = evaluated
    for volume in VOLUMES:
        for name in MAPS:
            image = written(folder, volume, name)
            assert image.shape == SHAPE and np.array_equal(image.affine, AFFINE), (volume, name)


def test_the_intensity_map_is_brightest_on_the_lesion_in_the_files_voxels(evaluated):
    _, folder, figures = evaluated
    for volume in ("patient00", "patient01"):
        values = np.asarray(written(folder, volume, "intensity").dataobj)
        lesion = np.zeros(SHAPE, bool)
        lesion[LESION] = True
        assert values[lesion].min() > np.percentile(values[~lesion], 90)
        assert figures[f"localization/intensity/volume/{volume}/best_dice"] == 1.0


@pytest.mark.parametrize("name", MAPS)
def test_voxel_figures_equal_the_rank_formulas_on_the_written_maps(evaluated, name):
    scans, folder, figures = evaluated
    scores = np.concatenate([np.asarray(written(folder, v, name).dataobj, np.float64).ravel()
                             for v in VOLUMES])
    labels = np.concatenate([truth(scans, v).ravel() for v in VOLUMES])
    key = f"localization/{name}"
    assert figures[f"{key}/voxel_auroc"] == pytest.approx(rank_auroc(scores, labels), abs=1e-6)
    tp, flagged = precision_recall_at_each_score(scores, labels)
    recall_steps = np.diff(tp, prepend=0) / labels.sum()
    assert figures[f"{key}/voxel_auprc"] == pytest.approx(
        float((recall_steps * tp / flagged).sum()), abs=1e-6)
    assert figures[f"{key}/best_dice"] == pytest.approx(
        float((2 * tp / (flagged + labels.sum())).max()), abs=1e-6)
    above = scores > figures[f"{key}/threshold"]
    assert figures[f"{key}/dice"] == pytest.approx(
        2 * (above & labels).sum() / (above.sum() + labels.sum()), abs=1e-6)


def test_volume_scores_have_an_auroc_over_volumes(evaluated):
    _, _, figures = evaluated
    # the intensity baseline ranks both lesion volumes (brightest top 1%) above the healthy
    assert figures["anomaly/volume/intensity_top1pct/auroc"] == 1.0
    assert {f"anomaly/volume/{name}_top1pct/auroc" for name in MAPS if name != "voxel_gaussian"} \
        <= set(figures)


def test_score_writes_maps_of_a_nifti_file_and_of_a_folder_in_their_volumes_space(evaluated):
    scans, folder, _ = evaluated
    run_dir = folder.parents[1]
    out = folder.parents[2] / "scored"
    result = vaereg("score", str(run_dir), str(scans / "test" / "lesion" / "patient00.nii.gz"),
                    str(scans / "test" / "good"), "--out", str(out), cwd=folder)
    assert result.returncode == 0, result.stderr
    for volume in ("patient00", "healthy00", "healthy01"):
        image = nib.load(out / "volume_maps" / f"{volume}_nll.nii.gz")
        assert image.shape == SHAPE and np.array_equal(image.affine, AFFINE)
    rows = (out / "scores.csv").read_text().splitlines()[1:]
    assert len(rows) == 3 * (SHAPE[2] - 2)  # min_foreground leaves the empty end slices out
    assert rows[0].startswith(f"{scans / 'test' / 'lesion' / 'patient00.nii.gz'}#axial=1,")
    written = np.asarray(nib.load(out / "volume_maps" / "patient00_intensity.nii.gz").dataobj)
    assert written[LESION].min() > np.percentile(written, 90)


def test_score_refuses_a_file_that_is_not_a_volume(evaluated, tmp_path):
    _, folder, _ = evaluated
    notes = tmp_path / "notes.txt"
    notes.write_text("not a scan")
    result = vaereg("score", str(folder.parents[1]), str(notes), "--out",
                    str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 2 and "notes.txt: not a NIfTI volume" in result.stderr
    assert not (tmp_path / "out").exists()


def test_an_exported_slice_scorer_records_the_volume_readers_options(evaluated, tmp_path):
    """Its input is a slice cut by vaereg's volume reader, not an image read by Pillow."""
    import torch

    _, folder, _ = evaluated
    run_dir = folder.parents[1]
    result = vaereg("export", str(run_dir), "--format", "torchscript", "--out",
                    str(tmp_path / "scorer.pt"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    files = {"vaereg.json": ""}
    torch.jit.load(str(tmp_path / "scorer.pt"), _extra_files=files)
    preprocessing = json.loads(files["vaereg.json"])["preprocessing"]
    assert preprocessing["volumes"] == "nifti" and "mode" not in preprocessing
    assert preprocessing["options"] == {"axis": "axial", "size": 8, "normalize": "percentile",
                                        "min_foreground": 0.1}
