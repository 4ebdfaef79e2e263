"""What a command writes into a tracked run folder after training (``vaereg eval``'s
outputs, ``sample``'s and ``reconstruct``'s pictures) goes to the folder's MLflow run too.

A folder is tracked when its recipe names the ``mlflow`` plugin and ``mlflow.json`` links
it to an MLflow run. The files the command added or changed that the plugin's
``artifacts`` patterns match are sent when it ends, with what an earlier process left
unsent; a server that fails is one warning, and the files join ``mlflow_unsent.json``.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from vaereg.tracking.parent_run import mlflow_options
from vaereg.tracking.run_link import read_link


def stamps(folder: Path, patterns: list[str]) -> dict[str, tuple[int, int]]:
    """(modification time, size) of each file of the folder the patterns match."""
    from vaereg.tracking.mlflow_run import matching_files

    return {name: ((folder / name).stat().st_mtime_ns, (folder / name).stat().st_size)
            for name in matching_files(folder, patterns)}


@contextmanager
def outputs_tracked(run_dir: Path, recipe_table: dict[str, Any]) -> Iterator[None]:
    """Send what the block writes into ``run_dir`` (see the module doc) when it ends."""
    options = mlflow_options([recipe_table])
    if options is None or read_link(run_dir) is None:
        yield
        return
    patterns = list(options["artifacts"])
    before = stamps(run_dir, patterns)
    yield
    from vaereg.tracking.mlflow_run import TrackedRun

    written = [name for name, stamp in stamps(run_dir, patterns).items()
               if before.get(name) != stamp]
    if written:
        tracked = TrackedRun(run_dir, "")
        tracked.attach()
        tracked.send_files(written)
        tracked.save()
