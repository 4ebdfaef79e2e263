"""Evaluations whose checkpoint has changed since: a resume rewrites ``last.pt`` (and
``best.pt`` when validation improves), and an evaluation folder of the old weights would
otherwise pass for one of the new. ``eval.json`` records the sha256 of the checkpoint file
it evaluated; a folder whose checkpoint no longer has that digest is stale. Marking
writes ``stale.json`` into it, naming the checkpoint's new identity, so a reader of the
folder sees it too; ``compare`` evaluates a stale folder again instead of reusing it, and
``eval`` replaces it (and its mark) when asked for the same evaluation."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from vaereg.core.run_folder.run_dir import write_atomic
from vaereg.evaluation.evaluation_folder import EVAL_DIR
from vaereg.evaluation.run_loading import CHECKPOINTS

EVAL_FILE = "eval.json"
STALE_FILE = "stale.json"


def file_digest(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checkpoint_identity(path: str | Path) -> dict[str, Any]:
    """Epoch, step and sha256 of the checkpoint file at ``path``."""
    from vaereg.core.run_folder.checkpoint import read_checkpoint

    state, digest = read_checkpoint(path)
    return {"epoch": state.get("epoch"), "step": state.get("step"), "sha256": digest}


def stale_identity(folder: Path) -> dict[str, Any] | None:
    """None while the checkpoint evaluated in ``folder`` still holds the evaluated
    weights; else what it holds now (``name``, ``epoch``, ``step``, ``sha256``; all but
    ``name`` None for a checkpoint file that is gone) and ``evaluated`` (eval.json's)."""
    evaluated = json.loads((folder / EVAL_FILE).read_text())["checkpoint"]
    path = folder.parent.parent / CHECKPOINTS[evaluated["name"]]
    if path.is_file() and evaluated.get("sha256") == file_digest(path):
        return None
    now = (checkpoint_identity(path) if path.is_file()
           else {"epoch": None, "step": None, "sha256": None})
    return {"name": evaluated["name"], **now, "evaluated": evaluated}


def describe(stale: dict[str, Any]) -> str:
    """One line: what the checkpoint holds now against what was evaluated."""
    evaluated = stale["evaluated"]
    was = f"epoch {evaluated.get('epoch')}, step {evaluated.get('step')}"
    if stale["sha256"] is None:
        return f"{stale['name']}.pt is gone (evaluated at {was})"
    return (f"{stale['name']}.pt now holds epoch {stale['epoch']}, step {stale['step']} "
            f"(sha256 {stale['sha256'][:12]}); evaluated at {was}")


def evaluation_folders(run_dir: str | Path) -> list[Path]:
    """The run's evaluation folders (those with an eval.json), sorted."""
    return sorted(path.parent for path in (Path(run_dir) / EVAL_DIR).glob(f"*/{EVAL_FILE}"))


def mark_stale(run_dir: str | Path) -> dict[Path, str]:
    """Write ``stale.json`` into each evaluation folder of the run whose checkpoint
    changed; returns folder -> why, for every stale folder (marked now or before)."""
    marked = {}
    for folder in evaluation_folders(run_dir):
        stale = stale_identity(folder)
        if stale is not None:
            write_atomic(folder / STALE_FILE, json.dumps(stale, indent=1) + "\n")
            marked[folder] = describe(stale)
    return marked
