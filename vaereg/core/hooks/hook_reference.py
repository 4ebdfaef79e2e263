"""Renders the hook reference (docs/hooks.md) from the hookspecs' docstrings.

``python -m vaereg.core.hooks.hook_reference > docs/hooks.md`` regenerates it; a test fails
when the two drift apart.
"""
from __future__ import annotations

import inspect

from vaereg.core.hooks import hookspecs
from vaereg.core.hooks.plugin_manager import hook_names


def render() -> str:
    lines = ["# Hook reference", "",
             "Generated from `vaereg/core/hooks/hookspecs.py`; do not edit by hand.", "",
             inspect.cleandoc(hookspecs.__doc__), ""]
    for name in hook_names():
        function = getattr(hookspecs, name)
        signature = str(inspect.signature(function)).replace("'", "")
        lines += [f"## `{name}{signature}`", "", inspect.cleandoc(function.__doc__), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(), end="")
