"""Files that a crash at any moment leaves either old or new, never half written.

The bytes go to a temporary file in the target's folder (same filesystem, so the rename
is atomic), are fsynced, and the temporary file is renamed over the target; the folder
is fsynced too, so the rename itself survives a power cut. A process killed mid-write
leaves only its hidden temporary file behind (``remove_leftovers`` clears those).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable

SUFFIX = ".tmp"


def atomic_write(path: str | Path, write: Callable[[BinaryIO], None]) -> None:
    """Replace ``path`` by what ``write(handle)`` writes, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
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


def remove_leftovers(folder: str | Path) -> list[Path]:
    """Delete temporary files that killed writers left in ``folder``; returns them.

    Call it only when no other process writes there (e.g. when a run resumes).
    """
    leftovers = sorted(Path(folder).glob(f".*{SUFFIX}"))
    for path in leftovers:
        path.unlink(missing_ok=True)
    return leftovers
