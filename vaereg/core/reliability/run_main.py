"""How a run ends for a person at a shell, for ``vaereg run`` and for scripts alike:
a message and an exit code, never a traceback, and no half-made run folder.

A run stopped before its first checkpoint (Ctrl-C while it starts, a second Ctrl-C in
the first epoch, bad data, a failing plugin) cannot be resumed, so the fresh run folder
it made is removed and the message says so.
"""
from __future__ import annotations

import shutil
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from vaereg.core.common.errors import PluginError, RunInterrupted, VaeregError
from vaereg.core.model.objective import headline_figure
from vaereg.core.run_folder.resume import LAST, resume_command


@contextmanager
def clean_exit() -> Iterator[None]:
    """Turn vaereg's errors and Ctrl-C into a message on stderr and ``sys.exit(code)``:
    2 bad input, 1 a plugin failed (its traceback shown first), 3 non-finite, 130/143
    interrupted."""
    try:
        yield
    except VaeregError as error:
        if isinstance(error, PluginError) and error.__cause__ is not None:
            traceback.print_exception(error.__cause__, file=sys.stderr)
        prefix = "" if isinstance(error, RunInterrupted) else "error: "
        print(f"{prefix}{error}", file=sys.stderr)
        sys.exit(error.exit_code)
    except KeyboardInterrupt as error:  # outside fit(): nothing had been written
        print("interrupted: stopped at once; nothing was written", file=sys.stderr)
        sys.exit(getattr(error, "exit_code", 130))


def fit_or_explain(trainer: Any, run_dir: str | Path | None = None,
                   resume: bool = False) -> dict[str, Any]:
    """``trainer.fit(run_dir, resume)``; an error or a Ctrl-C that ends a fresh run before
    its first checkpoint removes the run folder. A Ctrl-C that stops at once (the second
    one, or one before the signal handlers were set) becomes :class:`RunInterrupted`
    with a message that says what was kept."""
    fresh = run_dir is None and not resume
    try:
        return trainer.fit(run_dir=run_dir, resume=resume)
    except (VaeregError, KeyboardInterrupt) as error:
        folder = trainer.run_dir
        kept = folder is not None and (folder / LAST).is_file()
        main = getattr(trainer, "job", None) is None or trainer.job.is_main
        removed = fresh and folder is not None and not kept and main  # rank 0's folder
        if removed:
            shutil.rmtree(folder, ignore_errors=True)
        if isinstance(error, KeyboardInterrupt):
            raise RunInterrupted(_stopped_at_once(folder, kept, removed),
                                 getattr(error, "exit_code", 130) - 128) from None
        if removed:
            error.args = (f"{error}\n(no checkpoint had been written: the run folder "
                          f"{folder} was removed)",)
        raise


def _stopped_at_once(folder: Path | None, kept: bool, removed: bool) -> str:
    if kept:
        return (f"interrupted: stopped at once; the last checkpoint, {folder / LAST}, is "
                f"kept.\nResume with: {resume_command(folder)}")
    where = (f"the run folder {folder} was removed" if removed
             else f"nothing to resume in {folder}" if folder else "no run folder was made")
    return f"interrupted: stopped at once, before the first checkpoint; {where}"


def run_main(trainer: Any, run_dir: str | Path | None = None, resume: bool = False) -> dict:
    """Fit ``trainer`` as ``vaereg run`` does, for scripts: Ctrl-C writes a checkpoint and
    exits 130 with the command that resumes, bad input exits 2 with a message; prints the
    run folder and the headline metric, and returns the final metrics."""
    with clean_exit():
        metrics = fit_or_explain(trainer, run_dir, resume)
    headline = f"test/{headline_figure(metrics)}"
    if getattr(trainer, "job", None) is None or trainer.job.is_main:  # one line per job
        print(f"run directory: {trainer.run_dir}  {headline}: {metrics[headline]:.2f} nats")
    return metrics
