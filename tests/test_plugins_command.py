"""`vaereg plugins` lists distributions and versions; `vaereg plugins NAME` the options."""
from __future__ import annotations

import attrs
from click.testing import CliRunner

import vaereg
from vaereg.cli import main
from vaereg.testing import registered


def plugins(*args: str, disabled: str = ""):
    return CliRunner().invoke(main, ["plugins", *args], env={"VAEREG_DISABLE_PLUGINS": disabled})


def test_list_shows_each_plugin_with_distribution_and_version():
    result = plugins()
    assert result.exit_code == 0
    rows = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()}
    assert rows["dropout"] == ["vaereg", vaereg.__version__]
    assert rows.get("maxnorm") == ["vaereg-maxnorm", "0.1.0"], \
        "the example package is not installed: pip install --no-deps examples/vaereg-maxnorm"


def test_list_marks_plugins_disabled_by_the_environment():
    lines = plugins(disabled="maxnorm").stdout.splitlines()
    assert any(line.startswith("maxnorm") and line.endswith("(disabled by VAEREG_DISABLE_PLUGINS)")
               for line in lines)
    assert not any(line.startswith("dropout") and "disabled" in line for line in lines)


def test_name_shows_options_with_types_defaults_and_help():
    result = plugins("dropout")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("dropout (plugin, distribution vaereg 0.1.0): Dropout after hidden")
    assert "  p = 0.2  (a number)" in lines
    assert lines[lines.index("  p = 0.2  (a number)") + 1] == "      probability of zeroing a unit"
    assert "  where = 'both'  (one of 'encoder', 'decoder', 'both')" in lines


def test_plugin_without_any_docstring_is_shown():
    @attrs.frozen
    class Options:
        level: int = vaereg.option(1, "how much")

    Bare = type("Bare", (), {"Options": Options, "__module__": __name__, "__doc__": None})
    with registered("bare", Bare):
        result = plugins("bare")
    assert result.exit_code == 0, result.output
    first_line = __doc__.splitlines()[0]  # no class docstring: the module's is shown
    assert result.stdout.splitlines()[:2] == [f"bare (plugin, registered in code): {first_line}",
                                              "  level = 1  (an integer)"]


def test_unknown_name_exits_2_with_a_suggestion():
    result = plugins("dropot")
    assert result.exit_code == 2
    assert "no plugin, model or dataset is called 'dropot' (did you mean 'dropout'?)" in result.stderr
