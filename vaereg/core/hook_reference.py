"""Renders the hook reference (docs/hooks.md) from the hookspecs' docstrings.

``python -m vaereg.core.hook_reference > docs/hooks.md`` regenerates it; a test fails
when the two drift apart.
"""
from __future__ import annotations

import inspect

from vaereg.core import hookspecs


def hook_names() -> list[str]:
    """Hookspec names in the order they are defined (the order of a run)."""
    functions = [f for _, f in inspect.getmembers(hookspecs, inspect.isfunction)
                 if hasattr(f, "vaereg_spec")]
    return [f.__name__ for f in sorted(functions, key=lambda f: f.__code__.co_firstlineno)]


def render() -> str:
    lines = ["# Hook reference", "",
             "Generated from `vaereg/core/hookspecs.py`; do not edit by hand.", "",
             inspect.cleandoc(hookspecs.__doc__), ""]
    for name in hook_names():
        function = getattr(hookspecs, name)
        signature = str(inspect.signature(function)).replace("'", "")
        lines += [f"## `{name}{signature}`", "", inspect.cleandoc(function.__doc__), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(), end="")
