"""``vaereg run`` in a real subprocess (real signals, real exit codes), with the test
plugins of ``reliability_plugins`` registered."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import tomli_w

TESTS = Path(__file__).parent
CLI = "import reliability_plugins; from vaereg.cli import main; main()"


def run_recipe(folder: Path, table: dict) -> subprocess.CompletedProcess:
    """Write ``table`` to folder/recipe.toml and run it from ``folder``."""
    (folder / "recipe.toml").write_text(tomli_w.dumps(table))
    return subprocess.run([sys.executable, "-c", CLI, "run", "recipe.toml"], cwd=folder,
                          env={**os.environ, "PYTHONPATH": str(TESTS)},
                          capture_output=True, text=True, timeout=300)
