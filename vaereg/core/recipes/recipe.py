"""Recipes: TOML files that say what to train and which plugins regularize it.

Loading resolves ``extends`` (deep merge, relative paths, cycles rejected), applies
``--set key.path=value`` overrides (values are TOML literals, never evaluated), then
validates every section and every plugin's options, collecting all problems into one
:class:`RecipeError`.
"""
from __future__ import annotations

import copy
import re
import tomllib
from pathlib import Path
from typing import Any, Iterable, Literal

import attrs

from vaereg.core.common.errors import PluginError, Problem, RecipeError, VaeregError, did_you_mean
from vaereg.core.common.import_path import empty_or_import_path
from vaereg.core.common.options import build, found, in_range, option, positive, to_table
from vaereg.core.data.data_options import LOADER_KEYS, LoaderOptions, pop_data_seed
from vaereg.core.model import model_contract
from vaereg.core.recipes.disable import drop_plugins
from vaereg.core.recipes.key_origins import KeyOrigins, key_paths
from vaereg.core.recipes.lr_schedule import SchedulerOptions
from vaereg.core.recipes.optimizers import OPTIMIZERS
from vaereg.core.recipes.recipe_files import read_recipe_files
from vaereg.core.recipes.registry import DATASETS, MODELS, PLUGINS
from vaereg.core.recipes.run_cadence import CheckpointOptions, LoggingOptions

SECTIONS = ("run", "data", "model", "optimizer", "scheduler", "logging", "checkpoint",
            "plugins")
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _safe_name(value: str) -> str | None:
    if SAFE_NAME.match(value) and ".." not in value:
        return None
    return "a plain folder name (letters, digits, '.', '_', '-'; no '/', '..' or NUL)"


def _monitor_name(value: str) -> str | None:
    return None if value == "auto" or value.startswith("val/") else \
        "'auto' or a validation metric such as 'val/neg_elbo'"


@attrs.frozen
class RunOptions:
    name: str = option("run", "run name; runs go to <out_dir>/<name>/version_<k>", check=_safe_name)
    seed: int = option(0, "seed for Python and torch (initialization, batch order, dropout) "
                       "and, unless data.seed is set, the data split", check=in_range(0))
    epochs: int = option(10, "number of training epochs", check=in_range(0))
    out_dir: str = option("runs", "folder that holds run folders (any path)")
    device: Literal["auto", "cpu", "cuda"] = option("auto", "'auto' takes CUDA when available")
    log_every_n_steps: int = option(10, "write per-step scalars every n optimizer steps",
                                    check=positive)
    progress: bool = option(True, "show progress: a bar on a terminal, else a line per epoch")
    validate_every_n_epochs: int = option(1, "validate every n epochs (and after the last)",
                                          check=positive)
    monitor: str = option("auto", "validation metric that picks best.pt, early stopping and "
                          "the plateau schedule (lower is better); 'auto' = val/neg_elbo, or "
                          "val/loss for a model without an ELBO", check=_monitor_name)
    trainer: str = option("", "the Trainer class, package.module:Class or file.py:Class; "
                          "'' = vaereg.Trainer (a run records the class that trained it)",
                          check=empty_or_import_path)
    on_nonfinite: Literal["stop", "skip"] = option(
        "stop", "a NaN/inf loss or gradient: 'stop' the run (exit code 3, checkpoints from "
        "before kept) or 'skip' the step (counted in metrics.json as skipped_steps)")
    precision: Literal["fp32", "bf16", "fp16"] = option(
        "fp32", "forward pass and loss under autocast to bf16 or fp16 (fp16 with a gradient "
        "scaler); weights, optimizer and metrics stay fp32")
    compile: bool = option(False, "torch.compile the model's training forward pass "
                           "(checkpoints keep plain parameter names)")


@attrs.frozen
class Component:
    """A named, registry-provided thing (dataset, model, optimizer) and its options."""

    name: str
    cls: Any
    options: Any


