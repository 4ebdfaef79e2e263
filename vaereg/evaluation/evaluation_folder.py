"""Where one evaluation's files go: ``RUN_DIR/eval/<checkpoint>-<split>-<protocol>/``, with
``protocol`` ``none``, ``anomaly`` or ``ood-<dataset>`` (as the command asked for it), so
evaluations of other checkpoints, splits or protocols never overwrite each other (the
same evaluation again replaces its own files), and whether that folder can be written."""
from __future__ import annotations

import re
from pathlib import Path

from vaereg.core.writable import writable_folder

EVAL_DIR = "eval"


def protocol_key(ood: str | None = None, anomaly: bool = False) -> str:
    """``ood-<dataset>`` (lower case, dashes), ``anomaly`` or ``none``."""
    if ood:
        return "ood-" + (re.sub(r"[^a-z0-9]+", "-", ood.lower()).strip("-") or "dataset")
    return "anomaly" if anomaly else "none"


def evaluation_folder(run_dir: Path, checkpoint: str, split: str, protocol: str) -> Path:
    """The folder of an evaluation; ``protocol`` from :func:`protocol_key`."""
    return Path(run_dir) / EVAL_DIR / f"{checkpoint}-{split}-{protocol}"


def check_writable(folder: Path) -> Path:
    """Create ``folder`` and write a file in it, or refuse naming it (before any work)."""
    return writable_folder(folder, "the evaluation's folder")
