"""Which input a recipe key came from, so that a problem is blamed on the right one.

A key is blamed on ``--set`` when an override set it (or a table above it), or when the
recipe files do not hold it at all (an override made it up, as in ``--set
scheduler.name=cosine``); otherwise on the recipe file that set it (a base recipe that
the user's file extends, for a key only the base holds), even where ``--set`` changed a
key deeper down (``--set plugins.dropuot.p=0.3`` does not make ``dropuot`` its fault).
"""
from __future__ import annotations

from typing import Any, Iterable

OVERRIDE = "--set"


def key_paths(table: dict[str, Any], prefix: str = "") -> set[str]:
    """Every dotted key path in a nested table, tables included."""
    paths: set[str] = set()
    for key, value in table.items():
        path = f"{prefix}{key}"
        paths.add(path)
        if isinstance(value, dict):
            paths |= key_paths(value, f"{path}.")
    return paths


class KeyOrigins:
    """``files``: the file that set each key path (a recipe and the bases it extends);
    a key none of them set, or a table's, is blamed on the closest table above it that
    one set, else on ``source``."""

    def __init__(self, source: str, file_keys: Iterable[str], override_keys: Iterable[str],
                 files: dict[str, str] | None = None):
        self.source = source
        self.file_keys = set(file_keys)
        self.override_keys = set(override_keys)
        self.files = files or {}

    def of(self, key: str) -> str:
        """``--set`` or the recipe file, for a problem at dotted ``key``."""
        overridden = any(key == k or key.startswith(f"{k}.") for k in self.override_keys)
        if overridden or (key and self.override_keys and key not in self.file_keys):
            return OVERRIDE
        parts = key.split(".")
        for end in range(len(parts), 0, -1):
            setter = self.files.get(".".join(parts[:end]))
            if setter is not None:
                return setter
        return self.source
