"""The Python and TOML examples in the README and the docs are at least well-formed."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

DOCS = Path(__file__).parents[1] / "docs"
PAGES = ["writing-plugins.md", "subclassing.md", "plugins.md", "../README.md"]


def blocks(language: str) -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        text = (DOCS / page).read_text(encoding="utf-8")
        found += [(page, code) for code in re.findall(rf"```{language}\n(.*?)```", text, re.S)]
    return found


@pytest.mark.parametrize("page, code", blocks("python"))
def test_python_examples_compile(page, code):
    compile(code, page, "exec")


@pytest.mark.parametrize("page, code", blocks("toml"))
def test_toml_examples_parse(page, code):
    tomllib.loads(code)


def test_there_are_examples_to_check():
    assert len(blocks("python")) >= 6 and len(blocks("toml")) >= 3


def test_readme_recipe_example_validates(tmp_path):
    from vaereg import load_recipe
    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    (example,) = re.findall(r"```toml\n(.*?)```", readme, re.S)
    (tmp_path / "vanilla.toml").write_text((DOCS.parent / "recipes" / "vanilla.toml").read_text())
    (tmp_path / "example.toml").write_text(example)
    recipe = load_recipe(tmp_path / "example.toml")
    assert [spec.use for spec in recipe.plugins] == ["dropout", "dropout"]
