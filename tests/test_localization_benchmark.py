"""benchmarks/localization.py: the synthetic defects are what its docstring says (unit
checks on arrays), and the smoke version runs end to end in a real subprocess (real
Fashion-MNIST, one epoch, a two-point sweep), its table agreeing with the eval.json and
scores.csv files it read, and a second call reusing every run and evaluation."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmark_tables import parse_table, rank_auroc
from cli_process import assert_refuses_out_below_a_file
from vaereg.experiments.statistics import mean_interval

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import synthetic_defects  # noqa: E402
from synthetic_defects import CHANGED, add_defect  # noqa: E402

SMOKE = ("--seeds", "2", "--recipe", "swept", "--sweep-trials", "2", "--jobs", "2",
         "--train-images", "100", "--val-images", "30", "--test-images", "30", "--defects", "6",
         "--set", "run.epochs=1")


def garment(seed: int = 0) -> np.ndarray:
    """A 28x28 uint8 'garment': a mid-grey block with texture on a black background."""
    rng = np.random.default_rng(seed)
    image = np.zeros((28, 28), np.uint8)
    image[4:24, 6:22] = rng.integers(60, 200, (20, 16))
    return image


@pytest.mark.parametrize("kind", synthetic_defects.KINDS)
def test_each_defect_masks_exactly_the_pixels_it_changed(kind):
    image = garment()
    rng = np.random.default_rng(1)
    drawn = None
    while drawn is None:
        drawn = add_defect(image, kind, rng)
    defective, mask = drawn
    changed = np.abs(defective.astype(int) - image.astype(int))
    assert (mask == (changed >= CHANGED)).all()
    assert mask.sum() >= synthetic_defects.MIN_MASK
    rows, cols = np.nonzero(changed)
    assert np.ptp(rows) < synthetic_defects.SIDES[1] and np.ptp(cols) < synthetic_defects.SIDES[1]
    if kind == "brighter":
        assert (defective[mask] > image[mask]).all()
    if kind == "darker":
        assert (defective[mask] < image[mask]).all()


def test_a_pasted_patch_is_a_copy_of_another_place_in_the_same_image():
    image = garment(2)
    rng = np.random.default_rng(3)
    drawn = None
    while drawn is None:
        drawn = add_defect(image, "pasted", rng)
    defective, _ = drawn
    rows, cols = np.nonzero(defective != image)
    top, left = rows.min(), cols.min()
    patch = defective[top:rows.max() + 1, left:cols.max() + 1]
    h, w = patch.shape
    sources = [(r, c) for r in range(29 - h) for c in range(29 - w)
               if (r, c) != (top, left) and (image[r:r + h, c:c + w] == patch).all()]
    assert sources, "the pasted pixels are found elsewhere in the original image"


def test_the_same_seed_builds_the_same_files(tmp_path):
    size = synthetic_defects.DefectSetSize(train=5, val=3, test=3, defects=2, seed=4)
    for name in ("a", "b"):
        synthetic_defects.build(tmp_path / name, size)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.png"))
    assert len(files) == 5 + 3 + 3 + 2 * len(synthetic_defects.KINDS) * 2
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
               for f in files)
    assert synthetic_defects.existing_size(tmp_path / "a") == size


def benchmark(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(BENCHMARKS / "localization.py"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=1200)


def expected_figures(folder: Path, name: str, kind: str) -> dict[str, float]:
    import csv

    metrics = json.loads((folder / "eval.json").read_text())["metrics"]
    with (folder / "scores.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    scores = {k: [float(r[f"{name}_top1pct"]) for r in rows if Path(r["path"]).parent.name == k]
              for k in ("good", kind)}
    return {"pixel AUPRC": metrics[f"localization/{name}/{kind}/pixel_auprc"],
            "best Dice": metrics[f"localization/{name}/{kind}/best_dice"],
            "image AUROC": rank_auroc(scores["good"], scores[kind])}


def test_smoke_benchmark_table_matches_the_evaluations_and_a_second_call_reuses_them(tmp_path):
    out = tmp_path / "bench"
    first = benchmark(*SMOKE, "--out", str(out), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    report = (out / "localization.md").read_text()
    assert report in first.stdout and "Shrunk" in report and "run.epochs=1" in report
    folders = {recipe: [Path(f) for f in paths] for recipe, paths in
               json.loads((out / "localization.json").read_text())["eval_folders"].items()}
    assert list(folders) == ["swept"]
    assert all(len(paths) == 2 and all((p / "eval.json").is_file() for p in paths)
               for paths in folders.values())

    rows = parse_table(report, "| defect | map | recipe |")
    kinds = sorted(synthetic_defects.KINDS)
    assert sorted({row["defect"] for row in rows}) == kinds
    assert len(rows) == len(kinds) * (3 + 6)  # the baselines, then the recipe's six maps
    means = {}
    for row in rows:
        recipe = "swept" if row["recipe"] == "baseline" else row["recipe"]
        per_seed = [expected_figures(f, row["map"], row["defect"]) for f in folders[recipe]]
        for figure in ("pixel AUPRC", "best Dice", "image AUROC"):
            estimate = mean_interval([seed[figure] for seed in per_seed])
            assert row[figure] == (f"{estimate.mean:.3f} [{estimate.low:.3f}, "
                                   f"{estimate.high:.3f}]"), (row, figure)
            means[row["defect"], row["map"], row["recipe"], figure] = estimate.mean

    verdicts = parse_table(report, "| defect | figure |")
    assert len(verdicts) == len(kinds) * 3
    for verdict in verdicts:
        figure = verdict["figure"]
        candidates = [row for row in rows if row["defect"] == verdict["defect"]
                      and row["recipe"] != "baseline"]
        best = max(candidates, key=lambda row: means[row["defect"], row["map"], row["recipe"],
                                                     figure])
        shown = verdict["best vaereg map (recipe)"]
        assert shown == f"{best[figure]} {best['map']} ({best['recipe']})"

    versions = sorted(out.glob("runs/*/seed_*/version_*"))
    assert len(versions) == 2
    stamps = {f: (f / "eval.json").stat().st_mtime_ns for fs in folders.values() for f in fs}
    second = benchmark(*SMOKE, "--out", str(out), cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert (out / "localization.md").read_text() == report
    assert sorted(out.glob("runs/*/seed_*/version_*")) == versions
    assert all((f / "eval.json").stat().st_mtime_ns == stamp for f, stamp in stamps.items())


def test_help_lists_the_options_and_writes_nothing(tmp_path):
    result = benchmark("--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for option in ("--seeds", "--out", "--recipe", "--sweep-trials", "--train-images",
                   "--defects", "--jobs", "--set"):
        assert option in result.stdout
    assert list(tmp_path.iterdir()) == []


def test_an_output_folder_that_cannot_be_made_exits_2_naming_it(tmp_path):
    assert_refuses_out_below_a_file(benchmark, tmp_path)


def test_a_defect_set_of_another_size_in_out_is_refused(tmp_path):
    synthetic_defects.build(tmp_path / "bench" / "data",
                            synthetic_defects.DefectSetSize(train=5, val=3, test=3, defects=1))
    result = benchmark("--out", str(tmp_path / "bench"), "--train-images", "6", cwd=tmp_path)
    assert result.returncode == 2
    assert "holds a defect set" in result.stderr and "Traceback" not in result.stderr
