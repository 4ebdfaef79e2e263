"""A failing plugin is named, with its distribution and hook; the original is kept."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

import vaereg
from vaereg.cli import main
from vaereg.testing import make_trainer, registered, tiny_recipe

from fake_plugins import OptionlessPlugin, install, install_plugin
from recipe_files import write_recipe


def recipe_using(name: str, epochs: int = 1) -> dict:
    return tiny_recipe(run={"epochs": epochs}, plugins={name: {}})


def test_import_failure_names_plugin_and_distribution_and_chains_the_error(tmp_path, monkeypatch):
    install(tmp_path, monkeypatch, "fake-broken",
            {"vaereg.plugins": {"broken": "fake_broken:Plugin"}},
            {"fake_broken": "raise ImportError('needs scipy')\n"})
    with pytest.raises(vaereg.PluginError) as caught:
        vaereg.load_recipe(table=recipe_using("broken"))
    message = str(caught.value)
    assert "plugin 'broken'" in message and "distribution fake-broken 1.0" in message
    assert "ImportError: needs scipy" in message
    assert isinstance(caught.value.__cause__, ImportError)


@pytest.mark.parametrize("name, signature, expected", [
    ("typo", "on_batch_ends(self, trainer)", r"plugin 'typo' \(distribution fake-typo 1.0\) "
     r"implements hook 'on_batch_ends', which does not exist \(did you mean 'on_batch_end'\?\)"),
    ("badarg", "on_batch_end(self, trainr)", r"plugin 'badarg' \(distribution fake-badarg 1.0\) "
     r"does not fit the hook reference \(docs/hooks.md\): .*'on_batch_end'(.|\n)*'trainr'"),
])
def test_hook_that_does_not_fit_the_reference_is_attributed(tmp_path, monkeypatch, name,
                                                            signature, expected):
    install_plugin(tmp_path, monkeypatch, name, f"""
        @vaereg.hookimpl
        def {signature}:
            pass
        """)
    with pytest.raises(vaereg.PluginError, match=expected):
        make_trainer(recipe_using(name), tmp_path)


def test_exception_in_a_hook_names_plugin_distribution_and_hook(tmp_path, monkeypatch):
    install_plugin(tmp_path, monkeypatch, "crashy", """
        @vaereg.hookimpl
        def on_batch_end(self, trainer):
            raise ValueError("weights exploded at step %d" % trainer.step)
        """)
    trainer = make_trainer(recipe_using("crashy"), tmp_path)
    with pytest.raises(vaereg.PluginError) as caught:
        trainer.fit()
    assert str(caught.value) == ("plugin 'crashy' (distribution fake-crashy 1.0) raised in hook "
                                 "'on_batch_end': ValueError: weights exploded at step 1")
    assert isinstance(caught.value.__cause__, ValueError)


def test_exception_in_a_checkpoint_hook_is_attributed_too(tmp_path, monkeypatch):
    install_plugin(tmp_path, monkeypatch, "badstate", """
        @vaereg.hookimpl
        def on_save_checkpoint(self):
            return {"n": 1 / 0}
        """)
    with pytest.raises(vaereg.PluginError, match="'badstate'.*'on_save_checkpoint': ZeroDivision"):
        make_trainer(recipe_using("badstate"), tmp_path).fit()


class Fragile(OptionlessPlugin):
    def __init__(self, options):
        raise RuntimeError("needs a GPU")


class Probe:
    @vaereg.hookimpl
    def on_train_start(self, trainer):
        raise KeyError(trainer.epoch)


class Unmarked:
    def on_batch_end(self, trainer):  # no @vaereg.hookimpl: pluggy would ignore it
        raise AssertionError("never called")


def test_method_named_like_a_hook_without_the_marker_is_an_error(tmp_path):
    with pytest.raises(vaereg.PluginError, match=r"^plugin 'unmarked' \(passed to the Trainer in "
                       r"code\) has methods named like hooks but not marked @vaereg.hookimpl, "
                       r"so never called: on_batch_end$"):
        make_trainer(tiny_recipe(), tmp_path, extra_plugins=(("unmarked", Unmarked()),))


def test_plugin_that_fails_to_start_is_attributed(tmp_path):
    with registered("fragile", Fragile), pytest.raises(
            vaereg.PluginError, match=r"^plugin 'fragile' \(registered in code\) failed to start: "
                                      r"RuntimeError: needs a GPU$"):
        make_trainer(tiny_recipe(plugins={"fragile": {}}), tmp_path)


def test_plugin_object_passed_in_code_is_attributed(tmp_path):
    trainer = make_trainer(tiny_recipe(), tmp_path, extra_plugins=(("probe", Probe()),))
    with pytest.raises(vaereg.PluginError, match=r"^plugin 'probe' \(passed to the Trainer in "
                       r"code\) raised in hook 'on_train_start': KeyError: 0$"):
        trainer.fit()


def test_a_plugins_own_vaereg_error_passes_unchanged(tmp_path):
    class Strict:
        @vaereg.hookimpl
        def on_train_start(self):
            raise vaereg.VaeregError("strict: run.epochs must be even")

    trainer = make_trainer(tiny_recipe(), tmp_path, extra_plugins=(("strict", Strict()),))
    with pytest.raises(vaereg.VaeregError) as caught:
        trainer.fit()
    assert type(caught.value) is vaereg.VaeregError


def test_cli_exits_1_with_the_traceback_and_the_attributed_message(tmp_path, monkeypatch):
    install_plugin(tmp_path / "site", monkeypatch, "boom", """
        @vaereg.hookimpl
        def on_train_start(self):
            raise RuntimeError("boom")
        """)
    recipe = write_recipe(tmp_path, run={"epochs": 1}, plugins={"boom": {}})
    result = CliRunner().invoke(main, ["run", str(recipe)])
    assert result.exit_code == 1
    assert "Traceback" in result.stderr and 'raise RuntimeError("boom")' in result.stderr
    assert ("error: plugin 'boom' (distribution fake-boom 1.0) raised in hook "
            "'on_train_start': RuntimeError: boom\n(no checkpoint had been written: the run "
            "folder") in result.stderr  # a run that cannot be resumed leaves no folder


def test_two_distributions_claiming_one_name_is_a_clear_error(tmp_path, monkeypatch):
    for dist in ("fake-left", "fake-right"):
        install(tmp_path, monkeypatch, dist, {"vaereg.plugins": {"twin": "fake_twin:Plugin"}})
    with pytest.raises(vaereg.VaeregError, match="two installed distributions claim the same "
                       "plugin name: 'twin' by fake-left, fake-right"):
        vaereg.PLUGINS.entries()
