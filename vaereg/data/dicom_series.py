"""Reading a DICOM series (one folder of slice files, any names) into a :class:`Volume`.

Slices are ordered by their position along the slice normal (ImagePositionPatient on the
cross product of ImageOrientationPatient's cosines), RescaleSlope / RescaleIntercept are
applied, an optional window (center, width) clips the values, and the affine is built
from the patient coordinates (DICOM's LPS turned to NIfTI's RAS). A folder holding two
series, a file without pixel data, or slices of different sizes stop with exit 2 naming
the folder.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from vaereg.core.common.errors import VaeregError, first_line
from vaereg.data.volumes import Volume

try:
    import pydicom
except ImportError:
    raise VaeregError("DICOM series (data.name = \"dicom\") need pydicom: "
                      "pip install 'vaereg[medical]'") from None

#: DICOM patient coordinates are LPS, NIfTI's RAS: x and y change sign
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


def _slices(folder: Path) -> list[pydicom.Dataset]:
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise VaeregError(f"{folder}: no DICOM files in this series folder")
    slices = []
    for path in files:
        try:
            slices.append(pydicom.dcmread(path))
        except (pydicom.errors.InvalidDicomError, OSError, ValueError, EOFError) as error:
            raise VaeregError(f"{folder}: {path.name} is not a readable DICOM file "
                              f"({first_line(error)})") from None
    return slices


def _check(folder: Path, slices: list[pydicom.Dataset]) -> None:
    series = {str(ds.get("SeriesInstanceUID", "")) for ds in slices}
    if len(series) > 1:
        raise VaeregError(f"{folder} holds {len(series)} series (SeriesInstanceUID "
                          f"{', '.join(sorted(series))}); put each series in its own folder")
    for ds in slices:
        if "PixelData" not in ds:
            raise VaeregError(f"{folder}: {Path(ds.filename).name} has no pixel data")
    sizes = {(int(ds.Rows), int(ds.Columns)) for ds in slices}
    if len(sizes) > 1:
        raise VaeregError(f"{folder}: slices of different sizes "
                          f"({', '.join(f'{r}x{c}' for r, c in sorted(sizes))}); a series "
                          f"has one size")


def read_series(folder: Path, window: tuple[float, float] | None = None) -> Volume:
    """The series in ``folder`` as a volume (canonical orientation), values in the
    scanner's units (clipped to the window center +- width / 2, if given)."""
    slices = _slices(folder)
    _check(folder, slices)
    orientation = np.array(slices[0].ImageOrientationPatient, dtype=np.float64)
    row_cosine, column_cosine = orientation[:3], orientation[3:]
    normal = np.cross(row_cosine, column_cosine)
    slices.sort(key=lambda ds: float(np.dot(normal, np.array(ds.ImagePositionPatient, float))))
    data = np.stack([ds.pixel_array.astype(np.float32).T * float(ds.get("RescaleSlope", 1))
                     + float(ds.get("RescaleIntercept", 0)) for ds in slices], axis=-1)
    if window is not None:
        center, width = window
        data = np.clip(data, center - width / 2, center + width / 2)
    row_spacing, column_spacing = (float(s) for s in slices[0].PixelSpacing)
    first = np.array(slices[0].ImagePositionPatient, dtype=np.float64)
    if len(slices) > 1:
        step = (np.array(slices[-1].ImagePositionPatient, float) - first) / (len(slices) - 1)
    else:
        step = normal * float(slices[0].get("SliceThickness", 1))
    affine = np.eye(4)
    affine[:3, 0] = row_cosine * column_spacing  # array axis 0 runs along a row
    affine[:3, 1] = column_cosine * row_spacing  # axis 1 down a column
    affine[:3, 2] = step
    affine[:3, 3] = first
    return Volume.of(str(folder), data, LPS_TO_RAS @ affine)
