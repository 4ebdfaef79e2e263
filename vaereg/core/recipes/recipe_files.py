"""A recipe file and the files it ``extends``, merged, with the file that set each key.

* ``extends`` is relative to the file that names it; a cycle is refused.
* Deep merge: tables merge key by key, anything else replaces.
* Switching dataset or model: a file that names another ``data.name`` (``model.name``)
  than its base inherits none of the base's options of the old dataset (model), which
  the new one would not know (``train_size`` of ``fashion_mnist`` is no key of
  ``image_folder``); the keys the core owns for every dataset (batch size, classes,
  seed, ...) carry over.
* Origins: each dotted key path maps to the file that set it, so that a problem in a key
  a base recipe set names that file.
"""
from __future__ import annotations

import copy
import os
import tomllib
from pathlib import Path
from typing import Any

import attrs

from vaereg.core.common.errors import Problem, RecipeError
from vaereg.core.common.options import found
from vaereg.core.data.data_options import LOADER_KEYS, SEED_KEY as DATA_SEED
from vaereg.core.recipes.key_origins import key_paths

#: section -> (the name it has when a file names none, the keys kept when it changes)
SWITCHES = {"data": ("fashion_mnist", LOADER_KEYS | {DATA_SEED}),
            "model": ("vanilla", frozenset())}


@attrs.frozen
class RecipeFiles:
    """``table``: the merged recipe; ``origins``: dotted key path -> the file that set it."""

    table: dict[str, Any]
    origins: dict[str, str]


def deep_merge(base: dict, update: dict) -> dict:
    """``update`` over ``base``: tables merge key by key, anything else replaces."""
    merged = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def read_recipe_files(path: Path, chain: tuple[Path, ...] = ()) -> RecipeFiles:
    """Read a recipe file and everything it extends, merged (``chain``: the files that
    extend this one, to refuse a cycle)."""
    shown, path = str(path), path.resolve()
    if path in chain:
        cycle = " -> ".join(str(p) for p in chain + (path,))
        raise RecipeError([Problem(str(chain[0]), "extends", f"cycle: {cycle}")])
    source = str(chain[-1]) if chain else str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecipeError([Problem(source, "extends" if chain else "",
                                   f"recipe file not found: {path}")]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise RecipeError([Problem(str(path), "", f"cannot read the file: {error}")]) from None
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RecipeError([Problem(str(path), "", f"malformed TOML: {error}")]) from None
    parent = table.pop("extends", None)
    origins = {key: shown for key in key_paths(table)}
    if parent is None:
        return RecipeFiles(table, origins)
    if not isinstance(parent, str):
        raise RecipeError([Problem(str(path), "extends",
                                   f"expected a file name (string), found {found(parent)}")])
    base = read_recipe_files(Path(os.path.normpath(Path(shown).parent / parent)),
                             chain + (path,))
    base = without_switched_options(base, table)
    return RecipeFiles(deep_merge(base.table, table), {**base.origins, **origins})


def without_switched_options(base: RecipeFiles, table: dict[str, Any]) -> RecipeFiles:
    """``base`` less its options of a dataset or model that ``table`` replaces."""
    merged, origins = copy.deepcopy(base.table), dict(base.origins)
    for section, (default, kept) in SWITCHES.items():
        theirs, mine = merged.get(section), table.get(section)
        if not (isinstance(theirs, dict) and isinstance(mine, dict) and "name" in mine
                and mine["name"] != theirs.get("name", default)):
            continue
        merged[section] = {key: value for key, value in theirs.items() if key in kept}
        for key in list(origins):
            head, _, rest = key.partition(".")
            if head == section and rest and rest.split(".")[0] not in kept:
                del origins[key]
    return RecipeFiles(merged, origins)
