"""Every kind of bad input ends with exit code 2 and a message that says what is wrong,
never a traceback."""
from __future__ import annotations

import gzip
from pathlib import Path
from typing import Callable

import pytest
import tomli_w
from click.testing import CliRunner

from vaereg.cli import main
from vaereg.core.loop.trainer import Trainer
from vaereg.core.recipes.recipe import load_recipe
from vaereg.core.run_folder.checkpoint import save_checkpoint
from vaereg.core.run_folder.run_dir import write_recipe
from vaereg.data import fashion_mnist, idx_dataset
from vaereg.testing import tiny_recipe


def recipe_file(path: Path, table: dict | None = None, text: str | None = None) -> str:
    path.write_text(text if text is not None else tomli_w.dumps(table or tiny_recipe()))
    return str(path)


def fake_run(folder: Path, trained_with: dict, resumed_with: dict, **state) -> str:
    """A run folder whose recipe.toml is ``resumed_with`` and whose last.pt holds the
    untrained state of ``trained_with`` updated by ``state`` (no training needed)."""
    trainer = Trainer(load_recipe(table=trained_with), quiet=True)
    save_checkpoint({**trainer.state_dict(), **state}, folder / "checkpoints" / "last.pt")
    write_recipe(folder, load_recipe(table=resumed_with))
    return str(folder)


def mnist_recipe(tmp: Path, root: Path | None) -> str:
    """data.root = ``root``, or the default (the usual places) for None."""
    if root is not None:
        root.mkdir(exist_ok=True)
    return recipe_file(tmp / "r.toml", tiny_recipe(data={
        "name": "fashion_mnist", "root": str(root or ""), "download": False, "val_size": 10}))


def corrupt_mnist(tmp: Path) -> list[str]:
    """Garbage in the default root, and a system copy that is valid gzip of garbage."""
    raw = tmp / "cache" / "vaereg" / "data" / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for name in idx_dataset.FILES:
        (raw / name).write_bytes(b"\x00\x00\x09\x05 not an IDX file")
        (tmp / "system" / f"{name}.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x03garbage"))
    return ["run", mnist_recipe(tmp, None)]


def damaged_checkpoint(content: bytes) -> Callable[[Path], list[str]]:
    def make(tmp: Path) -> list[str]:
        folder = Path(fake_run(tmp, tiny_recipe(), tiny_recipe()))
        (folder / "checkpoints" / "last.pt").write_bytes(content)
        return ["run", "--resume", str(folder)]
    return make


def foreign_checkpoint(tmp: Path) -> list[str]:
    """The right recipe, but no model weights."""
    recipe = load_recipe(table=tiny_recipe())
    save_checkpoint({"recipe": recipe.to_table(), "model": {}}, tmp / "checkpoints" / "last.pt")
    write_recipe(tmp, recipe)
    return ["run", "--resume", str(tmp)]


def extends_cycle(tmp: Path) -> list[str]:
    recipe_file(tmp / "b.toml", text='extends = "a.toml"')
    return ["run", recipe_file(tmp / "a.toml", text='extends = "b.toml"')]


def recipe_with(**sections) -> Callable[[Path], list[str]]:
    return lambda tmp: ["run", recipe_file(tmp / "r.toml", tiny_recipe(**sections))]


def resume_with(*overrides: str, **state) -> Callable[[Path], list[str]]:
    return lambda tmp: ["run", "--resume", fake_run(tmp, tiny_recipe(), tiny_recipe(), **state),
                        *[arg for o in overrides for arg in ("--set", o)]]


CASES = {
    "malformed TOML": (lambda t: ["run", recipe_file(t / "r.toml", text="[run\nname =")],
                       "malformed TOML"),
    "wrong type": (lambda t: ["validate", recipe_file(t / "r.toml"), "--set", "run.epochs=true"],
                   "--set: run.epochs: expected an integer, found boolean true"),
    "out of range": (recipe_with(run={"seed": -1}),
                     "run.seed: expected a number in [0, inf], found number -1"),
    "unknown key": (recipe_with(run={"epoch": 3}),
                    "run.epoch: unknown key (did you mean 'epochs'?)"),
    "unknown section": (recipe_with(trainer={}), "trainer: unknown section"),
    "unknown plugin": (recipe_with(plugins={"dropuot": {}}),
                       "unknown plugin 'dropuot' (did you mean 'dropout'?)"),
    "unknown class": (recipe_with(data={"classes": [3, 12]}), "data.classes: no class 12"),
    "extends cycle": (extends_cycle, "extends: cycle:"),
    "extends missing": (lambda t: ["run", recipe_file(t / "a.toml", text='extends = "no.toml"')],
                        "recipe file not found"),
    "malformed --set": (lambda t: ["run", recipe_file(t / "r.toml"), "--set", "run.epochs"],
                        "expected KEY.PATH=VALUE"),
    "missing recipe": (lambda t: ["run", str(t / "none.toml")], "recipe file not found"),
    "missing dataset": (lambda t: ["run", mnist_recipe(t, t / "empty")],
                        "Fashion-MNIST not found"),
    "corrupt dataset": (corrupt_mnist, "Debian package files in"),
    "truncated checkpoint": (damaged_checkpoint(b"PK\x03\x04 truncated zip"),
                             "cannot read checkpoint"),
    "empty checkpoint": (damaged_checkpoint(b""), "cannot read checkpoint"),
    "checkpoint cut mid-pickle": (damaged_checkpoint(b"\x80\x02}q\x00"), "cannot read checkpoint"),
    "foreign checkpoint": (foreign_checkpoint, "checkpoint does not fit this recipe's model "
                           "and optimizer: it lacks epoch, step, should_stop, history, optimizer"),
    "checkpoint without a recipe": (resume_with(recipe=[1]), "does not record the recipe"),
    "checkpoint of another recipe": (
        lambda t: ["run", "--resume", fake_run(t, tiny_recipe(model={"latent_dim": 4}),
                                               tiny_recipe(model={"latent_dim": 8}))],
        "was trained with a different recipe (model.latent_dim: 4 -> 8)"),
    "resume changing the data": (resume_with("data.noise=0.5"), "(data.noise: 0.1 -> 0.5)"),
    "resume with fewer epochs": (resume_with("run.epochs=1", epoch=2),
                                 "already trained 2 epochs; set run.epochs >= 2"),
    "resume a folder that is not a run": (lambda t: ["run", "--resume", str(t)],
                                          "is not a vaereg run folder"),
    "both recipe and --resume": (lambda t: ["run", "x.toml", "--resume", str(t)],
                                 "give a RECIPE to start a run, or --resume RUN_DIR"),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_input_exits_2_with_a_message(case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # Fashion-MNIST cases must not find the machine's Debian copy or a user cache
    (tmp_path / "system").mkdir()
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIR", tmp_path / "system")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    make_args, expected = CASES[case]
    result = CliRunner().invoke(main, make_args(tmp_path))
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert expected in result.output
