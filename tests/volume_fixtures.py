"""Small real NIfTI volumes and trees of them, written with nibabel: a box of tissue
(uniform 100-200) on a zero background, lesions as bright boxes with their masks."""
from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np

#: a file layout that is not canonical: x and y flipped (LPS, as DICOM stores), 2x2x3 mm
AFFINE = np.diag([-2.0, -2.0, 3.0, 1.0])
SHAPE = (12, 10, 8)
#: the lesion box of every anomalous volume, in the file's voxels
LESION = (slice(4, 7), slice(3, 6), slice(3, 5))
LESION_VALUE = 1000.0


def tissue(seed: int, shape: tuple[int, ...] = SHAPE) -> np.ndarray:
    data = np.zeros(shape, np.float32)
    inner = tuple(slice(1, side - 1) for side in shape)
    data[inner] = np.random.default_rng(seed).uniform(100, 200, [side - 2 for side in shape])
    return data


def save(path: Path, data: np.ndarray, affine: np.ndarray = AFFINE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(data, affine), path)
    return path


def nifti_tree(root: Path, *, train: int = 6, good: int = 2, lesions: int = 2,
               masks: bool = True, shape: tuple[int, ...] = SHAPE,
               affine: np.ndarray = AFFINE) -> Path:
    """The MVTec layout: train/good, test/good, test/lesion with ground_truth masks."""
    for i in range(train):
        save(root / "train" / "good" / f"subject{i:02d}.nii.gz", tissue(i, shape), affine)
    for i in range(good):
        save(root / "test" / "good" / f"healthy{i:02d}.nii.gz", tissue(100 + i, shape), affine)
    for i in range(lesions):
        data, mask = tissue(200 + i, shape), np.zeros(shape, np.uint8)
        data[LESION], mask[LESION] = LESION_VALUE, 1
        save(root / "test" / "lesion" / f"patient{i:02d}.nii.gz", data, affine)
        if masks:
            save(root / "ground_truth" / "lesion" / f"patient{i:02d}_mask.nii.gz", mask, affine)
    return root
