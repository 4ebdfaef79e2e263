"""One MLflow run fed from one folder (a run folder, or a compare/sweep output folder), in
the process that writes that folder.

Tracking must never cost the training. The first call that the tracking server fails or
refuses (down, unreachable, a refused request, a deleted experiment) is one warning; from
then on this process sends nothing more, and what was not taken (params, tags, metric
points, artifact files) is kept in the folder's ``mlflow_unsent.json`` (written at each
:meth:`TrackedRun.save`). The next process that opens the folder (a resume) sends it
first. HTTP retries are kept short (unless the ``MLFLOW_HTTP_REQUEST_*`` variables say
otherwise): a server that is down costs seconds, not MLflow's default minutes of back-off.
"""
from __future__ import annotations

import os
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Sequence
from urllib.parse import urlparse

from vaereg.core.common.errors import first_line
from vaereg.tracking.run_link import UNSENT_FILE, Unsent, read_link, write_link

# Compare and sweep start their trials with their parent MLflow run's id in this variable.
PARENT_RUN_VARIABLE = "VAEREG_MLFLOW_PARENT_RUN_ID"
HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
                 "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
                 "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}
# metric points are sent in batches: when this many wait, or this many seconds passed
BATCH_POINTS, BATCH_SECONDS = 1000, 30.0
FAILED = object()
LOCAL_DATABASE = "mlflow.db"


def resolve_tracking_uri(uri: str) -> str:
    """The option's URI, made independent of the working directory: '' means
    ``$MLFLOW_TRACKING_URI``, else the folder ``mlruns/`` in the working directory; a
    folder is a local store (see :func:`local_store`), named by its absolute path."""
    uri = uri or os.environ.get("MLFLOW_TRACKING_URI", "") or "mlruns"
    if urlparse(uri).scheme:
        return uri
    return f"sqlite:///{Path(uri).expanduser().resolve() / LOCAL_DATABASE}"


def local_store(uri: str) -> Path | None:
    """The folder of a local store: runs in ``<folder>/mlflow.db`` (sqlite: MLflow 3
    refuses its old file store unless ``MLFLOW_ALLOW_FILE_STORE=true``), artifacts in
    ``<folder>/artifacts``; None for any other URI (a server, a database, a file store)."""
    path = Path(uri.removeprefix("sqlite:///"))
    return path.parent if uri.startswith("sqlite:///") and path.name == LOCAL_DATABASE else None


def matching_files(folder: Path, patterns: Sequence[str]) -> list[str]:
    """The folder's files that the patterns match, relative, each once, in pattern order."""
    found = (path for pattern in patterns for path in sorted(folder.glob(pattern)))
    return list(dict.fromkeys(str(p.relative_to(folder)) for p in found if p.is_file()))


def changed_as_tags(logged: dict[str, str], params: dict[str, str],
                    tags: dict[str, str]) -> Unsent:
    """MLflow params cannot change: those a resume changed (``run.epochs`` raised by
    ``--set``) become ``vaereg.resumed.<key>`` tags; the others are sent (again)."""
    changed = sorted(key for key, value in params.items() if logged.get(key, value) != value)
    return Unsent(params={k: v for k, v in params.items() if k not in changed},
                  tags={**tags, **{f"vaereg.resumed.{key}": params[key] for key in changed}})


