"""The examples of the README and docs/ do what their pages say.

Every Python block of a page runs, in page order, in one module (as a reader pastes them
one after another); the tests a page shows are then run against the code the page
defines, and what a page claims of its other examples is checked here. Every Python
block of every page compiles, every TOML block parses, the README's recipe validates,
and what api.md and reliability.md list of the code (a Recipe's attributes, what a
resume may change) matches the code.
"""
from __future__ import annotations

import inspect
import re
import sys
import tomllib
import types
from pathlib import Path

import attrs
import pytest
import torch

import vaereg
from vaereg.core.run_folder.resume import CHANGEABLE
from vaereg.testing import make_trainer, registered, tiny_recipe

ROOT = Path(__file__).parents[1]
PAGES = sorted([*(ROOT / "docs").glob("*.md"), ROOT / "README.md"])


def blocks(page: Path, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", page.read_text(encoding="utf-8"),
                      re.S | re.M)


def all_blocks(language: str) -> list[tuple[str, str]]:
    return [(page.relative_to(ROOT).as_posix(), code)
            for page in PAGES for code in blocks(page, language)]


def run_page(page: str, monkeypatch, stands_for: str | None = None) -> types.ModuleType:
    """A module made of the page's Python blocks, run in order (``__name__`` is not
    ``"__main__"``, so a script's own work does not start). It is importable while the
    test runs, so classes it defines have an import path, as a trainer records; with
    ``stands_for`` it also answers imports of the package the page describes."""
    name = "docs_" + re.sub(r"\W", "_", Path(page).stem.lower())
    module = types.ModuleType(name)
    monkeypatch.setitem(sys.modules, name, module)
    if stands_for:
        monkeypatch.setitem(sys.modules, stands_for, module)
    for code in blocks(ROOT / page, "python"):
        exec(compile(code, page, "exec"), module.__dict__)
    return module


def run_page_tests(module: types.ModuleType, tmp_path: Path) -> list[str]:
    """Call each ``test_*`` function the page defines (page order), each in its own folder."""
    tests = [(name, f) for name, f in vars(module).items()
             if name.startswith("test_") and inspect.isfunction(f)
             and f.__module__ == module.__name__]
    for name, test in tests:
        (tmp_path / name).mkdir()
        test(tmp_path / name)
    return [name for name, _ in tests]


def test_subclassing_example_and_its_test_run(tmp_path, monkeypatch):
    page = run_page("docs/subclassing.md", monkeypatch)
    assert run_page_tests(page, tmp_path) == ["test_every_hook_still_fires"]
    # the penalty is on the posterior means: larger means, a larger penalty
    trainer = make_trainer(tiny_recipe(), tmp_path / "penalty", cls=page.MeanPenaltyTrainer)
    batch = next(iter(trainer.splits.train.batches(16)))
    penalty = trainer.training_step(batch).penalties["mu_l2"]
    means = trainer.model.encode(batch.x).mean
    assert float(penalty) == pytest.approx(0.1 * float(means.pow(2).sum(1).mean()), rel=1e-5)


def test_writing_plugins_walk_through_runs_its_own_tests(tmp_path, monkeypatch):
    # the page's code stands in for the package it builds (vaereg_maxnorm), and its
    # MaxNorm class for the installed plugin: the page's tests then test the page
    page = run_page("docs/writing-plugins.md", monkeypatch, stands_for="vaereg_maxnorm")
    with registered("maxnorm", page.MaxNorm):
        ran = run_page_tests(page, tmp_path)
    assert ran == ["test_functional_form_caps_every_hidden_unit",
                   "test_plugin_survives_train_checkpoint_resume",
                   "test_hooks_run_before_the_recorder"]


