"""Small real DICOM series written with pydicom: one file per slice, shuffled names."""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

SLOPE, INTERCEPT = 2.0, -100.0


def write_series(folder: Path, raw: np.ndarray, *, seed: int = 0, spacing: float = 3.0,
                 series_uid: str | None = None, skip_pixels: int | None = None,
                 sizes: dict[int, tuple[int, int]] | None = None) -> Path:
    """``raw`` [slices, rows, columns] (uint16) stored one slice a file, slice k at
    z = k * spacing, under shuffled file names; ``skip_pixels``: a slice written without
    pixel data; ``sizes``: slices written at another size."""
    folder.mkdir(parents=True, exist_ok=True)
    series_uid = series_uid or generate_uid()
    names = [f"IM{n:04d}" for n in random.Random(seed).sample(range(1000), len(raw))]
    for k, (pixels, name) in enumerate(zip(raw, names)):
        if sizes and k in sizes:
            pixels = np.zeros(sizes[k], np.uint16)
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = MRImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID = MRImageStorage, meta.MediaStorageSOPInstanceUID
        ds.SeriesInstanceUID, ds.Modality = series_uid, "MR"
        ds.ImagePositionPatient = [0.0, 0.0, k * spacing]
        ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        ds.PixelSpacing, ds.SliceThickness = [1.5, 1.0], spacing
        ds.Rows, ds.Columns = pixels.shape
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        ds.RescaleSlope, ds.RescaleIntercept = SLOPE, INTERCEPT
        if k != skip_pixels:
            ds.PixelData = pixels.astype(np.uint16).tobytes()
        ds.save_as(folder / name, enforce_file_format=True)
    return folder
