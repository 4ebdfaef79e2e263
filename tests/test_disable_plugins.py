"""--disable-plugin and $VAEREG_DISABLE_PLUGINS turn plugins off without uninstalling."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from torch import nn

import vaereg
from vaereg.cli import main
from vaereg.core.recipes.disable import requested
from vaereg.testing import SYNTHETIC, tiny_recipe

from fake_plugins import install
from recipe_files import write_recipe

TWO_DROPOUTS = {"dropout": {"p": 0.1}, "more_dropout": {"use": "dropout", "p": 0.3}}


def test_flags_and_environment_merge_in_order_without_repeats():
    environ = {"VAEREG_DISABLE_PLUGINS": "b, c  a"}
    assert requested(("a", "d"), environ) == ("a", "d", "b", "c")
    assert requested((), {}) == ()


def test_disabled_plugin_is_left_out_of_recipe_and_model():
    recipe = vaereg.load_recipe(table=tiny_recipe(plugins=TWO_DROPOUTS), disable=["more_dropout"])
    assert [spec.name for spec in recipe.plugins] == ["dropout"]
    assert recipe.disabled == ("more_dropout",)
    rates = {m.p for m in vaereg.Trainer(recipe).model.modules() if isinstance(m, nn.Dropout)}
    assert rates == {0.1}


def test_installed_name_disables_every_instance_of_the_plugin():
    recipe = vaereg.load_recipe(table=tiny_recipe(plugins=TWO_DROPOUTS), disable=["dropout"])
    assert recipe.plugins == () and recipe.disabled == ("dropout", "more_dropout")


@pytest.mark.parametrize("plugins", [TWO_DROPOUTS, None])
def test_unknown_name_is_an_error_with_a_suggestion(plugins):
    table = tiny_recipe(plugins=plugins) if plugins else {"data": {"name": SYNTHETIC}}
    with pytest.raises(vaereg.VaeregError, match="cannot disable unknown plugin 'dropot' "
                       r"\(did you mean 'dropout'\?\)"):
        vaereg.load_recipe(table=table, disable=["dropot"])


def test_installed_plugin_the_recipe_does_not_use_is_fine_to_disable():
    recipe = vaereg.load_recipe(table={"data": {"name": SYNTHETIC}}, disable=["dropout"])
    assert recipe.disabled == () and recipe.plugins == ()


def test_a_plugin_that_fails_to_import_can_be_disabled(tmp_path, monkeypatch):
    install(tmp_path, monkeypatch, "fake-unloadable",
            {"vaereg.plugins": {"unloadable": "fake_unloadable:Plugin"}},
            {"fake_unloadable": "raise ImportError('broken release')\n"})
    table = tiny_recipe(plugins={"unloadable": {}, "dropout": {}})
    with pytest.raises(vaereg.PluginError):
        vaereg.load_recipe(table=table)
    assert [s.name for s in vaereg.load_recipe(table=table, disable=["unloadable"]).plugins] \
        == ["dropout"]


def test_cli_flag_and_environment_variable_say_what_was_disabled(tmp_path):
    recipe = write_recipe(tmp_path, plugins=TWO_DROPOUTS)
    runner = CliRunner()
    result = runner.invoke(main, ["validate", str(recipe), "--disable-plugin", "more_dropout"],
                           env={"VAEREG_DISABLE_PLUGINS": ""})
    assert result.exit_code == 0, result.output
    assert "disabled plugins: more_dropout (asked: more_dropout)" in result.stderr
    assert "plugins: dropout)" in result.stdout
    result = runner.invoke(main, ["validate", str(recipe)],
                           env={"VAEREG_DISABLE_PLUGINS": "dropout"})
    assert result.exit_code == 0, result.output
    assert "disabled plugins: dropout, more_dropout (asked: dropout)" in result.stderr
    assert "plugins: none)" in result.stdout


def test_cli_unknown_name_exits_2(tmp_path):
    result = CliRunner().invoke(main, ["validate", str(write_recipe(tmp_path)), "--disable-plugin",
                                       "nosuch"], env={"VAEREG_DISABLE_PLUGINS": ""})
    assert result.exit_code == 2
    assert "error: cannot disable unknown plugin 'nosuch'" in result.stderr