def test_plugins_page_reads_a_tracked_run_back_from_its_folder(tmp_path, monkeypatch):
    page = run_page("docs/plugins.md", monkeypatch)
    table = tiny_recipe(run={"epochs": 1}, plugins={
        "dropout": {"p": 0.25}, "mlflow": {"tracking_uri": str(tmp_path / "mlruns")}})
    trainer = make_trainer(table, tmp_path)
    trainer.fit()
    assert page.mlflow_run(trainer.run_dir).data.params["plugins.dropout.p"] == "0.25"
    assert page.same_final_figures(trainer.run_dir) is True


class CleanTarget:
    """After the recipe's plugins: what transform_batch left for the forward pass."""

    def __init__(self):
        self.seen: list[tuple[torch.Tensor, torch.Tensor]] = []

    @vaereg.hookimpl
    def transform_batch(self, batch):
        self.seen.append((batch.x.clone(), batch.target.clone()))


def test_readme_plugin_noises_inputs_and_scores_clean_images(tmp_path, monkeypatch):
    page = run_page("README.md", monkeypatch)
    probe = CleanTarget()
    with registered("input_noise", page.InputNoise):
        trainer = make_trainer(tiny_recipe(run={"epochs": 1},
                                           plugins={"input_noise": {"std": 0.2}}),
                               tmp_path, extra_plugins=(("probe", probe),))
        trainer.fit()
    assert len(probe.seen) == 4  # 1 epoch x 4 batches
    clean = trainer.splits.train.x
    for x, target in probe.seen:
        assert x.min() >= 0 and x.max() <= 1
        assert float((x - target).std()) == pytest.approx(0.2, rel=0.3)  # clamping shrinks it
        assert bool(((target == clean[:, None]).flatten(2).all(2)).any(0).all())  # clean


def test_readme_subclass_scales_the_kl_weight(tmp_path, monkeypatch):
    page = run_page("README.md", monkeypatch)
    plain = make_trainer(tiny_recipe(), tmp_path / "plain")
    mine = make_trainer(tiny_recipe(), tmp_path / "mine", cls=page.MyTrainer)
    batch = next(iter(plain.splits.train.batches(16)))
    assert mine.training_step(batch).weights["kl"] == \
        pytest.approx(1.001 * plain.training_step(batch).weights["kl"])


@pytest.mark.parametrize("page, code", all_blocks("python"))
def test_python_examples_compile(page, code):
    compile(code, page, "exec")


@pytest.mark.parametrize("page, code", all_blocks("toml"))
def test_toml_examples_parse(page, code):
    tomllib.loads(code)


def test_there_are_examples_to_check():
    assert len(all_blocks("python")) >= 8 and len(all_blocks("toml")) >= 3


def test_readme_recipe_example_validates(tmp_path):
    (example,) = blocks(ROOT / "README.md", "toml")
    (tmp_path / "vanilla.toml").write_text((ROOT / "recipes" / "vanilla.toml").read_text())
    (tmp_path / "example.toml").write_text(example)
    recipe = vaereg.load_recipe(tmp_path / "example.toml")
    assert [spec.use for spec in recipe.plugins] == ["dropout", "dropout"]


def test_reliability_md_lists_exactly_what_a_resume_may_change():
    text = (ROOT / "docs" / "reliability.md").read_text(encoding="utf-8")
    claim = text[text.index("**What a resume may change**"):]
    claim = claim[:claim.index("Anything")]
    listed = set(re.findall(r"`((?:run|logging|checkpoint|data)\.\w+)`", claim))
    assert listed == set(CHANGEABLE)


def test_api_md_names_every_recipe_attribute():
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    entry = text[text.index("### `Recipe`"):]
    entry = entry[:entry.index("\n### ")]
    named = set(re.findall(r"`(\w+)", entry))
    assert {field.name for field in attrs.fields(vaereg.Recipe)} <= named
    assert {"seed_for_data", "to_table", "loader"} <= named


def test_medical_page_trains_on_nifti_slices_and_writes_maps_in_the_scans_space(tmp_path,
                                                                                monkeypatch):
    page = run_page("docs/medical.md", monkeypatch)
    assert run_page_tests(page, tmp_path) == ["test_maps_overlay_on_the_scans"]
