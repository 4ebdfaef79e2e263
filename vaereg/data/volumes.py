"""Scanner volumes as the model reads them, and the way back to the scanner's space.

A volume (a NIfTI file or a DICOM series) is turned to the closest canonical (RAS+)
orientation, so axis 0 runs left to right (sagittal slices across it), axis 1 posterior
to anterior (coronal) and axis 2 inferior to superior (axial), whatever the file's own
layout. Its intensities are normalized on its foreground (the voxels above the volume's
minimum: the background of a skull-stripped MRI is 0, air in CT the lowest value), and
its slices (or the whole volume) are padded to a square (cube) with background and
resized to ``size``. :func:`to_scanner_space` undoes each step for a map computed on
that grid, so the map has the file's shape and lines up with its affine.
"""
from __future__ import annotations

from typing import Literal

import attrs
import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F

from vaereg.core.common.errors import VaeregError

try:
    import nibabel as nib
except ImportError:  # the medical extra is optional: only volume datasets need it
    raise VaeregError("volumes (data.name = \"nifti\" or \"dicom\") need nibabel: "
                      "pip install 'vaereg[medical]'") from None

#: the canonical axis each slicing direction cuts across
AXES = {"sagittal": 0, "coronal": 1, "axial": 2}
Normalization = Literal["percentile", "zscore", "none"]
#: z-scores are clipped to +-ZSCORE_CLIP and mapped to [0, 1]: the likelihoods model [0, 1]
ZSCORE_CLIP = 3.0
PERCENTILES = (1.0, 99.0)


@attrs.frozen
class Placement:
    """Where a volume's maps go back to: its ``source`` (file or series folder), the
    file's ``affine`` and ``shape``, and the ``canonical_shape`` the model's grid came from."""

    source: str
    affine: np.ndarray = attrs.field(eq=False)
    shape: tuple[int, ...]
    canonical_shape: tuple[int, ...]


@attrs.frozen(eq=False)
class Volume:
    """``data``: the voxels in canonical orientation (float32); ``placement``: the file's
    own affine and shape, which maps written for it keep."""

    data: np.ndarray
    placement: Placement

    @classmethod
    def of(cls, source: str, data: np.ndarray, affine: np.ndarray) -> "Volume":
        """The volume of voxels ``data`` in the file's layout, placed by ``affine``."""
        canonical = nib.as_closest_canonical(nib.Nifti1Image(data, affine))
        voxels = np.asarray(canonical.dataobj, dtype=np.float32)
        return cls(voxels, Placement(source, np.asarray(affine, dtype=np.float64),
                                     tuple(data.shape), tuple(voxels.shape)))

    def foreground(self) -> np.ndarray:
        """Voxels above the volume's minimum (bool, canonical orientation)."""
        return self.data > self.data.min()


def normalized(volume: Volume, how: Normalization) -> np.ndarray:
    """The volume's voxels in [0, 1], background 0: ``percentile`` clips the foreground to
    its 1st-99th percentile and scales that range to [0, 1]; ``zscore`` standardizes on
    the foreground, clips to +-3 and maps to [0, 1]; ``none`` keeps the values (the
    caller checks they are in [0, 1])."""
    data = volume.data
    if how == "none":
        return data
    foreground = volume.foreground()
    if not foreground.any():
        return np.zeros_like(data)
    values = data[foreground]
    if how == "percentile":
        low, high = np.percentile(values, PERCENTILES)
        scaled = (data - low) / max(high - low, np.finfo(np.float32).eps)
    else:
        z = (data - values.mean()) / max(values.std(), np.finfo(np.float32).eps)
        scaled = (z + ZSCORE_CLIP) / (2 * ZSCORE_CLIP)
    return np.where(foreground, np.clip(scaled, 0, 1), 0).astype(np.float32)


def fit(x: Tensor, size: int, nearest: bool = False) -> Tensor:
    """``x`` [N, *sides] padded (centered, with 0) to equal sides, then resized to
    ``size`` per side (linear interpolation, or nearest for masks); ``size`` 0 keeps it."""
    if not size:
        return x
    sides = x.shape[1:]
    side = max(sides)
    pads = []
    for length in reversed(sides):
        before = (side - length) // 2
        pads += [before, side - length - before]
    square = F.pad(x.float(), pads).unsqueeze(1)
    mode = "nearest" if nearest else ("linear", "bilinear", "trilinear")[len(sides) - 1]
    options = {} if nearest else {"align_corners": False}
    resized = F.interpolate(square, size=(size,) * len(sides), mode=mode, **options)
    return resized.squeeze(1)


def unfit(x: Tensor, sides: tuple[int, ...]) -> Tensor:
    """The inverse of :func:`fit` for maps: ``x`` [N, size, ...] resized back to the
    padded square's side (linear interpolation) and its padding cut off."""
    side = max(sides)
    if tuple(x.shape[1:]) == tuple(sides):
        return x
    mode = ("linear", "bilinear", "trilinear")[len(sides) - 1]
    square = F.interpolate(x.float().unsqueeze(1), size=(side,) * len(sides), mode=mode,
                           align_corners=False).squeeze(1)
    index = tuple(slice((side - length) // 2, (side - length) // 2 + length)
                  for length in sides)
    return square[(slice(None), *index)]


def slices(data: np.ndarray, axis: str) -> Tensor:
    """[S, A, B]: the canonical volume cut across ``axis`` (S slices)."""
    return torch.from_numpy(np.ascontiguousarray(np.moveaxis(data, AXES[axis], 0)))


def to_scanner_space(values: Tensor, placement: Placement, axis: str | None) -> np.ndarray:
    """A map of a volume on the model's grid back in the file's voxels: ``values`` is
    [S, size, size] (one map per slice across ``axis``) or, for whole volumes (``axis``
    None), [size, size, size]; the result has the file's shape and layout."""
    canonical_shape = placement.canonical_shape
    if axis is None:
        canonical = unfit(values.unsqueeze(0), canonical_shape)[0]
    else:
        across = AXES[axis]
        sides = tuple(side for dim, side in enumerate(canonical_shape) if dim != across)
        canonical = torch.from_numpy(np.moveaxis(unfit(values, sides).numpy(), 0, across))
    return from_canonical(canonical.numpy(), placement).astype(np.float32)


def from_canonical(data: np.ndarray, placement: Placement) -> np.ndarray:
    """An array in canonical orientation put back in the file's layout."""
    file_layout = nib.orientations.io_orientation(placement.affine)
    back = nib.orientations.ornt_transform(nib.orientations.axcodes2ornt("RAS"), file_layout)
    return np.ascontiguousarray(nib.orientations.apply_orientation(data, back))
