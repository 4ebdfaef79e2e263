"""vaereg: train variational autoencoders with regularization composed from plugins.

The public API is what this module exports (``__all__``); everything else is private.
"""
from vaereg.core.errors import NonFiniteError, RecipeError, RunInterrupted, VaeregError
from vaereg.core.hookspecs import hookimpl
from vaereg.core.options import in_range, option, positive
from vaereg.core.recipe import Recipe, load_recipe
from vaereg.core.registry import DATASETS, MODELS, PLUGINS
from vaereg.core.trainer import Trainer
from vaereg.data.batch import Batch
from vaereg.models.blocks import Block, hidden_blocks, last_blocks

__version__ = "0.1.0"

__all__ = [
    "Batch", "Block", "DATASETS", "MODELS", "NonFiniteError", "PLUGINS", "Recipe",
    "RecipeError", "RunInterrupted", "Trainer", "VaeregError", "hidden_blocks", "hookimpl",
    "in_range", "last_blocks", "load_recipe", "option", "positive",
]