@attrs.frozen
class DataSpec(Component):
    """The ``[data]`` table: the dataset (``name``, ``cls``, its own ``options``) and the
    keys the core owns for every dataset (``loader``: batch size, workers, classes)."""

    loader: LoaderOptions = LoaderOptions()


@attrs.frozen
class PluginSpec:
    """One ``[plugins.<name>]`` table: ``use`` is the registry entry (default: name)."""

    name: str
    use: str
    cls: Any
    options: Any


@attrs.frozen
class Recipe:
    run: RunOptions
    data: DataSpec
    model: Component
    optimizer: Component
    scheduler: SchedulerOptions
    logging: LoggingOptions
    checkpoint: CheckpointOptions
    plugins: tuple[PluginSpec, ...]
    source: str
    disabled: tuple[str, ...] = ()  # recipe plugin names turned off by ``load_recipe(disable=)``
    data_seed: int | None = None  # ``data.seed``; None: follow run.seed

    @property
    def seed_for_data(self) -> int:
        """The seed of the data split and subset: ``data.seed``, else ``run.seed``."""
        return self.run.seed if self.data_seed is None else self.data_seed

    def to_table(self) -> dict[str, Any]:
        """The fully resolved recipe (defaults filled in), ready for ``tomli_w``."""
        table: dict[str, Any] = {"run": to_table(self.run)}
        table["data"] = {"name": DATASETS.recorded(self.data.name),
                         **to_table(self.data.loader), **to_table(self.data.options)}
        for section, registry in (("model", MODELS), ("optimizer", None)):
            part = getattr(self, section)
            name = registry.recorded(part.name) if registry else part.name
            table[section] = {"name": name, **to_table(part.options)}
        if self.data_seed is not None:
            table["data"]["seed"] = self.data_seed
        for section in ("scheduler", "logging", "checkpoint"):
            table[section] = to_table(getattr(self, section))
        table["plugins"] = {}
        for spec in self.plugins:
            use = PLUGINS.recorded(spec.use)
            entry = {} if use == spec.name else {"use": use}
            table["plugins"][spec.name] = {**entry, **to_table(spec.options)}
        return table

    def plugin(self, name: str) -> PluginSpec:
        for spec in self.plugins:
            if spec.name == name:
                return spec
        raise KeyError(name)


