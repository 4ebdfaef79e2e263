"""A folder's link to its MLflow run (``mlflow.json``) and its record of what the tracking
server did not take (``mlflow_unsent.json``): both plain JSON, written atomically.

The link holds the resolved tracking URI and the run id, so a resumed run, or ``compare``
run again, continues the same MLflow run from any working directory. The record holds
params, tags, metric points (``[name, value, step, milliseconds]``) and artifact files
(relative to the folder) in the order they were meant to be sent.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs

from vaereg.core.run_folder.run_dir import write_atomic

LINK_FILE = "mlflow.json"
UNSENT_FILE = "mlflow_unsent.json"


def read_link(folder: Path) -> dict[str, str] | None:
    """``{"tracking_uri": ..., "run_id": ...}`` of the folder's MLflow run, or None."""
    path = folder / LINK_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def write_link(folder: Path, tracking_uri: str, run_id: str) -> None:
    link = {"tracking_uri": tracking_uri, "run_id": run_id}
    write_atomic(folder / LINK_FILE, json.dumps(link, indent=2) + "\n")


@attrs.define
class Unsent:
    """What is still to be sent, in the order it was meant to be."""

    params: dict[str, str] = attrs.field(factory=dict)
    tags: dict[str, str] = attrs.field(factory=dict)
    metrics: list[list[Any]] = attrs.field(factory=list)
    artifacts: list[str] = attrs.field(factory=list)

    def __bool__(self) -> bool:
        return bool(self.params or self.tags or self.metrics or self.artifacts)

    @classmethod
    def read(cls, folder: Path) -> "Unsent":
        path = folder / UNSENT_FILE
        if not path.is_file():
            return cls()
        saved = json.loads(path.read_text(encoding="utf-8"))
        return cls(**{field.name: saved[field.name] for field in attrs.fields(cls)})

    def add(self, other: "Unsent") -> None:
        self.params.update(other.params)
        self.tags.update(other.tags)
        self.metrics += other.metrics
        self.artifacts += [a for a in other.artifacts if a not in self.artifacts]

    def write(self, folder: Path, tracking_uri: str, run_id: str | None, error: str) -> None:
        """The record, or no file when nothing is left unsent."""
        path = folder / UNSENT_FILE
        if not self:
            path.unlink(missing_ok=True)
            return
        record = {"tracking_uri": tracking_uri, "run_id": run_id, "error": error,
                  **attrs.asdict(self)}
        write_atomic(path, json.dumps(record, indent=1) + "\n")
