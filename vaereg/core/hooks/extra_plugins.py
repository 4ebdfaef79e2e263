"""Plugins passed to a Trainer in code (``extra_plugins``), recorded in its checkpoints so
that a resume never continues without them in silence.

A checkpoint lists each one's name and class (``module:qualname``, as ``run.trainer``
records the trainer's class). A resume not given one of them (``vaereg run --resume`` is
given none) rebuilds it from its class, when the class imports and takes no arguments,
and registers it where it ran before (after the recipe's plugins, in the same order).
Otherwise the resume is refused (exit 2) with the call that resumes the run with it. A
plugin that shapes the model or the optimizer cannot be rebuilt: its hooks ran when the
trainer was built, before the checkpoint was read.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from vaereg.core.common.errors import VaeregError, first_line
from vaereg.core.common.import_path import class_path, import_object
from vaereg.core.hooks.hook_relay import HookRelay
from vaereg.core.hooks.plugin_manager import PASSED_IN_CODE, replace_extras

BUILD_TIME_HOOKS = ("build_layers", "configure_optimizer")


def recorded(extras: tuple[tuple[str, Any], ...]) -> list[list[str]]:
    """What a checkpoint keeps of them: [name, class path] pairs, in order."""
    return [[name, class_path(type(plugin))] for name, plugin in extras]


def rebuild(name: str, path: str) -> Any:
    """A new instance of the class at ``path``; a VaeregError saying why not."""
    try:
        cls = import_object(path, f"plugin '{name}'")
    except VaeregError as error:  # a PluginError (its module raised) says why as well
        raise VaeregError(first_line(error)) from None
    if not isinstance(cls, type):
        raise VaeregError(f"{path} is not a class")
    built = [hook for hook in BUILD_TIME_HOOKS if hasattr(getattr(cls, hook, None), "vaereg_impl")]
    if built:
        raise VaeregError(f"it implements {', '.join(built)}, which ran when the trainer was "
                          f"built, before the checkpoint was read")
    try:
        return cls()
    except Exception as error:
        raise VaeregError(f"{path}() failed: {type(error).__name__}: {first_line(error)}") from None


def resume_extras(trainer: Any, state: dict[str, Any]) -> None:
    """Give a resuming ``trainer`` the extra plugins its checkpoint ``state`` records:
    the ones it was passed, the missing ones rebuilt; refuse when one cannot be."""
    saved = state.get("extra_plugins", [])
    run_dir = Path(trainer.run_dir)
    if not (isinstance(saved, list) and all(
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair)
            for pair in saved)):
        raise VaeregError(f"{run_dir / 'checkpoints' / 'last.pt'}: extra_plugins is not a list "
                          f"of [name, class] pairs: the checkpoint is damaged")
    passed = dict(trainer._extra_plugins)
    for name, path in saved:
        if name in passed and class_path(type(passed[name])) != path:
            raise VaeregError(f"the run in {run_dir} was trained with plugin '{name}' of class "
                              f"{path}, but this trainer was given one of class "
                              f"{class_path(type(passed[name]))}: pass the plugin the run "
                              f"started with")
    missing = [(name, path) for name, path in saved if name not in passed]
    if not missing:
        return
    rebuilt, refused = {}, []
    for name, path in missing:
        try:
            rebuilt[name] = rebuild(name, path)
        except VaeregError as error:
            refused.append(f"'{name}' ({path}): {error}")
    if refused:
        calls = ", ".join(f"('{name}', {path.rpartition(':')[2]}(...))" for name, path in saved)
        raise VaeregError(
            f"the run in {run_dir} was trained with plugins passed to the Trainer in code, "
            f"and this resume cannot rebuild {'; '.join(refused)}. Resuming without them would "
            f"change the run; resume it in Python, passing them again:\n"
            f"  Trainer(load_run_recipe({str(run_dir)!r}), extra_plugins=[{calls}])"
            f".fit({str(run_dir)!r}, resume=True)\n"
            f"(load_run_recipe is in vaereg.core.run_folder.resume; "
            f"vaereg.run_main(trainer, run_dir, resume=True) does the same with vaereg run's "
            f"messages)")
    extras = [(name, passed[name] if name in passed else rebuilt[name],
               PASSED_IN_CODE if name in passed else f"rebuilt on resume from {path}")
              for name, path in saved]
    extras += [(name, plugin, PASSED_IN_CODE) for name, plugin in trainer._extra_plugins
               if name not in dict(saved)]
    trainer.plugin_manager = replace_extras(trainer.plugin_manager, trainer.recipe,
                                            trainer._extra_plugins, extras, trainer._trace_hooks)
    trainer.hook = HookRelay(trainer.plugin_manager, always_call=trainer._trace_hooks is not None)
    trainer._extra_plugins = tuple((name, plugin) for name, plugin, _ in extras)
