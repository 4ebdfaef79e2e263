"""Which run a checkpoint belongs to: a random id kept in the run folder and recorded,
with the folder's path, in every checkpoint the run writes.

Without it, a checkpoint copied into another run's folder loads there silently whenever
its shapes fit, and ``eval`` reports one run's weights under another's recipe. The id is
made when the run writes its first checkpoint (so a run resumed from an older folder gets
one too); checkpoints written before identities existed carry none and load as before.
"""
from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from vaereg.core.common.atomic_file import atomic_write
from vaereg.core.common.errors import VaeregError

RUN_ID_FILE = "run_id.txt"


def run_id(run_dir: str | Path) -> str | None:
    """The id of the run in ``run_dir``, or None for a folder made before ids existed."""
    path = Path(run_dir) / RUN_ID_FILE
    return path.read_text(encoding="utf-8").strip() if path.is_file() else None


def run_identity(run_dir: str | Path) -> dict[str, str]:
    """``{"id", "dir"}`` to record in a checkpoint of ``run_dir`` (the id made if new)."""
    run_dir = Path(run_dir)
    found = run_id(run_dir)
    if found is None:
        found = uuid.uuid4().hex
        atomic_write(run_dir / RUN_ID_FILE, lambda handle: handle.write(f"{found}\n".encode()))
    return {"id": found, "dir": str(run_dir.resolve())}


def check_identity(state: dict[str, Any], path: str | Path, run_dir: str | Path) -> None:
    """Refuse the checkpoint ``state`` (read from ``path``) when another run wrote it."""
    recorded = state.get("run")
    if not isinstance(recorded, dict):  # written before identities existed
        return
    if recorded.get("id") == run_id(run_dir):
        return
    origin = recorded.get("dir", "(a folder it does not record)")
    raise VaeregError(
        f"{path} belongs to another run: it was written by the run in {origin}, not by the "
        f"run in {run_dir} (their {RUN_ID_FILE} differ), so its weights would be judged "
        f"under the wrong recipe. Evaluate or resume it from its own folder ({origin}), "
        f"or put back this run's own checkpoint")
