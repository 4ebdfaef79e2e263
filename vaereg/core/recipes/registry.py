"""Name -> class registries for plugins, models, datasets and metrics, fed by entry points.

Built-ins are declared in vaereg's own ``setup.cfg`` under the same groups third parties
use, so there is one discovery path. Listing names reads metadata only; a class is
imported when a recipe names it.
"""
from __future__ import annotations

from importlib import metadata
from typing import Any

import attrs

from vaereg.core.common.errors import PluginError, VaeregError, did_you_mean
from vaereg.core.common.import_path import class_path, import_object, is_import_path

IN_CODE = "registered in code"


@attrs.frozen
class Entry:
    name: str
    value: str
    distribution: str
    version: str

    @property
    def origin(self) -> str:
        """Where the entry comes from, for messages: 'distribution vaereg-maxnorm 0.1.0'."""
        if self.distribution == IN_CODE:
            return IN_CODE
        return f"distribution {self.distribution} {self.version}".rstrip()


def options_problem(obj: Any) -> str | None:
    """Why ``obj`` cannot be built from a recipe table (None if it can): recipes build
    its options from its ``Options`` attrs class, then call ``obj(options)``."""
    if not isinstance(obj, type):
        return f"found {type(obj).__name__} {obj!r:.60}, not a class"
    options = getattr(obj, "Options", None)
    if options is None:
        return f"class {obj.__qualname__} has no Options attribute"
    if not (isinstance(options, type) and attrs.has(options)):
        return (f"{obj.__qualname__}.Options is {type(options).__name__} {options!r:.60}, "
                f"not an attrs class")
    return None


class Registry:
    """One entry-point group plus classes registered in code (``register``).

    ``needs_options``: what the group names is built from a recipe table, so a class
    without a valid ``Options`` is refused when loaded, with a message, not an
    AttributeError later.
    """

    def __init__(self, group: str, kind: str, needs_options: bool = True):
        self.group = group
        self.kind = kind
        self.needs_options = needs_options
        self._in_code: dict[str, Any] = {}
        self._loaded: dict[str, Any] = {}

    def entries(self) -> dict[str, Entry]:
        """Installed entries by name, without importing them."""
        found: dict[str, Entry] = {}
        duplicates: dict[str, set[str]] = {}
        for ep in metadata.entry_points(group=self.group):
            dist = ep.dist.name if ep.dist else "unknown"
            version = ep.dist.version if ep.dist else ""
            if ep.name in found and found[ep.name].distribution != dist:
                duplicates.setdefault(ep.name, {found[ep.name].distribution}).add(dist)
                continue
            found[ep.name] = Entry(ep.name, ep.value, dist, version)
        if duplicates:
            text = "; ".join(f"'{n}' by {', '.join(sorted(d))}" for n, d in duplicates.items())
            raise VaeregError(f"two installed distributions claim the same {self.kind} name: "
                              f"{text}. Uninstall one of them.")
        for name, cls in self._in_code.items():
            found[name] = Entry(name, f"{cls.__module__}:{cls.__qualname__}", IN_CODE, "")
        return found

    def names(self) -> list[str]:
        return sorted(self.entries())

    def register(self, name: str, cls: Any) -> None:
        """Make ``cls`` usable under ``name`` in recipes of this process."""
        self._in_code[name] = cls
        self._loaded.pop(name, None)

    def unregister(self, name: str) -> None:
        """Undo :meth:`register` (tests use it through ``vaereg.testing.registered``)."""
        del self._in_code[name]

    def origin(self, name: str) -> str:
        """Where ``name`` comes from (see :attr:`Entry.origin`)."""
        if is_import_path(name):
            return f"imported from {name}"
        entry = self.entries().get(name)
        return entry.origin if entry else "unknown origin"

    def recorded(self, name: str) -> str:
        """The name a run records: a class registered in code by its import path (a
        fresh process, resuming the run, does not have the registration), else ``name``."""
        return class_path(self._in_code[name]) if name in self._in_code else name

    def unknown(self, name: str) -> str:
        """The message for a name nobody provides."""
        names = self.names()
        return (f"unknown {self.kind} '{name}'" + did_you_mean(name, names)
                + f"; installed: {', '.join(names) or 'none'}")

    def load(self, name: str) -> Any:
        """The class behind ``name`` (an entry point, a registration or an import path,
        ``package.module:Class``); a failing import names the entry and distribution."""
        if is_import_path(name):
            return self._checked(name, import_object(name, self.kind), f"imported from {name}")
        if name in self._in_code:
            return self._checked(name, self._in_code[name], IN_CODE)
        if name in self._loaded:
            return self._loaded[name]
        entries = self.entries()
        if name not in entries:
            raise KeyError(name)
        entry = entries[name]
        try:
            module_name, _, attr = entry.value.partition(":")
            obj = __import__(module_name, fromlist=["_"])
            for part in attr.split("."):
                obj = getattr(obj, part)
        except Exception as error:  # any import-time failure of third-party code
            raise PluginError(f"{self.kind} '{name}' ({entry.origin}, {entry.value}) failed "
                              f"to import: {type(error).__name__}: {error}") from error
        self._loaded[name] = self._checked(name, obj, f"{entry.origin}, {entry.value}")
        return obj

    def _checked(self, name: str, obj: Any, origin: str) -> Any:
        problem = options_problem(obj) if self.needs_options else None
        if problem:
            raise VaeregError(f"{self.kind} '{name}' ({origin}): expected a class with an "
                              f"attrs class Options (its recipe options; an empty "
                              f"@attrs.frozen class for none), but {problem}")
        return obj


PLUGINS = Registry("vaereg.plugins", "plugin")
MODELS = Registry("vaereg.models", "model")
DATASETS = Registry("vaereg.datasets", "dataset")
METRICS = Registry("vaereg.metrics", "metric")
BACKBONES = Registry("vaereg.backbones", "backbone", needs_options=False)
