"""The public API is `vaereg.__all__` (plus vaereg.testing and vaereg.evaluation), each name
documented once."""
from __future__ import annotations

import re
import types
from pathlib import Path

import vaereg
import vaereg.evaluation
import vaereg.testing

API_DOC = (Path(__file__).parents[1] / "docs" / "api.md").read_text(encoding="utf-8")


def documented() -> set[str]:
    """Names with an entry (a heading ``### `name` ``) in docs/api.md."""
    return set(re.findall(r"^#{3,4} `(?:vaereg\.(?:testing|evaluation)\.)?([A-Za-z_]+)", API_DOC, re.MULTILINE))


def test_every_exported_name_imports_and_is_documented():
    for name in vaereg.__all__:
        assert getattr(vaereg, name) is not None
    assert set(vaereg.__all__) <= documented(), set(vaereg.__all__) - documented()


def test_nothing_public_beyond_all_but_subpackages():
    stray = [name for name, value in vars(vaereg).items()
             if not name.startswith("_") and name not in vaereg.__all__
             and not isinstance(value, types.ModuleType)]
    assert stray == []
    assert not any(isinstance(getattr(vaereg, name), types.ModuleType) for name in vaereg.__all__)


def test_testing_helpers_are_documented():
    helpers = {"SyntheticImages", "tiny_recipe", "make_trainer", "HookRecorder", "registered",
               "check_conformance", "assert_same_state"}
    assert all(callable(getattr(vaereg.testing, name)) for name in helpers)
    assert helpers <= documented(), helpers - documented()


def test_evaluation_names_are_documented():
    names = set(vaereg.evaluation.__all__)
    assert all(getattr(vaereg.evaluation, name) is not None for name in names)
    assert names <= documented(), names - documented()


def test_docs_document_nothing_that_is_not_public():
    public = set(vaereg.__all__) | set(dir(vaereg.testing)) | set(vaereg.evaluation.__all__)
    assert documented() <= public, documented() - public


def test_every_trainer_attribute_the_api_page_lists_exists(tmp_path):
    """docs/api.md's table of the Trainer's public state is the one place it is described:
    it names nothing the Trainer lacks."""
    import re
    from vaereg.testing import make_trainer, tiny_recipe
    text = (Path(__file__).resolve().parents[1] / "docs" / "api.md").read_text()
    table = text[text.index("| attribute | what it is |"):text.index("### `Objective`")]
    names = set()
    for cell in re.findall(r"^\| (`[^|]+)\|", table, re.M):  # first column: `a`, `b(...)`
        names |= {re.sub(r"\(.*", "", name) for name in re.findall(r"`([^`]+)`", cell)}
    trainer = make_trainer(tiny_recipe(), tmp_path)
    missing = sorted(name for name in names if not hasattr(trainer, name))
    assert len(names) > 15 and not missing, missing
