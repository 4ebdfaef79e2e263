"""benchmarks/lesions.py: the synthetic subjects and lesions are what its docstring says
(checks on arrays from the real template nilearn ships), and the smoke version runs end
to end in a real subprocess (two tiny runs), its table has a row per lesion type and
map, its volume AUROCs agree with the scores.csv files it read, the maps it read overlay
their volumes, and a second call reuses every run and evaluation."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch

from benchmark_tables import parse_table, rank_auroc
from cli_process import assert_refuses_out_below_a_file
from vaereg.evaluation.localization import best_dice, pixel_auprc
from vaereg.experiments.statistics import mean_interval

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import synthetic_lesions  # noqa: E402
from synthetic_lesions import TYPES, LesionSetSize, Template  # noqa: E402

TINY = LesionSetSize(train=3, val=1, test=1, lesioned=1)
SMOKE = ("--seeds", "2", "--recipe", "dropout", "--jobs", "2", "--train-subjects", "3",
         "--val-subjects", "1", "--test-subjects", "1", "--lesioned", "1",
         "--set", "run.epochs=1")
MAPS = ("intensity", "intensity_inverted", "gaussian", "voxel_gaussian",
        "nll", "residual", "hyperintensity", "gradient", "combi", "restoration")


@pytest.fixture(scope="module")
def template() -> Template:
    return Template.load()


def test_the_template_loads_from_the_installed_wheel_without_a_download(tmp_path):
    """nilearn looks for data under NILEARN_DATA and HOME: both empty, no network needed."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from synthetic_lesions import "
            "Template; t = Template.load(); print(t.voxels.shape, int(t.brain.sum()))")
    result = subprocess.run([sys.executable, "-c", code, str(BENCHMARKS)], capture_output=True,
                            text=True, timeout=300,
                            env={"HOME": str(tmp_path), "NILEARN_DATA": str(tmp_path / "d"),
                                 "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("(99, 117, 95)")
    assert list(tmp_path.iterdir()) == []


def test_a_subject_is_a_warped_copy_of_the_brain_inside_its_mask(template):
    rng = np.random.default_rng(0)
    shape, _ = template.grid()
    first, brain = synthetic_lesions.warped(template, rng)
    second, _ = synthetic_lesions.warped(template, rng)
    assert first.shape == shape and brain.shape == shape
    assert (first[~brain] == 0).all() and (first[brain] > 0).mean() > 0.99
    # about the template's brain volume (scalings within 8% per axis)
    template_ml = template.brain.sum() * 8 / 1000
    assert 0.75 < brain.sum() * synthetic_lesions.SPACING ** 3 / 1000 / template_ml < 1.3
    assert np.abs(first - second).mean() > 0.01  # each subject its own warp


@pytest.mark.parametrize("kind", TYPES)
def test_lesions_change_their_masked_voxels_in_their_direction(template, kind):
    rng = np.random.default_rng(3)
    voxels, brain = synthetic_lesions.warped(template, rng)
    lesioned, mask = synthetic_lesions.with_lesions(voxels, brain, kind, rng)
    assert mask.any() and not mask[~brain].any()
    assert (lesioned[~brain] == voxels[~brain]).all()
    percentile, low, high = synthetic_lesions.TARGETS[kind]
    reference = np.percentile(voxels[brain], percentile)
    before, after = voxels[mask], lesioned[mask]
    # every masked voxel is at least half way from its value to the target intensity
    if kind == "hyperintense":  # the target is brighter than 99% of the normal brain
        assert (after >= (before + low * reference) / 2 - 1e-5).all()
        assert after.max() >= low * reference
    else:  # darker than 95% of it
        assert (after <= (before + high * reference) / 2 + 1e-5).all()
        assert after.min() <= high * reference
    # no lesion is wider than its largest semi-axis (and roughness) allows
    radius = synthetic_lesions.RADII[1] * (1 + 3 * synthetic_lesions.ROUGHNESS)
    assert mask.sum() <= synthetic_lesions.MAX_LESIONS * 4 / 3 * np.pi * radius ** 3


def test_the_same_seed_builds_the_same_files_and_flips_every_other_subject(tmp_path):
    for name in ("a", "b"):
        synthetic_lesions.build(tmp_path / name, TINY)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.nii.gz"))
    assert len(files) == 3 + 1 + 1 + 2 * len(TYPES)  # volumes, and a mask per lesioned one
    assert all(np.array_equal(nib.load(tmp_path / "a" / f).get_fdata(),
                              nib.load(tmp_path / "b" / f).get_fdata()) for f in files)
    assert synthetic_lesions.existing_size(tmp_path / "a") == TINY
    orientations = {nib.aff2axcodes(nib.load(tmp_path / "a" / f).affine)
                    for f in files if "ground_truth" not in str(f)}
    assert orientations == {("R", "A", "S"), ("L", "A", "S")}
    for kind in TYPES:
        volume = next((tmp_path / "a" / "test" / kind).glob("*.nii.gz"))
        mask = tmp_path / "a" / "ground_truth" / kind / volume.name.replace(".nii.gz",
                                                                            "_mask.nii.gz")
        assert np.array_equal(nib.load(mask).affine, nib.load(volume).affine)


def benchmark(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(BENCHMARKS / "lesions.py"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=1200)


def volume_auroc(folder: Path, name: str, kind: str) -> float:
    """From scores.csv: the largest slice ``<map>_top1pct`` per volume, ``kind`` vs good."""
    with (folder / "scores.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    best: dict[str, float] = {}
    for row in rows:
        source = row["path"].split("#")[0]
        best[source] = max(best.get(source, -np.inf), float(row[f"{name}_top1pct"]))
    of = {k: [v for s, v in best.items() if Path(s).parent.name == k] for k in ("good", kind)}
    return rank_auroc(of["good"], of[kind])


def voxel_figure(folder: Path, data: Path, name: str, kind: str, compute) -> float:
    """From the written NIfTI maps and masks: ``compute`` over every voxel of the healthy
    test volumes and those with ``kind`` lesions."""
    maps, masks = [], []
    for volume in sorted((data / "test" / "good").glob("*.nii.gz")) + sorted(
            (data / "test" / kind).glob("*.nii.gz")):
        stem = volume.name.replace(".nii.gz", "")
        maps.append(np.asarray(nib.load(folder / "volume_maps" / f"{stem}_{name}.nii.gz")
                               .dataobj, dtype=np.float32).ravel())
        mask = data / "ground_truth" / kind / f"{stem}_mask.nii.gz"
        masks.append(np.asarray(nib.load(mask).dataobj).ravel() > 0 if mask.exists()
                     else np.zeros(maps[-1].shape, bool))
    as_map = lambda arrays: torch.from_numpy(np.concatenate(arrays)).reshape(1, 1, -1)
    return compute(as_map(maps), as_map(masks))


def test_smoke_benchmark_writes_the_table_from_maps_that_overlay_the_scans(tmp_path):
    out = tmp_path / "bench"
    first = benchmark(*SMOKE, "--out", str(out), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    report = (out / "lesions.md").read_text()
    assert report in first.stdout and "Shrunk" in report and "run.epochs=1" in report
    assert "not a clinical result" in report
    folders = [Path(f) for f in
               json.loads((out / "lesions.json").read_text())["eval_folders"]["dropout"]]
    assert len(folders) == 2

    rows = parse_table(report, "| lesion | map | recipe |")
    assert [(row["lesion"], row["map"]) for row in rows] == [
        (kind, name) for kind in sorted(TYPES) for name in MAPS]
    for row in rows:
        if row["map"] == "voxel_gaussian":
            assert row["volume AUROC"] == "n/a"
            continue
        estimate = mean_interval([volume_auroc(f, row["map"], row["lesion"]) for f in folders])
        assert row["volume AUROC"] == (f"{estimate.mean:.3f} [{estimate.low:.3f}, "
                                       f"{estimate.high:.3f}]"), row
        for figure, compute in (("voxel AUPRC", pixel_auprc), ("best Dice", best_dice)):
            estimate = mean_interval([voxel_figure(f, out / "data", row["map"], row["lesion"],
                                                   compute) for f in folders])
            assert row[figure] == (f"{estimate.mean:.3f} [{estimate.low:.3f}, "
                                   f"{estimate.high:.3f}]"), (figure, row)
    assert len(parse_table(report, "| lesion | figure |")) == len(TYPES) * 3

    volumes = sorted((out / "data" / "test").glob("*/*.nii.gz"))
    assert len(volumes) == 1 + len(TYPES)
    for folder in folders:
        for volume in volumes:
            scan = nib.load(volume)
            for name in MAPS:
                written = nib.load(folder / "volume_maps" /
                                   volume.name.replace(".nii.gz", f"_{name}.nii.gz"))
                assert written.shape == scan.shape
                assert np.array_equal(written.affine, scan.affine)

    stamps = {f: (f / "eval.json").stat().st_mtime_ns for f in folders}
    versions = sorted(out.glob("runs/*/seed_*/version_*"))
    second = benchmark(*SMOKE, "--out", str(out), cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert (out / "lesions.md").read_text() == report
    assert sorted(out.glob("runs/*/seed_*/version_*")) == versions
    assert all((f / "eval.json").stat().st_mtime_ns == stamp for f, stamp in stamps.items())


def test_help_lists_the_options_and_writes_nothing(tmp_path):
    result = benchmark("--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for option in ("--seeds", "--out", "--recipe", "--train-subjects", "--lesioned", "--jobs",
                   "--set"):
        assert option in result.stdout
    assert list(tmp_path.iterdir()) == []


def test_an_output_folder_that_cannot_be_made_exits_2_naming_it(tmp_path):
    assert_refuses_out_below_a_file(benchmark, tmp_path)


def test_a_lesion_set_of_another_size_in_out_is_refused(tmp_path):
    synthetic_lesions.build(tmp_path / "bench" / "data", TINY)
    result = benchmark("--out", str(tmp_path / "bench"), "--train-subjects", "4", cwd=tmp_path)
    assert result.returncode == 2
    assert "holds a lesion set" in result.stderr and "Traceback" not in result.stderr
