"""One pluggy PluginManager per Trainer, holding the recipe's plugins in recipe order.

Failures are attributed: each plugin's hook implementations are wrapped once, when the
plugin is registered, so an exception inside one becomes a :class:`PluginError` naming
the plugin, where it comes from and the hook. Only implemented hooks pay (one extra
Python call each); tracing costs nothing unless it is switched on.
"""
from __future__ import annotations

from typing import Any, Callable

import pluggy

from vaereg.core.common.errors import PluginError, VaeregError, did_you_mean
from vaereg.core.hooks import hookspecs
from vaereg.core.recipes.recipe import Recipe
from vaereg.core.recipes.registry import PLUGINS

PASSED_IN_CODE = "passed to the Trainer in code"
BUILT_IN = "built into vaereg"


def hook_names() -> list[str]:
    """Every hook of the reference (``vaereg.core.hooks.hookspecs``), in definition order."""
    return [name for name, value in vars(hookspecs).items() if hasattr(value, "vaereg_spec")]


def reject_hook_methods(cls: type, base: type) -> None:
    """A Trainer subclass is not a plugin: a method it adds under a hook's name would
    never be called as a hook (template methods of ``base`` keep their meaning)."""
    misnamed = [name for name in hook_names() if name in vars(cls) and not hasattr(base, name)]
    if misnamed:
        raise TypeError(f"{cls.__name__} defines {', '.join(misnamed)}, named like hooks, but "
                        f"trainer methods are not hooks and would never be called: put them "
                        f"in a plugin (Trainer(..., extra_plugins=[(name, plugin)]) or a "
                        f"recipe plugin); see docs/subclassing.md")


def make_plugin_manager(recipe: Recipe, extra: tuple[tuple[str, Any], ...] = (),
                        trace: Callable[[str], None] | None = None,
                        builtins: list[tuple[str, Any]] = ()) -> pluggy.PluginManager:
    """Instantiate each recipe plugin with its options and register it.

    pluggy calls the last registered implementation first, so plugins are registered in
    reverse recipe order: hooks then run in the order the recipe lists them. ``extra``
    (name, object) pairs, e.g. a hook-call recorder, run after the recipe's plugins, and
    the core's ``builtins`` (``vaereg.core.builtin``) after those.
    ``trace``, when given, receives one line per hook call (see :func:`trace_hook_calls`).
    """
    built = []
    for spec in recipe.plugins:
        origin = PLUGINS.origin(spec.use)
        try:
            plugin = spec.cls(spec.options)
        except VaeregError:
            raise
        except Exception as error:
            raise PluginError(f"plugin '{spec.name}' ({origin}) failed to start: "
                              f"{type(error).__name__}: {error}") from error
        built.append((spec.name, plugin, origin))
    return _manager([(name, plugin, BUILT_IN) for name, plugin in builtins],
                    [(name, plugin, PASSED_IN_CODE) for name, plugin in extra], built, trace)


def replace_extras(pm: pluggy.PluginManager, recipe: Recipe, old: tuple[tuple[str, Any], ...],
                   new: list[tuple[str, Any, str]],
                   trace: Callable[[str], None] | None = None) -> pluggy.PluginManager:
    """A manager holding ``pm``'s recipe and core plugins (the same objects, in the same
    order) with ``new`` (name, object, origin) triples in place of the ``old`` extras:
    how a resume adds the plugins it rebuilt where they ran in the first place."""
    taken = {spec.name for spec in recipe.plugins} | {name for name, _ in old}
    core = [(name, plugin, BUILT_IN) for name, plugin in reversed(pm.list_name_plugin())
            if name not in taken]  # registered last-first: back to call order
    built = [(spec.name, pm.get_plugin(spec.name), PLUGINS.origin(spec.use))
             for spec in recipe.plugins]
    return _manager(core, new, built, trace)


