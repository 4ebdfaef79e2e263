"""Ctrl-C and SIGTERM during training.

The first signal only asks the loop to stop: it finishes the batch in progress, writes a
checkpoint and raises :class:`vaereg.RunInterrupted`, so hours of training are never
lost to a stray keystroke. A second signal stops at once (:class:`StopNow`, a
``KeyboardInterrupt``), for when the checkpoint itself is not wanted or hangs.
"""
from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

from vaereg.core.common.errors import RunInterrupted
from vaereg.core.run_folder.resume import resume_command

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopNow(KeyboardInterrupt):
    """The second signal: leave now; ``exit_code`` is 128 + its number."""

    def __init__(self, signum: int):
        super().__init__(f"second {signal.Signals(signum).name}: stopped at once")
        self.exit_code = 128 + signum


class StopRequests:
    """While entered (main thread only; elsewhere signals keep their handlers), records
    the first SIGINT/SIGTERM in ``signum`` and raises :class:`StopNow` on the second.
    Entered inside another one (a sweep around its trials) it starts with the signal the
    outer one has recorded, so a Ctrl-C between trials stops the next one at once."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signum is not None:
            self._restore()
            raise StopNow(signum)
        self.signum = signum

    def _restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def __enter__(self) -> "StopRequests":
        self.signum = None
        if threading.current_thread() is threading.main_thread():
            for signum in SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
                outer = getattr(self._previous[signum], "__self__", None)
                if isinstance(outer, StopRequests) and outer.signum is not None:
                    self.signum = outer.signum  # asked before this (a sweep's next trial)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._restore()


def interrupted(signum: int, where: str, path: Path, run_dir: Path) -> RunInterrupted:
    """The error that ends a run stopped by a signal: where, the checkpoint, the resume."""
    return RunInterrupted(f"interrupted by {signal.Signals(signum).name} {where}; checkpoint "
                          f"written to {path}.\nResume with: {resume_command(run_dir)}", signum)
