"""data.name = "nifti": real NIfTI files written with nibabel, read back in canonical
orientation, normalized on their foreground, sliced, split by volume; bad files exit 2."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import tomli_w
import torch

from vaereg.data.nifti import Nifti
from vaereg.data.volume_folder import VolumeFolderOptions, row_position
from vaereg.testing import tiny_recipe

from cli_process import in_process
from volume_fixtures import AFFINE, LESION, SHAPE, nifti_tree, save, tissue


def dataset(root: Path, **options) -> Nifti:
    return Nifti(VolumeFolderOptions(root=str(root), **options))


def test_slices_come_in_canonical_orientation_whatever_the_files_layout(tmp_path):
    data = np.random.default_rng(0).uniform(0.1, 1, SHAPE).astype(np.float32)
    # file axes (i, j, k) run to world (-x, -y, +z) here, and (y, z, x) in the permuted file
    permuted = np.array([[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1]], float)
    for name, affine, canonical in (
            ("flipped", AFFINE, data[::-1, ::-1, :]),
            ("permuted", permuted, np.transpose(data, (2, 0, 1)))):
        root = tmp_path / name
        save(root / "v.nii.gz", data, affine)
        for axis, across in (("sagittal", 0), ("coronal", 1), ("axial", 2)):
            x = dataset(root, axis=axis, normalize="none", test_fraction=1,
                        val_fraction=0).load(0).test.x
            expected = torch.from_numpy(np.moveaxis(canonical, across, 0).copy())
            assert torch.equal(x[:, 0], expected), (name, axis)


def test_percentile_scales_the_foreground_and_zeroes_the_background(tmp_path):
    data = tissue(3)
    save(tmp_path / "v.nii.gz", data)
    x = dataset(tmp_path, axis="sagittal", test_fraction=1).load(0).test.x[:, 0]
    canonical = torch.from_numpy(data[::-1, ::-1, :].copy())
    foreground = canonical > 0
    low, high = np.percentile(data[data > 0], [1, 99])
    expected = ((canonical - low) / (high - low)).clamp(0, 1)
    assert torch.allclose(x[foreground], expected[foreground], atol=1e-5)
    assert bool((x[~foreground] == 0).all())
    assert x.max() == 1 and x[foreground].min() == 0


def test_zscore_standardizes_the_foreground_and_maps_three_sd_to_0_and_1(tmp_path):
    data = tissue(4)
    data[5, 5, 4] = 1000  # beyond 3 sd: clipped to 1
    save(tmp_path / "v.nii.gz", data)
    x = dataset(tmp_path, axis="sagittal", normalize="zscore",
                test_fraction=1).load(0).test.x[:, 0]
    canonical = torch.from_numpy(data[::-1, ::-1, :].copy()).double()
    foreground = canonical > 0
    values = data[data > 0].astype(np.float64)
    z = (canonical - values.mean()) / values.std()
    expected = ((z + 3) / 6).clamp(0, 1)
    assert torch.allclose(x[foreground].double(), expected[foreground], atol=1e-5)
    assert x.max() == 1 and bool((x[~foreground] == 0).all())


def test_slices_with_too_little_foreground_are_left_out(tmp_path):
    save(tmp_path / "v.nii.gz", tissue(5))  # axial slices 0 and 7 are all background
    all_slices = dataset(tmp_path, test_fraction=1).load(0).test
    kept = dataset(tmp_path, test_fraction=1, min_foreground=0.05).load(0).test
    assert len(all_slices) == SHAPE[2] and len(kept) == SHAPE[2] - 2


def test_slices_are_resized_after_padding_square(tmp_path):
    save(tmp_path / "v.nii.gz", tissue(6))
    x = dataset(tmp_path, axis="axial", size=24, test_fraction=1).load(0).test.x
    assert x.shape == (SHAPE[2], 1, 24, 24)
    # 12x10 padded to 12x12: one background column each side, 2 pixels at size 24
    assert bool((x[..., :, :2] == 0).all()) and bool((x[..., :, -2:] == 0).all())


def test_splits_are_disjoint_by_volume_and_seeded(tmp_path):
    for i in range(10):
        save(tmp_path / f"s{i}.nii.gz", tissue(i))
    options = {"val_fraction": 0.2, "test_fraction": 0.2}

    def volumes_of(seed):
        rows = dataset(tmp_path, **options).split_rows(seed)
        return {name: {row_position(label)[0] for label in split.rows}
                for name, split in rows.items()}

    first = volumes_of(0)
    assert [len(first[name]) for name in ("train", "val", "test")] == [6, 2, 2]
    assert not (first["train"] & first["val"] or first["train"] & first["test"]
                or first["val"] & first["test"])
    assert volumes_of(0) == first and volumes_of(1) != first


def test_whole_volumes_train_as_3d_inputs(tmp_path):
    nifti_tree(tmp_path)
    data = dataset(tmp_path, volumes=True, size=8)
    splits = data.load(0)
    assert data.input_shape == (1, 8, 8, 8)
    assert splits.train.x.shape == (5, 1, 8, 8, 8) and len(splits.test) == 2


def test_lesion_volumes_come_with_their_masks_on_the_same_slices(tmp_path):
    nifti_tree(tmp_path)
    defects = dataset(tmp_path, axis="axial").anomalies(0)
    masks = defects.masks.read()
    assert len(defects.split) == 2 * SHAPE[2] and set(defects.kinds) == {"lesion"}
    x = defects.split.x[:, 0]
    assert bool((x[masks] == 1).all())  # the lesion is the brightest tissue
    lesion_slices = {row_position(p)[1] for p, m in zip(defects.paths, masks) if m.any()}
    assert lesion_slices == set(range(LESION[2].start, LESION[2].stop))
    assert len(defects.normal_paths) == 2 * SHAPE[2]


def four_d(root: Path) -> str:
    nifti_tree(root)
    save(root / "train" / "good" / "series.nii.gz", np.zeros((*SHAPE, 3), np.float32))
    return "train/good/series.nii.gz is 4-D (12x10x8x3): a series of 3 volumes"


def truncated(root: Path) -> str:
    nifti_tree(root)
    path = root / "test" / "good" / "healthy00.nii.gz"
    path.write_bytes(path.read_bytes()[:300])
    return "test/good/healthy00.nii.gz: not a readable NIfTI volume"


def mask_of_another_shape(root: Path) -> str:
    nifti_tree(root)
    save(root / "ground_truth" / "lesion" / "patient01_mask.nii.gz", np.zeros((12, 10, 7)))
    return "ground_truth/lesion/patient01_mask.nii.gz is 12x10x7, but its volume"


def mask_with_another_affine(root: Path) -> str:
    nifti_tree(root)
    save(root / "ground_truth" / "lesion" / "patient00_mask.nii.gz", np.zeros(SHAPE),
         np.diag([1.0, 1.0, 1.0, 1.0]))
    return "ground_truth/lesion/patient00_mask.nii.gz has another affine than its volume"


def empty(root: Path) -> str:
    (root / "train" / "good").mkdir(parents=True)
    (root / "test" / "good").mkdir(parents=True)
    return "no NIfTI volumes in"


def not_nifti(root: Path) -> str:
    nifti_tree(root)
    (root / "train" / "good" / "notes.txt").write_text("scanner notes")
    return "train/good/notes.txt: not a NIfTI volume"


def not_in_range(root: Path) -> str:
    nifti_tree(root)
    return "train/good/subject00.nii.gz has values from 0 to "


CASES = {"4-D volume": (four_d, {}), "truncated volume": (truncated, {}),
         "mask of another shape": (mask_of_another_shape, {}),
         "mask with another affine": (mask_with_another_affine, {}),
         "empty folder": (empty, {}), "not a NIfTI file": (not_nifti, {}),
         "values outside [0, 1] without normalization": (not_in_range, {"normalize": "none"})}


def write_recipe(tmp_path: Path, sections: dict | None = None, **data) -> Path:
    table = tiny_recipe(**{"run": {"epochs": 1, "out_dir": str(tmp_path / "runs")},
                           "data": {"name": "nifti", "batch_size": 4, "size": 8, **data},
                           "model": {"backbone": "conv", "hidden_dims": [4, 8]},
                           **(sections or {})})
    (tmp_path / "recipe.toml").write_text(tomli_w.dumps(table))
    return tmp_path / "recipe.toml"


def run_cli(tmp_path: Path, *args: str, sections: dict | None = None,
            **data) -> subprocess.CompletedProcess:
    write_recipe(tmp_path, sections, **data)
    return subprocess.run([sys.executable, "-m", "vaereg", "run", "recipe.toml", "--quiet",
                           *args], cwd=tmp_path, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("case", CASES)
def test_bad_volumes_exit_2_naming_the_file(case, tmp_path):
    make, data = CASES[case]
    expected = make(tmp_path / "scans")
    result = in_process("run", write_recipe(tmp_path, root=str(tmp_path / "scans"), **data),
                        "--quiet")
    assert isinstance(result.exception, SystemExit) and result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert expected in result.stderr


def test_a_4d_volume_message_says_how_to_keep_one(tmp_path):
    four_d(tmp_path / "scans")
    result = in_process("run", write_recipe(tmp_path, root=str(tmp_path / "scans")), "--quiet")
    assert "nib.load(path).slicer[..., k]" in result.stderr


def test_a_run_trains_on_slices_of_a_nifti_tree(tmp_path):
    nifti_tree(tmp_path / "scans")
    result = run_cli(tmp_path, root=str(tmp_path / "scans"), min_foreground=0.1)
    assert result.returncode == 0, result.stderr
    metrics = next((tmp_path / "runs").rglob("metrics.json"))
    assert "test/neg_elbo" in metrics.read_text()


def test_a_run_trains_on_whole_volumes_with_conv3d_and_eval_and_export_say_they_need_slices(
        tmp_path):
    nifti_tree(tmp_path / "scans")
    result = run_cli(tmp_path, root=str(tmp_path / "scans"), volumes=True,
                     sections={"model": {"backbone": "conv3d", "hidden_dims": [2, 4]},
                               "logging": {"images": False}})
    assert result.returncode == 0, result.stderr
    assert "test/neg_elbo" in next((tmp_path / "runs").rglob("metrics.json")).read_text()
    run_dir = next((tmp_path / "runs").glob("*/version_0"))
    for command, folder in ((["eval", "--anomaly"], "eval"), (["export"], "export")):
        refused = subprocess.run([sys.executable, "-m", "vaereg", command[0], str(run_dir),
                                  *command[1:]],
                                 cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert refused.returncode == 2 and "Traceback" not in refused.stderr
        assert "trained on whole volumes (data.volumes = true)" in refused.stderr
        assert not (run_dir / folder).exists()


def test_defects_in_the_validation_folder_are_refused(tmp_path):
    """Only image_folder scores validation defects (a sweep's anomaly objective); a volume
    tree with val/<type>/ is refused by name rather than read without them."""
    from vaereg.core.common.errors import VaeregError

    root = nifti_tree(tmp_path)
    save(root / "val" / "good" / "subject90.nii.gz", tissue(90))
    save(root / "val" / "lesion" / "patient90.nii.gz", tissue(91))
    with pytest.raises(VaeregError, match=r"val/lesion: in the MVTec layout of .*volumes val/ "
                                          r"holds normal ones only"):
        dataset(root).load(0)
