"""One pluggy PluginManager per Trainer, holding the recipe's plugins in recipe order."""
from __future__ import annotations

from typing import Any

import pluggy

from vaereg.core import hookspecs
from vaereg.core.errors import VaeregError
from vaereg.core.recipe import Recipe


def make_plugin_manager(recipe: Recipe, extra: tuple[tuple[str, Any], ...] = ()) -> pluggy.PluginManager:
    """Instantiate each recipe plugin with its options and register it.

    pluggy calls the last registered implementation first, so plugins are registered in
    reverse recipe order: hooks then run in the order the recipe lists them. ``extra``
    (name, object) pairs, e.g. a hook-call recorder, run after the recipe's plugins.
    """
    pm = pluggy.PluginManager("vaereg")
    pm.add_hookspecs(hookspecs)
    instances = [(name, plugin) for name, plugin in reversed(extra)]
    instances += [(spec.name, spec.cls(spec.options)) for spec in reversed(recipe.plugins)]
    for name, plugin in instances:
        try:
            pm.register(plugin, name=name)
        except ValueError as error:
            raise VaeregError(f"plugin '{name}' cannot be registered: {error}") from None
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as error:
        raise VaeregError(f"plugin '{pm.get_name(error.plugin)}' implements a hook that does "
                          f"not exist: {error}. See docs/hooks.md for the hook names.") from None
    return pm


def call_each(pm: pluggy.PluginManager, hook_name: str, **kwargs: Any) -> dict[str, Any]:
    """Call each plugin's implementation of a hook on its own: {plugin name: result}.

    Used where results must stay attributed to a plugin (checkpoint state).
    """
    results = {}
    for impl in getattr(pm.hook, hook_name).get_hookimpls():
        args = {name: kwargs[name] for name in impl.argnames}
        result = impl.function(**args)
        if result is not None:
            results[pm.get_name(impl.plugin)] = result
    return results


def call_one(pm: pluggy.PluginManager, hook_name: str, plugin_name: str, **kwargs: Any) -> None:
    """Call the named plugin's implementation of a hook, if it has one."""
    for impl in getattr(pm.hook, hook_name).get_hookimpls():
        if pm.get_name(impl.plugin) == plugin_name:
            impl.function(**{name: kwargs[name] for name in impl.argnames})
