"""Imports run the way DESIGN.md says, checked on the source (AST), not by convention."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "vaereg"


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports (``from a import b`` counts as ``a`` and ``a.b``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def files(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).glob("*.py"))


def within(modules: set[str], prefix: str) -> set[str]:
    return {m for m in modules if m == prefix or m.startswith(prefix + ".")}


@pytest.mark.parametrize("path", files("plugins"), ids=lambda p: p.name)
def test_plugins_use_only_the_public_api(path):
    own = within(imported_modules(path), "vaereg")
    assert own <= {"vaereg"} | {f"vaereg.{name}" for name in __import__("vaereg").__all__}, \
        f"{path.name} imports vaereg internals or another plugin: {sorted(own)}"


@pytest.mark.parametrize("path", files("core"), ids=lambda p: p.name)
def test_core_imports_no_plugin_and_no_concrete_model_or_dataset(path):
    """The core finds plugins, models and datasets through the registries only."""
    modules = imported_modules(path)
    reached = within(modules, "vaereg.plugins") | within(modules, "vaereg.models") \
        | within(modules, "vaereg.data")
    assert not reached, f"{path.name} imports {sorted(reached)}"


@pytest.mark.parametrize("path", files("models") + files("data"), ids=lambda p: p.name)
def test_models_and_data_know_nothing_of_trainer_or_plugins(path):
    modules = imported_modules(path)
    forbidden = set()
    for prefix in ("vaereg.plugins", "vaereg.core.loop.trainer", "vaereg.core.hooks.plugin_manager",
                   "vaereg.core.hooks.hookspecs", "vaereg.testing", "pluggy"):
        forbidden |= within(modules, prefix)
    assert not forbidden, f"{path.name} imports {sorted(forbidden)}"


def test_cli_holds_no_training_logic():
    modules = imported_modules(PACKAGE / "cli.py")
    assert not within(modules, "torch"), "cli.py computes nothing itself: no torch"
    for prefix in ("vaereg.plugins", "vaereg.models", "vaereg.data"):
        assert not within(modules, prefix), f"cli.py reaches into {prefix}"
