"""``dicom``: DICOM series, hospitals' format, read with pydicom (``pip install
vaereg[medical]``): the ``nifti`` dataset's tree and keys with one folder per series in
place of each volume file (any file names inside), masks as
``ground_truth/<type>/<series folder>_mask.nii.gz`` on the series' grid, and an
optional ``window`` (center, width) applied before normalization."""
from __future__ import annotations

from pathlib import Path

import attrs
import numpy as np

from vaereg.core.common.errors import VaeregError
from vaereg.core.common.options import option
from vaereg.data.dicom_series import read_series
from vaereg.data.nifti_files import read_mask
from vaereg.data.volume_folder import VolumeFolder, VolumeFolderOptions
from vaereg.data.volumes import Volume

WHAT = "DICOM series"


def _window(value: tuple[float, ...] | None) -> str | None:
    if value is None or (len(value) == 2 and value[1] > 0):
        return None
    return "[center, width] with a positive width"


@attrs.frozen
class DicomOptions(VolumeFolderOptions):
    window: tuple[float, ...] | None = option(
        None, "[center, width]: clip the scanner's values to center +- width / 2 (e.g. "
        "[40, 80] for a CT brain window) before normalizing", check=_window)


def _visible_folders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def is_series(folder: Path) -> bool:
    """A series folder holds files (the slices) directly."""
    return any(p.is_file() and not p.name.startswith(".") for p in folder.iterdir())


def dicom_examples(folder: Path) -> list[tuple[Path, str | None]]:
    """(series folder, class folder name or None) of the series under ``folder``:
    series folders, or class folders of series folders."""
    examples: list[tuple[Path, str | None]] = []
    for entry in _visible_folders(folder) if folder.is_dir() else []:
        if is_series(entry):
            examples.append((entry, None))
        else:
            examples += [(series, entry.name) for series in _visible_folders(entry)]
    if not examples:
        raise VaeregError(f"no {WHAT} in {folder}: expected one folder of DICOM files per "
                          f"series (or class folders of them)")
    return examples


class Dicom(VolumeFolder):
    Options = DicomOptions
    what = WHAT
    examples = staticmethod(dicom_examples)

    @staticmethod
    def mask_name(series: Path) -> str:
        return f"{series.name}_mask.nii.gz"

    def sources(self, path: Path) -> list[Path]:
        """A series folder, or the series folders under a folder."""
        if not path.is_dir():
            raise VaeregError(f"{path}: not a DICOM series folder (a folder of slice files)")
        return [path] if is_series(path) else [series for series, _ in dicom_examples(path)]

    def read_volume(self, path: Path) -> Volume:
        window = self.options.window
        return read_series(path, None if window is None else (window[0], window[1]))

    def read_mask(self, path: Path, volume: Volume) -> np.ndarray:
        return read_mask(path, volume)
