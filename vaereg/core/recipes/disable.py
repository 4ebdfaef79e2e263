"""Turning plugins off without uninstalling them (``--disable-plugin``, an env variable).

Disabled plugins are removed from the recipe table *before* validation, so a plugin
that fails to import can still be switched off.
"""
from __future__ import annotations

import os
import re
from typing import Iterable, Mapping

from vaereg.core.common.errors import VaeregError, did_you_mean
from vaereg.core.recipes.registry import PLUGINS

ENV_VAR = "VAEREG_DISABLE_PLUGINS"


def requested(names: Iterable[str] = (),
              environ: Mapping[str, str] = os.environ) -> tuple[str, ...]:
    """``names`` plus those in ``$VAEREG_DISABLE_PLUGINS`` (comma or space separated),
    without repeats, in order."""
    from_env = re.split(r"[,\s]+", environ.get(ENV_VAR, ""))
    return tuple(dict.fromkeys(n for n in [*names, *from_env] if n))


def drop_plugins(table: dict, names: Iterable[str]) -> tuple[dict, tuple[str, ...]]:
    """Remove the ``[plugins.<name>]`` tables whose name or ``use`` is in ``names``.

    Returns the new table and the recipe names removed. A name that is neither installed
    nor in the recipe is an error (a typo would otherwise silently disable nothing).
    """
    names = tuple(names)
    if not names:
        return table, ()
    plugins = table.get("plugins", {})
    plugins = plugins if isinstance(plugins, dict) else {}  # validation reports a bad table
    uses = {name: (options.get("use", name) if isinstance(options, dict) else name)
            for name, options in plugins.items()}
    known = set(PLUGINS.names()) | set(uses) | set(uses.values())
    unknown = [name for name in names if name not in known]
    if unknown:
        raise VaeregError("cannot disable " + "; ".join(
            f"unknown plugin '{name}'" + did_you_mean(name, known) for name in unknown)
            + f" (installed: {', '.join(PLUGINS.names()) or 'none'}; in this recipe: "
            f"{', '.join(plugins) or 'none'})")
    dropped = tuple(name for name, use in uses.items() if name in names or use in names)
    if not dropped:
        return table, ()
    kept = {name: options for name, options in plugins.items() if name not in dropped}
    return {**table, "plugins": kept}, dropped
