"""A recipe plugin named by import path that cannot be one (no ``Options``, a broken
``Options``, nothing at that path, not a class): `vaereg validate` and `vaereg run` say
which file and key, what was expected and what was found; exit 2, no traceback, no run
folder."""
from __future__ import annotations

import pytest

from cli_process import vaereg
from recipe_files import write_recipe

MODULE = """
class NoOptions:
    pass

class BrokenOptions:
    Options = 3

def function(options):
    return None
"""

EXPECTED = {
    "no_options": ("bad_plugins:NoOptions", "class NoOptions has no Options attribute"),
    "broken": ("bad_plugins:BrokenOptions", "BrokenOptions.Options is int 3, not an attrs class"),
    "function": ("bad_plugins:function", "found function <function function"),
    "missing": ("bad_plugins:Missing", "bad_plugins has no attribute 'Missing'"),
    "no_module": ("no_such_module_here:Plugin", "No module named 'no_such_module_here'"),
}


@pytest.fixture(scope="module")
def bad_recipe(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad_plugins")
    (folder / "bad_plugins.py").write_text(MODULE)
    plugins = {name: {"use": path} for name, (path, _) in EXPECTED.items()}
    return write_recipe(folder, plugins=plugins)


@pytest.mark.parametrize("command", ["validate", "run"])
def test_each_bad_import_path_plugin_is_named_with_file_key_and_expectation(bad_recipe, command):
    folder = bad_recipe.parent
    result = vaereg(command, str(bad_recipe), cwd=folder, env={"PYTHONPATH": str(folder)})
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "5 problems in the recipe" in result.stderr
    for name, (path, found) in EXPECTED.items():
        line = next(line for line in result.stderr.splitlines() if f": plugins.{name}:" in line)
        assert line.strip().startswith(f"- {bad_recipe}: plugins.{name}: plugin '{path}'"), line
        assert found in line, line
    for name in ("no_options", "broken", "function"):
        line = next(line for line in result.stderr.splitlines() if f": plugins.{name}:" in line)
        assert "expected a class with an attrs class Options" in line, line
    assert not (folder / "runs").exists()
