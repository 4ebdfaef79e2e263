"""Plugins for tests: a base without options, and installed-looking distributions.

``importlib.metadata`` finds a ``<name>-<version>.dist-info`` folder on ``sys.path`` as
it finds a pip-installed package, so these tests exercise the real discovery path.
Use names unique to each test: imported modules and loaded classes are cached.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import attrs
import pytest


@attrs.frozen
class NoOptions:
    """The options of a plugin that has none."""


class OptionlessPlugin:
    """Base class for test plugins without options."""

    Options = NoOptions

    def __init__(self, options: NoOptions):
        self.options = options


def install(site: Path, monkeypatch: pytest.MonkeyPatch, dist: str,
            entry_points: dict[str, dict[str, str]], modules: dict[str, str] | None = None) -> None:
    """Make distribution ``dist`` 1.0 with ``{group: {name: "module:attr"}}`` entry points
    and ``{module name: source}`` modules visible to this test."""
    info = site / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("".join(
        f"[{group}]\n" + "".join(f"{name} = {value}\n" for name, value in names.items())
        for group, names in entry_points.items()))
    for module, source in (modules or {}).items():
        (site / f"{module}.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(site))


def install_plugin(site: Path, monkeypatch: pytest.MonkeyPatch, name: str, body: str) -> None:
    """Distribution ``fake-<name>`` with plugin ``name``: an :class:`OptionlessPlugin`
    whose methods are ``body`` (source)."""
    source = "import vaereg\nfrom fake_plugins import OptionlessPlugin\n\n" \
        "class Plugin(OptionlessPlugin):\n" + textwrap.indent(textwrap.dedent(body), "    ")
    install(site, monkeypatch, f"fake-{name}", {"vaereg.plugins": {name: f"fake_{name}:Plugin"}},
            {f"fake_{name}": source})
