"""One process at a time trains in a run folder.

Two processes resuming the same folder would write ``last.pt`` over each other (it has
corrupted one). The run holds an exclusive ``flock`` on ``<run folder>/run.lock`` for its
whole life; the OS releases it when the process ends, however it ends (a crash or
``kill -9`` included), so a stale lock never blocks a resume. The file itself stays: it
holds the pid of the last holder, for the message a second process gets.
"""
from __future__ import annotations

import fcntl
import os
from pathlib import Path

from vaereg.core.common.errors import VaeregError

LOCK_FILE = "run.lock"


class RunFolderLock:
    """The lock held on one run folder; :meth:`release` (or the process's end) frees it."""

    def __init__(self, run_dir: Path):
        try:
            self._fd: int | None = os.open(Path(run_dir) / LOCK_FILE, os.O_RDWR | os.O_CREAT,
                                           0o644)
        except FileNotFoundError:
            raise VaeregError(f"run folder not found: {run_dir}") from None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self._fd, 32, 0).decode(errors="replace").strip() or "unknown"
            self.release()
            raise VaeregError(
                f"the run folder {run_dir} is in use by another vaereg process (pid "
                f"{holder}): two runs in one folder would overwrite each other's "
                f"checkpoints. Wait for it to end, or stop it first") from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the last descriptor releases the flock
            self._fd = None
