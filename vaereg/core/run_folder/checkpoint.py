"""Checkpoints: written atomically, read without unpickling code.

A save goes through :func:`vaereg.core.common.atomic_file.atomic_write` (temporary file, fsync,
rename), so a crash at any moment leaves the previous checkpoint whole. Loading first
checks the zip archive's CRC-32s (torch's reader does not, so a bit flipped on disk would
load silently; about 0.1 s for 200 MB), then uses ``weights_only=True``: tensors, numbers,
strings, lists and dicts only. The file is read once, so the sha256 that ``read_checkpoint``
returns is that of the weights loaded, even while a training process replaces the file. A checkpoint
written for a run folder records that run's identity (see
:mod:`vaereg.core.run_folder.run_identity`).
"""
from __future__ import annotations

import hashlib
import io
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from vaereg.core.common.atomic_file import atomic_write
from vaereg.core.common.errors import VaeregError, first_line
from vaereg.core.run_folder.run_identity import run_identity

FORMAT = 1


def save_checkpoint(state: dict[str, Any], path: str | Path,
                    run_dir: str | Path | None = None) -> None:
    """Write ``state`` to ``path``; with ``run_dir``, recording the run it belongs to."""
    identity = {} if run_dir is None else {"run": run_identity(run_dir)}
    atomic_write(path, lambda handle: torch.save({"format": FORMAT, **state, **identity}, handle))


def weight_mismatches(expected: dict[str, Any], found: dict[str, Any]) -> list[str]:
    """Every way the weights ``found`` in a checkpoint differ from a model's state dict
    ``expected``: each key missing or unexpected, each shape that differs (both shapes)."""
    def shape(value: Any) -> str:
        return str(list(value.shape)) if isinstance(value, torch.Tensor) else type(value).__name__

    missing = [f"{key}: missing from the checkpoint (the model has {shape(expected[key])})"
               for key in expected if key not in found]
    unexpected = [f"{key}: in the checkpoint ({shape(found[key])}), not in the model"
                  for key in found if key not in expected]
    differ = [f"{key}: checkpoint {shape(found[key])}, model {shape(expected[key])}"
              for key in expected if key in found and shape(found[key]) != shape(expected[key])]
    return differ + missing + unexpected


def _unreadable(path: Path, error: Exception | str) -> VaeregError:
    reason = error if isinstance(error, str) else f"{type(error).__name__}: {first_line(error)}"
    return VaeregError(f"cannot read checkpoint {path}: it is corrupt or not a torch file "
                       f"({reason})")


def _check_archive(path: Path, data: io.BytesIO) -> None:
    """Every member of the zip archive torch wrote (``data``, read from ``path``) matches
    its CRC-32."""
    try:
        with zipfile.ZipFile(data) as archive:
            damaged = archive.testzip()
    except Exception as error:  # zipfile raises many types on a damaged directory
        raise _unreadable(path, error) from None
    if damaged is not None:
        raise _unreadable(path, f"{damaged} fails its CRC-32 check: the file was damaged")


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a vaereg checkpoint; anything else is refused with a clear message."""
    path = Path(path)
    return _load(path, _read(path), map_location)


def read_checkpoint(path: str | Path,
                    map_location: str | torch.device = "cpu") -> tuple[dict[str, Any], str]:
    """``load_checkpoint``'s state and the sha256 of the bytes it was loaded from (only
    evaluations need it: hashing is left out of the loads that resume a run)."""
    path = Path(path)
    data = _read(path)
    digest = hashlib.sha256(data.getbuffer()).hexdigest()
    return _load(path, data, map_location), digest


def _read(path: Path) -> io.BytesIO:
    """The file's bytes, read once, so the check, the load and the digest see the same."""
    if not path.is_file():
        raise VaeregError(f"checkpoint not found: {path}")
    try:
        return io.BytesIO(path.read_bytes())
    except OSError as error:  # permissions, a failing disk
        raise _unreadable(path, error) from None


def _load(path: Path, data: io.BytesIO, map_location: str | torch.device) -> dict[str, Any]:
    _check_archive(path, data)
    data.seek(0)
    try:
        state = torch.load(data, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        raise VaeregError(f"refusing to load {path}: it holds objects other than tensors and "
                          f"plain data, which could run code when unpickled "
                          f"({first_line(error)})") from None
    except Exception as error:  # torch's reader raises many types on a damaged file
        raise _unreadable(path, error) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise VaeregError(f"{path} is not a vaereg checkpoint of format {FORMAT}")
    return state
