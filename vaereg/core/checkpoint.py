"""Checkpoints: written atomically, read without unpickling code.

A save goes through :func:`vaereg.core.atomic_file.atomic_write` (temporary file, fsync,
rename), so a crash at any moment leaves the previous checkpoint whole. Loading first
checks the zip archive's CRC-32s (torch's reader does not, so a bit flipped on disk would
load silently; the check reads the file once more, about 0.1 s for 200 MB), then uses
``weights_only=True``: tensors, numbers, strings, lists and dicts only.
"""
from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from vaereg.core.atomic_file import atomic_write
from vaereg.core.errors import VaeregError, first_line

FORMAT = 1


def save_checkpoint(state: dict[str, Any], path: str | Path) -> None:
    atomic_write(path, lambda handle: torch.save({"format": FORMAT, **state}, handle))


def _unreadable(path: Path, error: Exception | str) -> VaeregError:
    reason = error if isinstance(error, str) else f"{type(error).__name__}: {first_line(error)}"
    return VaeregError(f"cannot read checkpoint {path}: it is corrupt or not a torch file "
                       f"({reason})")


def _check_archive(path: Path) -> None:
    """Every member of the zip archive torch wrote matches its CRC-32."""
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
    except Exception as error:  # zipfile raises many types on a damaged directory
        raise _unreadable(path, error) from None
    if damaged is not None:
        raise _unreadable(path, f"{damaged} fails its CRC-32 check: the file was damaged")


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a vaereg checkpoint; anything else is refused with a clear message."""
    path = Path(path)
    if not path.is_file():
        raise VaeregError(f"checkpoint not found: {path}")
    _check_archive(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        raise VaeregError(f"refusing to load {path}: it holds objects other than tensors and "
                          f"plain data, which could run code when unpickled "
                          f"({first_line(error)})") from None
    except Exception as error:  # torch's reader raises many types on a damaged file
        raise _unreadable(path, error) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise VaeregError(f"{path} is not a vaereg checkpoint of format {FORMAT}")
    return state
