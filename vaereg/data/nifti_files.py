"""Reading NIfTI files (nibabel) into :class:`Volume` s, refusing bad ones by name.

A truncated or corrupt file, a 4-D series, or a mask whose shape or affine differs from
its volume's stops with the file's name and what to do (exit 2), never a traceback.
"""
from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from vaereg.core.common.errors import VaeregError, first_line
from vaereg.data.volumes import Volume, nib  # nib: imported there, with the install hint

SUFFIXES = (".nii.gz", ".nii")
MASK_SUFFIX = "_mask.nii.gz"
#: what nibabel and gzip raise for a file that is not NIfTI, or is cut short or corrupt
READ_ERRORS = (OSError, EOFError, ValueError, zlib.error, nib.filebasedimages.ImageFileError)
#: affines of a volume and its mask may differ by rounding in the file, not more
AFFINE_TOLERANCE = 1e-3


def is_nifti(path: Path) -> bool:
    return path.name.endswith(SUFFIXES)


def nifti_stem(path: Path) -> str:
    """The name without ``.nii`` or ``.nii.gz``."""
    for suffix in SUFFIXES:
        if path.name.endswith(suffix):
            return path.name[:-len(suffix)]
    return path.stem


def mask_name(volume: Path) -> str:
    """``<stem>_mask.nii.gz``: the mask file of a volume, in ground_truth/<type>/."""
    return nifti_stem(volume) + MASK_SUFFIX


def three_d(data: np.ndarray, source: str) -> np.ndarray:
    """``data`` as a 3-D volume (a 4-D one of a single volume is squeezed); a series of
    volumes is refused, saying how to keep one."""
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim == 4:
        raise VaeregError(
            f"{source} is 4-D ({'x'.join(map(str, data.shape))}): a series of "
            f"{data.shape[3]} volumes (a time series or diffusion directions); vaereg reads "
            f"3-D volumes. Keep the one you mean, e.g. volume k with nibabel: "
            f"nib.save(nib.load(path).slicer[..., k], 'volume_k.nii.gz') (or FSL's fslroi)")
    if data.ndim != 3:
        raise VaeregError(f"{source} has {data.ndim} dimensions "
                          f"({'x'.join(map(str, data.shape))}); expected a 3-D volume")
    return data


def read_nifti(path: Path) -> Volume:
    """The volume in ``path``, in canonical orientation."""
    try:
        image = nib.load(path)
        data = np.asarray(image.dataobj, dtype=np.float32)
    except READ_ERRORS as error:
        raise VaeregError(f"{path}: not a readable NIfTI volume ({first_line(error)}); the "
                          f"file may be truncated or corrupt: replace or remove it") from None
    return Volume.of(str(path), three_d(data, str(path)), image.affine)


def read_mask(path: Path, volume: Volume) -> np.ndarray:
    """The mask in ``path`` (non-zero = anomalous) in ``volume``'s canonical orientation;
    one of another shape or affine than its volume is refused."""
    mask = read_nifti(path)
    placement, own = volume.placement, mask.placement
    if own.shape != placement.shape:
        raise VaeregError(f"{path} is {'x'.join(map(str, own.shape))}, but its volume "
                          f"{placement.source} is {'x'.join(map(str, placement.shape))}; a "
                          f"mask must have its volume's shape")
    if not np.allclose(own.affine, placement.affine, atol=AFFINE_TOLERANCE):
        raise VaeregError(f"{path} has another affine than its volume {placement.source} "
                          f"(mask {own.affine[:3].round(3).tolist()}, volume "
                          f"{placement.affine[:3].round(3).tolist()}); a mask must lie on its "
                          f"volume's voxel grid (resample it onto the volume)")
    return mask.data > 0
