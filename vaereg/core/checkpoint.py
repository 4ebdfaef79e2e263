"""Checkpoints: written atomically, read without unpickling code.

A save goes to a temporary file in the same folder, is fsynced, then renamed over the old
file, so a crash at any moment leaves the previous checkpoint whole. Loading uses
``weights_only=True``: tensors, numbers, strings, lists and dicts only.
"""
from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import torch

from vaereg.core.errors import VaeregError

FORMAT = 1


def save_checkpoint(state: dict[str, Any], path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save({"format": FORMAT, **state}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a vaereg checkpoint; anything else is refused with a clear message."""
    path = Path(path)
    if not path.is_file():
        raise VaeregError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        raise VaeregError(f"refusing to load {path}: it holds objects other than tensors and "
                          f"plain data, which could run code when unpickled "
                          f"({str(error).splitlines()[0]})") from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError) as error:
        raise VaeregError(f"cannot read checkpoint {path}: it is corrupt or not a torch "
                          f"file ({type(error).__name__}: {str(error).splitlines()[0]})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise VaeregError(f"{path} is not a vaereg checkpoint of format {FORMAT}")
    return state