def parse_override(text: str) -> tuple[list[str], Any]:
    """``a.b.c=value`` -> (["a", "b", "c"], value); the value is a TOML literal, and a
    bare word that is not valid TOML is taken as a string (``run.device=cpu``)."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise RecipeError([Problem("--set", text, "expected KEY.PATH=VALUE, e.g. "
                                   "plugins.dropout.p=0.3")])
    try:
        value = tomllib.loads(f"value = {raw.strip()}")["value"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return key.split("."), value


def apply_overrides(table: dict, overrides: Iterable[str]) -> tuple[dict, set[str]]:
    """Apply ``--set`` overrides; returns the new table and the dotted keys set."""
    table = copy.deepcopy(table)
    keys: set[str] = set()
    for text in overrides:
        path, value = parse_override(text)
        node = table
        for depth, part in enumerate(path[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise RecipeError([Problem("--set", ".".join(path[:depth + 1]),
                                           f"is {found(child)}, not a table")])
            node = child
        node[path[-1]] = value
        keys.add(".".join(path))
    return table, keys


class _Validator:
    """Collects problems while building each section."""

    def __init__(self, source: str, origins: KeyOrigins):
        self.source = source
        self.origins = origins
        self.problems: list[Problem] = []

    def where(self, key: str) -> str:
        return self.origins.of(key)

    def add(self, key: str, message: str) -> None:
        self.problems.append(Problem(self.where(key), key, message))

    def build(self, cls: type, table: Any, prefix: str,
              also_known: frozenset[str] = frozenset()) -> Any:
        instance, problems = build(cls, table, self.source, prefix, also_known)
        for p in problems:
            self.problems.append(attrs.evolve(p, source=self.where(p.key)))
        return instance

    def component(self, section: str, table: Any, choices: dict[str, Any] | None,
                  registry: Any = None, default: str | None = None,
                  also_known: frozenset[str] = frozenset()) -> Component | None:
        if not isinstance(table, dict):
            self.add(section, f"expected a table, found {found(table)}")
            return None
        table = dict(table)
        name = table.pop("name", default)
        if not isinstance(name, str):
            self.add(f"{section}.name", f"expected a string naming the {section}, found "
                     f"{'nothing' if name is None else found(name)}")
            return None
        try:
            cls = choices[name][1] if choices is not None else registry.load(name)
        except KeyError:
            known = choices if choices is not None else registry.names()
            self.add(f"{section}.name", f"unknown {section} '{name}'" + did_you_mean(name, known)
                     + f"; known: {', '.join(sorted(known))}")
            return None
        except PluginError:  # third-party code failed: not a recipe problem
            raise
        except VaeregError as error:
            self.add(f"{section}.name", str(error))
            return None
        options_cls = cls if choices is not None else cls.Options
        options = self.build(options_cls, table, section, also_known)
        return Component(name, cls, options) if options is not None else None

    def data(self, table: Any) -> DataSpec | None:
        """``[data]``: the core's keys (:class:`LoaderOptions`) and the dataset's own."""
        if not isinstance(table, dict):
            self.add("data", f"expected a table, found {found(table)}")
            return None
        loader = self.build(LoaderOptions, {k: v for k, v in table.items() if k in LOADER_KEYS},
                            "data")
        dataset = self.component("data", {k: v for k, v in table.items() if k not in LOADER_KEYS},
                                 None, DATASETS, "fashion_mnist", also_known=LOADER_KEYS)
        if dataset is None or loader is None:
            return None
        clash = sorted(LOADER_KEYS & {f.name for f in attrs.fields(dataset.cls.Options)})
        if clash:
            self.add("data.name", f"dataset '{dataset.name}' declares {', '.join(clash)} in its "
                     f"Options, but the core owns these [data] keys for every dataset: remove "
                     f"them from {dataset.cls.Options.__qualname__} (read "
                     f"trainer.recipe.data.loader instead)")
            return None
        return DataSpec(dataset.name, dataset.cls, dataset.options, loader)

    def plugins(self, table: Any) -> tuple[PluginSpec, ...]:
        if not isinstance(table, dict):
            self.add("plugins", f"expected a table of plugin tables, found {found(table)}")
            return ()
        specs = []
        for name, options in table.items():
            key = f"plugins.{name}"
            if not isinstance(options, dict):
                self.add(key, f"expected a table of options, found {found(options)}")
                continue
            options = dict(options)
            use = options.pop("use", name)
            if not isinstance(use, str):
                self.add(f"{key}.use", f"expected a plugin name (string), found {found(use)}")
                continue
            try:
                cls = PLUGINS.load(use)
            except KeyError:
                self.add(f"{key}.use" if use != name else key, PLUGINS.unknown(use))
                continue
            except PluginError:
                raise
            except VaeregError as error:
                self.add(key, str(error))
                continue
            built = self.build(cls.Options, options, key)
            if built is not None:
                specs.append(PluginSpec(name, use, cls, built))
        return tuple(specs)

    def whole_recipe(self, recipe: "Recipe") -> None:
        """Checks that need the whole recipe: the model contract (the model's declarations,
        each plugin's ``requires`` against them) and each plugin class's optional
        ``check_recipe(recipe, name)``, which yields ``(key path, message)`` pairs, so
        ``vaereg validate`` refuses everything ``vaereg run`` would."""
        for key, message in contract_problems(recipe):
            self.add(key, message)
        for spec in recipe.plugins:
            check_recipe = getattr(spec.cls, "check_recipe", None)
            for key, message in (check_recipe(recipe, spec.name) if check_recipe else ()):
                self.add(key, message)


def contract_problems(recipe: Recipe) -> Iterable[tuple[str, str]]:
    """The model contract at load time (``vaereg.core.model.model_contract``): the model's
    declarations, and each plugin the model cannot serve, by name with the reason."""
    model = recipe.model
    for message in model_contract.declaration_problems(model.cls):
        yield "model.name", f"model '{model.name}': {message}"
    if recipe.run.monitor == "val/neg_elbo" and not model_contract.has(model.cls,
                                                                       model_contract.ELBO):
        yield "run.monitor", (f"model '{model.name}' has no ELBO, so there is no "
                              f"val/neg_elbo; use 'auto' or 'val/loss'")
    for spec in recipe.plugins:
        for message in model_contract.requirement_problems(spec.cls):
            yield f"plugins.{spec.name}", f"plugin '{spec.use}' {message}"
        reason = model_contract.why_not("plugin", spec.name, spec.cls, model.name, model.cls)
        if reason:
            yield f"plugins.{spec.name}", reason


def validate(table: dict, source: str, override_keys: set[str] = frozenset(),
             file_keys: set[str] | None = None, origins: dict[str, str] | None = None) -> Recipe:
    """Build a :class:`Recipe` from a merged table, or raise every problem at once.

    ``file_keys``: the key paths the recipe files held before overrides (default: all of
    ``table``'s); problems elsewhere are blamed on ``--set``. ``origins``: the file that
    set each key (a base recipe's keys are blamed on it; default: ``source``).
    """
    check = _Validator(source, KeyOrigins(source, key_paths(table) if file_keys is None
                                          else file_keys, override_keys, origins))
    for key in table:
        if key not in SECTIONS:
            check.add(key, "unknown section" + did_you_mean(key, SECTIONS)
                      + f"; sections: {', '.join(SECTIONS)} (and extends, in recipe files)")
    run = check.build(RunOptions, table.get("run", {}), "run")
    data_table, data_seed, seed_problem = pop_data_seed(table.get("data", {}))
    if seed_problem:
        check.add("data.seed", seed_problem)
    data = check.data(data_table)
    model = check.component("model", table.get("model", {}), None, MODELS, "vanilla")
    optimizer = check.component("optimizer", table.get("optimizer", {}), OPTIMIZERS, None, "adam")
    sections = {name: check.build(cls, table.get(name, {}), name)
                for name, cls in (("scheduler", SchedulerOptions), ("logging", LoggingOptions),
                                  ("checkpoint", CheckpointOptions))}
    plugins = check.plugins(table.get("plugins", {}))
    if check.problems:
        raise RecipeError(check.problems)
    recipe = Recipe(run, data, model, optimizer, plugins=plugins, source=source,
                    data_seed=data_seed, **sections)
    check.whole_recipe(recipe)
    if check.problems:
        raise RecipeError(check.problems)
    return recipe


def load_recipe(path: str | Path | None = None, overrides: Iterable[str] = (),
                table: dict | None = None, disable: Iterable[str] = ()) -> Recipe:
    """Read, merge, override and validate a recipe file (or a ready table).

    ``disable``: plugin names (recipe names or entry point names) to leave out; see
    ``vaereg.core.recipes.disable``. The recipe's ``disabled`` lists what was left out.
    """
    if table is None and path is None:
        raise ValueError("give a recipe path or a table")
    source = str(path) if table is None else "<recipe table>"
    files = read_recipe_files(Path(path)) if table is None else None
    merged = files.table if files else copy.deepcopy(table)
    file_keys = key_paths(merged)
    merged, keys = apply_overrides(merged, overrides)
    merged, dropped = drop_plugins(merged, disable)
    recipe = validate(merged, source, keys, file_keys, files.origins if files else None)
    return attrs.evolve(recipe, disabled=dropped)
