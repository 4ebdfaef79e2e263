"""The MLflow parent run of a ``compare`` or a ``sweep``: its runs are nested under it, and
its reports (the compare table, the sweep figures) are its artifacts.

There is one when a recipe of the compare (the sweep's recipe) names the ``mlflow``
plugin; that plugin's options say where (the first such recipe's, for a compare). The
parent is linked to the output folder (``mlflow.json`` there), so the same command run
again continues it. Its id reaches every run, in this process (a sweep's trials) and in
subprocesses alike, through the ``VAEREG_MLFLOW_PARENT_RUN_ID`` environment variable.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator, Sequence

from vaereg.tracking.recipe_params import flatten

PLUGIN = "mlflow"


def mlflow_options(tables: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The options of the first ``mlflow`` plugin the resolved recipe tables name."""
    for table in tables:
        for name, options in table.get("plugins", {}).items():
            if options.get("use", name) == PLUGIN:
                return options
    return None


@contextmanager
def parent_run(folder: Path, tables: Sequence[dict[str, Any]], command: str,
               settings: dict[str, Any]) -> Iterator[Any]:
    """Within the block, runs started here or in subprocesses are nested under the
    parent run (a :class:`~vaereg.tracking.mlflow_run.TrackedRun`, or None when no
    recipe is tracked); ``settings`` (the command's arguments) become its params."""
    options = mlflow_options(tables)
    if options is None:
        yield None
        return
    from vaereg.tracking.mlflow_run import PARENT_RUN_VARIABLE, TrackedRun

    tracked = TrackedRun(folder, options.get("tracking_uri", ""))
    tracked.start(experiment=options.get("experiment", ""), default_experiment=folder.name,
                  run_name=f"{command} {folder.name}", params=flatten(settings),
                  tags={"vaereg.version": metadata.version("vaereg"),
                        "vaereg.command": command,
                        "vaereg.out": str(folder.resolve())})
    before = os.environ.get(PARENT_RUN_VARIABLE)
    if tracked.run_id is not None:
        os.environ[PARENT_RUN_VARIABLE] = tracked.run_id
    try:
        yield tracked
    finally:
        if before is None:
            os.environ.pop(PARENT_RUN_VARIABLE, None)
        else:
            os.environ[PARENT_RUN_VARIABLE] = before
        tracked.save()
