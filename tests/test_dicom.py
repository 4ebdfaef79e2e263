"""data.name = "dicom": real series written with pydicom under shuffled file names, read
back in patient-position order with the rescale applied; bad series exit 2 naming the
folder; `vaereg score` takes a series folder."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import tomli_w

from vaereg.data.dicom import Dicom, DicomOptions
from vaereg.data.dicom_series import read_series
from vaereg.testing import tiny_recipe

from cli_process import in_process
from dicom_fixtures import INTERCEPT, SLOPE, write_series

SHAPE = (6, 8, 8)  # slices, rows, columns


def raw(seed: int) -> np.ndarray:
    pixels = np.zeros(SHAPE, np.uint16)
    pixels[1:5, 1:7, 1:7] = np.random.default_rng(seed).integers(200, 400, (4, 6, 6))
    return pixels


def test_slices_come_back_in_position_order_with_the_rescale_applied(tmp_path):
    pixels = np.arange(np.prod(SHAPE), dtype=np.uint16).reshape(SHAPE) + 10
    volume = read_series(write_series(tmp_path / "series", pixels, seed=3))
    # file layout: volume[i, j, k] = slice k's pixel (row j, column i); LPS -> RAS flips
    # the first two axes, which canonical orientation turns back
    expected = np.transpose(pixels, (2, 1, 0))[::-1, ::-1, :] * SLOPE + INTERCEPT
    assert np.array_equal(volume.data, expected.astype(np.float32))
    assert volume.placement.shape == (8, 8, 6)
    assert np.allclose(np.diag(volume.placement.affine), [-1.0, -1.5, 3.0, 1.0])


def test_a_window_clips_to_center_plus_minus_half_the_width(tmp_path):
    volume = read_series(write_series(tmp_path / "series", raw(0)), window=(500.0, 200.0))
    assert volume.data.min() == 400 and volume.data.max() == 600


def dicom_tree(root: Path) -> Path:
    for i in range(5):
        write_series(root / "train" / "good" / f"subject{i}", raw(i), seed=i)
    write_series(root / "test" / "good" / "healthy0", raw(10), seed=10)
    write_series(root / "test" / "tumour" / "patient0", raw(20), seed=20)
    return root


def test_a_tree_of_series_loads_as_slices_split_by_series(tmp_path):
    data = Dicom(DicomOptions(root=str(dicom_tree(tmp_path)), size=8, val_fraction=0.2))
    splits, defects = data.load(0), data.anomalies(0)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (24, 6, 6)
    assert len(defects.split) == 6 and set(defects.kinds) == {"tumour"}


def two_series(root: Path) -> str:
    dicom_tree(root)
    write_series(root / "train" / "good" / "subject0", raw(7), seed=99)  # a second UID
    return "train/good/subject0 holds 2 series (SeriesInstanceUID"


def missing_pixels(root: Path) -> str:
    dicom_tree(root)
    write_series(root / "test" / "good" / "healthy1", raw(1), skip_pixels=2)
    return "test/good/healthy1: IM"


def mixed_sizes(root: Path) -> str:
    dicom_tree(root)
    write_series(root / "train" / "good" / "subject9", raw(1), sizes={3: (8, 6)})
    return "train/good/subject9: slices of different sizes (8x6, 8x8)"


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vaereg", *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)


def write_recipe(tmp_path: Path, root: Path) -> None:
    table = tiny_recipe(run={"epochs": 1, "out_dir": str(tmp_path / "runs")},
                        data={"name": "dicom", "root": str(root), "size": 8, "batch_size": 4},
                        model={"backbone": "conv", "hidden_dims": [4, 8]})
    (tmp_path / "recipe.toml").write_text(tomli_w.dumps(table))


@pytest.mark.parametrize("make", [two_series, missing_pixels, mixed_sizes])
def test_bad_series_exit_2_naming_the_folder(make, tmp_path):
    expected = make(tmp_path / "scans")
    write_recipe(tmp_path, tmp_path / "scans")
    result = in_process("run", tmp_path / "recipe.toml", "--quiet")
    assert isinstance(result.exception, SystemExit) and result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert expected in result.stderr


def test_score_takes_a_series_folder_and_writes_maps_on_its_grid(tmp_path):
    root = dicom_tree(tmp_path / "scans")
    write_recipe(tmp_path, root)
    assert run_cli(tmp_path, "run", "recipe.toml", "--quiet").returncode == 0
    run_dir = next((tmp_path / "runs").glob("*/version_0"))
    series = root / "test" / "tumour" / "patient0"
    result = run_cli(tmp_path, "score", str(run_dir), str(series), "--out", "scored")
    assert result.returncode == 0, result.stderr
    written = nib.load(tmp_path / "scored" / "volume_maps" / "patient0_intensity.nii.gz")
    volume = read_series(series)
    assert written.shape == volume.placement.shape
    assert np.array_equal(written.affine, volume.placement.affine)
    rows = (tmp_path / "scored" / "scores.csv").read_text().splitlines()[1:]
    assert len(rows) == SHAPE[0] and rows[0].startswith(f"{series}#axial=0,")