class TrackedRun:
    """Create or continue the folder's MLflow run, feed it, end it; see the module doc."""

    def __init__(self, folder: Path, tracking_uri: str):
        for name, value in HTTP_DEFAULTS.items():
            os.environ.setdefault(name, value)
        link = read_link(folder)
        self.folder = folder
        self.uri = link["tracking_uri"] if link else resolve_tracking_uri(tracking_uri)
        self.run_id: str | None = link["run_id"] if link else None
        self.client: Any = None  # an MlflowClient once the store opened
        self.failure: str | None = None
        self.unsent = Unsent.read(folder)  # what an earlier process could not send
        self.pending: list[list[Any]] = []  # metric points waiting for the next batch
        self.sent_at = time.monotonic()

    # ----- the run's life --------------------------------------------------------------
    def start(self, experiment: str, run_name: str, params: dict[str, str],
              tags: dict[str, str], default_experiment: str = "vaereg") -> None:
        """Create the run (or continue the linked one), then send what an earlier process
        left unsent and the params and tags. A new run goes to ``experiment``; when that
        is '', to its parent's (compare, sweep), else to ``default_experiment``."""
        carried, self.unsent = self.unsent, Unsent()
        self._call("opening the store", self._open)
        logged = dict(carried.params)
        if self.run_id is None:
            self._call("creating the run",
                       lambda: self._create(experiment, default_experiment, run_name, tags))
        else:
            self._call("continuing the run",
                       lambda: self.client.update_run(self.run_id, "RUNNING"))
            run = self._call("reading the run", lambda: self.client.get_run(self.run_id))
            logged.update({} if run is FAILED else run.data.params)
        self._send(carried)
        self._send(changed_as_tags(logged, params, tags))

    def log_metrics(self, values: dict[str, float], step: int) -> None:
        """Queue one point per name at ``step``; sent in batches."""
        now = int(time.time() * 1000)
        self.pending += [[name, float(value), step, now] for name, value in values.items()]
        if len(self.pending) >= BATCH_POINTS or time.monotonic() - self.sent_at > BATCH_SECONDS:
            self.flush()

    def flush(self) -> None:
        points, self.pending = self.pending, []
        self.sent_at = time.monotonic()
        self._send(Unsent(metrics=points))

    def attach(self) -> None:
        """Open the linked run as it is (finished or not): to send files to it, after
        what an earlier process left unsent."""
        carried, self.unsent = self.unsent, Unsent()
        self._call("opening the store", self._open)
        self._send(carried)

    def upload(self, patterns: Sequence[str]) -> None:
        """The folder's files that the glob patterns match, as artifacts under their
        paths relative to the folder."""
        self.send_files(matching_files(self.folder, patterns))

    def send_files(self, names: list[str]) -> None:
        """Files of the folder (relative paths), as artifacts under the same paths."""
        self._send(Unsent(artifacts=names))

    def finish(self) -> None:
        """Send what waits, mark the run finished, and save what was not taken."""
        self.flush()
        if self.run_id is not None:
            self._call("ending the run",
                       lambda: self.client.set_terminated(self.run_id, "FINISHED"))
        self.save()

    def save(self) -> None:
        """Write ``mlflow_unsent.json`` (or remove it once everything was taken)."""
        self.unsent.write(self.folder, self.uri, self.run_id, self.failure or "")

    # ----- sending ---------------------------------------------------------------------
    def _open(self) -> None:
        """The client (MLflow opens, and creates or upgrades, a database store here)."""
        from mlflow import MlflowClient

        folder = local_store(self.uri)
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
        self.client = MlflowClient(self.uri)

    def _create(self, experiment: str, default_experiment: str, run_name: str,
                tags: dict[str, str]) -> None:
        parent = os.environ.get(PARENT_RUN_VARIABLE)
        if experiment:
            experiment_id = self._experiment_id(experiment)
        elif parent:
            experiment_id = self.client.get_run(parent).info.experiment_id
        else:
            experiment_id = self._experiment_id(default_experiment)
        run = self.client.create_run(
            experiment_id, run_name=run_name or None,
            tags={**tags, **({"mlflow.parentRunId": parent} if parent else {})})
        self.run_id = run.info.run_id
        write_link(self.folder, self.uri, self.run_id)

    def _experiment_id(self, name: str) -> str:
        found = self.client.get_experiment_by_name(name)
        if found is None:
            folder = local_store(self.uri)
            artifacts = (folder / "artifacts").as_uri() if folder is not None else None
            try:
                return self.client.create_experiment(name, artifact_location=artifacts)
            except Exception:  # another process created it meanwhile (compare --jobs)
                found = self.client.get_experiment_by_name(name)
                if found is None:
                    raise
        return found.experiment_id

    def _send(self, batch: Unsent) -> None:
        if not batch:
            return
        if self.failure is not None or self.run_id is None:
            self.unsent.add(batch)
            return
        from mlflow.entities import Metric, Param, RunTag

        sent = self._call("logging", lambda: self.client.log_batch(
            self.run_id, [Metric(key=name, value=value, timestamp=ms, step=step)
                          for name, value, step, ms in batch.metrics],
            [Param(k, v) for k, v in batch.params.items()],
            [RunTag(k, v) for k, v in batch.tags.items()]))
        if sent is FAILED:
            self.unsent.add(batch)
            return
        files = [name for name in batch.artifacts  # (a file removed since: nothing to send)
                 if (self.folder / name).is_file()]
        for index, name in enumerate(files):
            where = str(Path(name).parent)
            sent = self._call(f"uploading {name}", lambda: self.client.log_artifact(
                self.run_id, str(self.folder / name), None if where == "." else where))
            if sent is FAILED:
                self.unsent.add(Unsent(artifacts=files[index:]))
                return

    def _call(self, what: str, function: Callable[[], Any]) -> Any:
        """``function()``, or FAILED: the first failure is one warning and stops
        every later call. Any exception counts: a tracking backend raises HTTP, SQL and
        file-system errors of its own, and none of them may stop the training."""
        if self.failure is not None:
            return FAILED
        try:
            return function()
        except Exception as error:
            self.failure = f"{what}: {type(error).__name__}: {first_line(error)}"
            warnings.warn(
                f"MLflow tracking at {self.uri} failed ({self.failure}); training goes on "
                f"untracked, and what was not uploaded is listed in "
                f"{self.folder / UNSENT_FILE} (a resume of the run sends it)",
                RuntimeWarning, stacklevel=3)
            return FAILED
