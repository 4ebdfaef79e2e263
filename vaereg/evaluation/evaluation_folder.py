"""Where one evaluation's files go: ``RUN_DIR/eval/<checkpoint>-<split>-<protocol>/``, so
evaluations of other checkpoints, splits or protocols never overwrite each other (the
same evaluation again replaces its own files), and whether that folder can be written."""
from __future__ import annotations

import re
from pathlib import Path

from vaereg.core.common.writable import writable_folder

EVAL_DIR = "eval"


def protocol_slug(protocol: str) -> str:
    """``held-out classes (trained on [0, 1])`` -> ``held-out-classes-trained-on-0-1``."""
    return re.sub(r"[^a-z0-9]+", "-", protocol.lower()).strip("-") or "none"


def evaluation_folder(run_dir: Path, checkpoint: str, split: str, protocol: str) -> Path:
    return Path(run_dir) / EVAL_DIR / f"{checkpoint}-{split}-{protocol_slug(protocol)}"


def check_writable(folder: Path) -> Path:
    """Create ``folder`` and write a file in it, or refuse naming it (before any work)."""
    return writable_folder(folder, "the evaluation's folder")
