"""A small recipe file for CLI tests: the tiny synthetic run, written as TOML."""
from __future__ import annotations

from pathlib import Path

import tomli_w

from vaereg.testing import tiny_recipe


def write_recipe(tmp_path: Path, **sections: dict) -> Path:
    """``tiny_recipe(**sections)`` with runs under ``tmp_path``, saved as ``recipe.toml``."""
    table = tiny_recipe(**sections)
    table["run"]["out_dir"] = str(tmp_path / "runs")
    path = tmp_path / "recipe.toml"
    path.write_text(tomli_w.dumps(table))
    return path
