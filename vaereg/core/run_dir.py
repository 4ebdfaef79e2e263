"""Run folders: ``<out_dir>/<name>/version_<k>/``, never reused, never overwritten."""
from __future__ import annotations

import functools
import json
from importlib import metadata
from pathlib import Path
from typing import Any

import tomli_w

from vaereg.core.atomic_file import atomic_write
from vaereg.core.recipe import Recipe

RECIPE_FILE = "recipe.toml"
METRICS_FILE = "metrics.json"


def new_run_dir(out_dir: str | Path, name: str) -> Path:
    """Create the next free ``version_<k>`` folder (atomic mkdir, so parallel runs differ)."""
    parent = Path(out_dir).expanduser() / name
    parent.mkdir(parents=True, exist_ok=True)
    taken = [int(p.name.split("_", 1)[1]) for p in parent.glob("version_*")
             if p.name.split("_", 1)[1].isdigit()]
    version = max(taken, default=-1) + 1
    while True:
        path = parent / f"version_{version}"
        try:
            path.mkdir()
            return path
        except FileExistsError:
            version += 1


@functools.cache
def _distributions_by_package() -> dict[str, list[str]]:
    """Scans every installed distribution's file list (about a second): once a process."""
    return metadata.packages_distributions()


def versions(recipe: Recipe) -> dict[str, str]:
    """Versions of vaereg, torch and every distribution that provided a plugin."""
    names = {"vaereg", "torch", "torchvision", "pluggy"}
    owners = _distributions_by_package() if recipe.plugins else {}
    for spec in recipe.plugins:
        names.update(owners.get(spec.cls.__module__.split(".")[0], []))
    found = {}
    for name in sorted(names):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def write_atomic(path: Path, text: str) -> None:
    atomic_write(path, lambda handle: handle.write(text.encode("utf-8")))


def write_recipe(run_dir: Path, recipe: Recipe) -> None:
    """The resolved recipe: ``vaereg run run_dir/recipe.toml`` reproduces the run."""
    header = "".join(f"# {name} {version}\n" for name, version in versions(recipe).items())
    text = ("# Resolved recipe (extends and --set applied, defaults filled in).\n"
            + header + "\n" + tomli_w.dumps(recipe.to_table()))
    write_atomic(run_dir / RECIPE_FILE, text)


def write_metrics(run_dir: Path, metrics: dict[str, Any]) -> None:
    write_atomic(run_dir / METRICS_FILE, json.dumps(metrics, indent=2, sort_keys=True) + "\n")
