"""``nifti``: a folder of NIfTI volumes (``.nii`` / ``.nii.gz``), research neuroimaging's
format, read with nibabel (``pip install vaereg[medical]``).

The layout is ``image_folder``'s: flat, ``train/``-``val/``-``test/``, or the MVTec AD
layout with ``ground_truth/<type>/<stem>_mask.nii.gz`` masks (``<stem>`` the name without
``.nii`` / ``.nii.gz``). Volumes are turned to canonical orientation, normalized, cut
into 2-D slices across ``axis`` (or kept whole with ``volumes = true``) and resized to
``size``; see :mod:`vaereg.data.volume_folder`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from vaereg.core.common.errors import VaeregError
from vaereg.data.folder_layout import list_examples
from vaereg.data.nifti_files import is_nifti, mask_name, read_mask, read_nifti
from vaereg.data.volume_folder import VolumeFolder
from vaereg.data.volumes import Volume

WHAT = "NIfTI volume"


def nifti_examples(folder: Path) -> list[tuple[Path, str | None]]:
    """The volumes under ``folder`` (as :func:`list_examples` lists files); any other
    file is refused by name."""
    examples = list_examples(folder, WHAT)
    nifti_examples_of([path for path, _ in examples])
    return examples


def nifti_examples_of(paths: list[Path]) -> None:
    """Refuse, by name, a file that is not a NIfTI volume."""
    for path in paths:
        if not is_nifti(path):
            raise VaeregError(f"{path}: not a NIfTI volume (expected a .nii or .nii.gz "
                              f"file); move it out of {path.parent}")


class Nifti(VolumeFolder):
    what = WHAT
    examples = staticmethod(nifti_examples)
    mask_name = staticmethod(mask_name)

    def sources(self, path: Path) -> list[Path]:
        """A NIfTI file, or the NIfTI files under a folder (sorted)."""
        if path.is_file():
            nifti_examples_of([path])
            return [path]
        if not path.is_dir():
            raise VaeregError(f"{path}: no such file or folder")
        found = sorted(p for p in path.rglob("*") if p.is_file() and is_nifti(p)
                       and not p.name.startswith("."))
        if not found:
            raise VaeregError(f"no NIfTI volumes (.nii, .nii.gz) in {path}")
        return found

    def read_volume(self, path: Path) -> Volume:
        return read_nifti(path)

    def read_mask(self, path: Path, volume: Volume) -> np.ndarray:
        return read_mask(path, volume)