def _manager(builtins: list, extra: list, built: list,
             trace: Callable[[str], None] | None) -> pluggy.PluginManager:
    """Register (name, object, origin) triples so that hooks call ``built`` (the recipe's
    plugins, in recipe order) first, then ``extra``, then the core's ``builtins``."""
    pm = pluggy.PluginManager("vaereg")
    pm.add_hookspecs(hookspecs)
    if trace is not None:
        trace_hook_calls(pm, trace)
    for name, plugin, origin in [*reversed(builtins), *reversed(extra), *reversed(built)]:
        register(pm, name, plugin, origin)
    return pm


def register(pm: pluggy.PluginManager, name: str, plugin: Any, origin: str) -> None:
    """Register ``plugin``, reject hooks that do not exist or are not marked as hooks,
    and attribute its failures."""
    if type(plugin).__hash__ is None:  # what attrs' default eq=True leaves
        raise VaeregError(
            f"plugin '{name}' ({origin}): {type(plugin).__name__} compares by value and is "
            f"unhashable, so pluggy cannot hold it, and two instances with equal options would "
            f"look like one plugin: give it identity equality, e.g. @attrs.define(eq=False)")
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as error:
        raise PluginError(f"plugin '{name}' ({origin}) does not fit the hook reference "
                          f"(docs/hooks.md): {error}") from error
    except ValueError as error:  # an equal plugin is registered already (value equality)
        raise VaeregError(f"plugin '{name}' cannot be registered: {error}; if its class "
                          f"compares by value (attrs' default), give it identity equality, "
                          f"e.g. @attrs.define(eq=False)") from None
    known = hook_names()
    callers = pm.get_hookcallers(plugin) or []
    implemented = {caller.name for caller in callers}
    unmarked = [hook for hook in known
                if hook not in implemented and callable(getattr(plugin, hook, None))]
    if unmarked:
        raise PluginError(f"plugin '{name}' ({origin}) has methods named like hooks but not "
                          f"marked @vaereg.hookimpl, so never called: {', '.join(unmarked)}")
    for caller in callers:
        impls = [impl for impl in caller.get_hookimpls() if impl.plugin is plugin]
        if caller.spec is None and not all(impl.optionalhook for impl in impls):
            raise PluginError(f"plugin '{name}' ({origin}) implements hook '{caller.name}', "
                              f"which does not exist" + did_you_mean(caller.name, known)
                              + "; the hooks are listed in docs/hooks.md")
        for impl in impls:
            if not (impl.wrapper or impl.hookwrapper):
                impl.function = attributed(impl.function, name, origin, caller.name)


def attributed(function: Callable, plugin: str, origin: str, hook: str) -> Callable:
    """``function`` re-raising its exceptions as a PluginError that says whose they are.

    A :class:`VaeregError` passes unchanged: the plugin already says what is wrong (or it
    comes from a nested hook call, already attributed).
    """
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except VaeregError:
            raise
        except Exception as error:
            raise PluginError(f"plugin '{plugin}' ({origin}) raised in hook '{hook}': "
                              f"{type(error).__name__}: {error}") from error
    return call


def trace_hook_calls(pm: pluggy.PluginManager, write: Callable[[str], None]) -> None:
    """Report every hook call to ``write``: the moment and the plugins called, in order.

    pluggy's monitoring replaces its call path only on this manager, so untraced
    trainers pay nothing. Checkpoint hooks, called per plugin, are not traced.
    """
    def before(hook: str, impls: list, kwargs: dict[str, Any]) -> None:
        trainer = kwargs["trainer"]  # every hook receives it
        names = ", ".join(impl.plugin_name for impl in reversed(impls)) or "-"
        write(f"[hook] epoch {trainer.epoch} step {trainer.step} {hook}: {names}")

    def after(outcome: Any, hook: str, impls: list, kwargs: dict[str, Any]) -> None:
        return None

    pm.add_hookcall_monitoring(before, after)


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
