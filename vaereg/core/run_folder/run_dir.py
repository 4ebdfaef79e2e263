"""Run folders: ``<out_dir>/<name>/version_<k>/``, never reused, never overwritten."""
from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from typing import Any

import tomli_w

from vaereg.core.common.atomic_file import atomic_write
from vaereg.core.common.writable import writable_folder
from vaereg.core.recipes.recipe import Recipe
from vaereg.core.recipes.registry import DATASETS, MODELS, PLUGINS

RECIPE_FILE = "recipe.toml"
METRICS_FILE = "metrics.json"
DATA_SOURCE_FILE = "data_source.json"


def new_run_dir(out_dir: str | Path, name: str) -> Path:
    """Create the next free ``version_<k>`` folder (atomic mkdir, so parallel runs differ)."""
    parent = writable_folder(Path(out_dir).expanduser() / name, "run.out_dir/run.name")
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


def versions(recipe: Recipe) -> dict[str, str]:
    """Versions of vaereg, torch and each distribution that provided a plugin, the model
    or the dataset (read from the registries' entries: scanning files would take ~1 s)."""
    found = {}
    for name in ("vaereg", "torch", "torchvision", "pluggy"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    used = ((PLUGINS, [spec.use for spec in recipe.plugins]), (MODELS, [recipe.model.name]),
            (DATASETS, [recipe.data.name]))
    for registry, names in used:
        entries = registry.entries()
        for entry in (entries[name] for name in names if name in entries):
            if entry.version:
                found[entry.distribution] = entry.version
    return dict(sorted(found.items()))


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


def write_data_source(run_dir: Path, dataset: Any) -> None:
    """What the data was actually read from, when the dataset says (its optional
    ``source`` attribute after ``load``: e.g. the folder and a checksum of each file)."""
    source = getattr(dataset, "source", None)
    if source is not None:
        write_atomic(run_dir / DATA_SOURCE_FILE, json.dumps(source, indent=2) + "\n")
