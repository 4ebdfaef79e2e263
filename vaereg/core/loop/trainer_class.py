"""``run.trainer``: which Trainer class trains a recipe, recorded so that a resume
rebuilds that class instead of silently continuing with the plain Trainer."""
from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from vaereg.core.common.errors import VaeregError
from vaereg.core.common.import_path import class_path, import_object, names, normalize

if TYPE_CHECKING:
    from vaereg.core.recipes.recipe import Recipe


def trainer_class(recipe: "Recipe") -> type:
    """The class ``run.trainer`` names (``vaereg.Trainer`` when empty), imported."""
    from vaereg.core.loop.trainer import Trainer

    if not recipe.run.trainer:
        return Trainer
    cls = import_object(recipe.run.trainer, "run.trainer")
    if not (isinstance(cls, type) and issubclass(cls, Trainer)):
        raise VaeregError(f"run.trainer '{recipe.run.trainer}' is not a subclass of "
                          f"vaereg.Trainer")
    return cls


def with_trainer(recipe: "Recipe", cls: type) -> "Recipe":
    """``recipe`` recording ``cls`` as its ``run.trainer``; refused when the recipe names
    another class (building a different one would change the run without a word)."""
    named, actual = recipe.run.trainer, class_path(cls)
    if named and normalize(named) != actual and not names(named, cls):
        raise VaeregError(f"the recipe says run.trainer = '{named}', but this trainer is "
                          f"{actual}: build the class the recipe names (vaereg run does), "
                          f"or set run.trainer to the class you mean")
    return attrs.evolve(recipe, run=attrs.evolve(recipe.run, trainer=actual))
