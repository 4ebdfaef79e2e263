"""Imports run downward only, through the layers declared here once, checked on the source
(AST) of every file of every package: a new upward import fails here, naming the file."""
from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "vaereg"

# Each unit (a package, a core subsystem, a top-level module) and the units directly below
# it. A unit may import itself and everything below it, directly or through the units below.
LAYERS: dict[str, tuple[str, ...]] = {
    "core.common": (),
    "core.model": ("core.common",),
    "core.data": ("core.common",),
    "core.scale": ("core.data",),
    "core.recipes": ("core.model", "core.data"),
    "core.hooks": ("core.recipes",),
    "core.run_folder": ("core.recipes",),
    "core.reliability": ("core.run_folder", "core.scale"),
    "core.builtin": ("core.hooks", "core.run_folder"),
    "core.loop": ("core.builtin", "core.reliability"),
    "core": ("core.loop",),
    "functional": ("core.model",),
    "models": ("functional", "core.recipes"),
    "data": ("core.scale",),
    "evaluation": ("core", "data"),
    "tracking": ("core.hooks", "core.run_folder"),  # MLflow: [plugins.mlflow], parent runs
    "experiments": ("evaluation", "tracking"),
    "testing": ("core", "data"),
    "vaereg": ("experiments", "models"),  # the public API (names imported on first use)
    "plugins": ("vaereg",),
    "cli": ("experiments",),
    "__main__": ("cli",),
}


@cache
def below(unit: str) -> frozenset[str]:
    """Every unit ``unit`` may import: the declared ones and all below them."""
    found: set[str] = set()
    todo = list(LAYERS[unit])
    while todo:
        lower = todo.pop()
        if lower not in found:
            found.add(lower)
            todo.extend(LAYERS[lower])
    return frozenset(found)


def unit_of(module: str) -> str | None:
    """The unit a vaereg module belongs to (None outside vaereg)."""
    parts = module.split(".")
    if parts[0] != "vaereg":
        return None
    if len(parts) == 1:
        return "vaereg"
    if parts[1] == "core" and len(parts) > 2 and f"core.{parts[2]}" in LAYERS:
        return f"core.{parts[2]}"
    if (PACKAGE / parts[1]).is_dir() or (PACKAGE / f"{parts[1]}.py").is_file():
        return parts[1]
    return "vaereg"  # a name of the package itself (``from vaereg import Trainer``)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports (``from a import b`` counts as ``a`` and ``a.b``), at
    any depth (inside functions too); for the package's ``__init__``, also the modules its
    public names are imported from on first use."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    if path == PACKAGE / "__init__.py":
        found.update(__import__("vaereg")._SOURCES)
    return found


def within(modules: set[str], prefix: str) -> set[str]:
    return {m for m in modules if m == prefix or m.startswith(prefix + ".")}


ALL_FILES = sorted(PACKAGE.rglob("*.py"))


def test_the_layers_are_declared_and_form_no_cycle():
    for unit, lower in LAYERS.items():
        assert set(lower) <= set(LAYERS), f"{unit} sits on undeclared {set(lower) - set(LAYERS)}"
        assert unit not in below(unit), f"{unit} is declared below itself"


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_file_imports_only_downward(path):
    unit = unit_of(module_name(path))
    assert unit in LAYERS, f"{path.relative_to(PACKAGE)} belongs to no declared layer: add its unit to LAYERS"
    allowed = {unit} | below(unit)
    upward = sorted(module for module in imported_modules(path)
                    if unit_of(module) not in (None, *allowed))
    assert not upward, (f"{path.relative_to(PACKAGE)} ({unit}) imports {upward}: "
                        f"{unit} may import only {sorted(allowed)}")


def files(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


@pytest.mark.parametrize("path", files("plugins"), ids=lambda p: p.name)
def test_plugins_use_only_the_public_api(path):
    own = within(imported_modules(path), "vaereg")
    assert own <= {"vaereg"} | {f"vaereg.{name}" for name in __import__("vaereg").__all__}, \
        f"{path.name} imports vaereg internals or another plugin: {sorted(own)}"


@pytest.mark.parametrize("path", files("models") + files("data"), ids=lambda p: p.name)
def test_models_and_data_know_nothing_of_pluggy(path):
    assert not within(imported_modules(path), "pluggy"), f"{path.name} imports pluggy"


def test_cli_holds_no_training_logic():
    modules = imported_modules(PACKAGE / "cli.py")
    assert not within(modules, "torch"), "cli.py computes nothing itself: no torch"
    for prefix in ("vaereg.plugins", "vaereg.models", "vaereg.data"):
        assert not within(modules, prefix), f"cli.py reaches into {prefix}"
