"""The maps of a localization on volumes as NIfTI files: ``volume_maps/<stem>_<map>.nii.gz``
per test volume and map, with the volume's shape and affine, so they overlay on the scan
in a viewer (ITK-SNAP, 3D Slicer, FSLeyes)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from vaereg.data.volumes import nib
from vaereg.evaluation.volume_localization import VolumeMaps, volume_stem

VOLUME_MAPS_DIR = "volume_maps"


def write_nifti(path: Path, values: np.ndarray, affine: np.ndarray) -> Path:
    """``values`` saved at ``path`` with ``affine``, whole or not at all (a temporary file
    renamed into place)."""
    partial = path.with_name(f".partial-{path.name}")
    nib.save(nib.Nifti1Image(values.astype(np.float32), affine), partial)
    os.replace(partial, path)
    return path


def write_volume_maps(found: VolumeMaps, folder: Path) -> Path:
    """Every map of every volume into ``folder``; returns it."""
    folder.mkdir(exist_ok=True)
    for source in found.sources:
        affine = found.placements[source].affine
        for name, values in found.maps[source].items():
            write_nifti(folder / f"{volume_stem(source)}_{name}.nii.gz", values, affine)
    return folder
