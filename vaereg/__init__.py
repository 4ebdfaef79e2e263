"""vaereg: train variational autoencoders with regularization composed from plugins.

The public API is what this module exports (``__all__``, documented in docs/api.md),
plus the modules ``vaereg.testing`` and ``vaereg.plugins.<name>`` (the functional forms
of the built-in regularizers); everything else is private.
"""
from vaereg.analysis.variance_shift import variance_shift
from vaereg.core.errors import (NonFiniteError, PluginError, Problem, RecipeError,
                                RunInterrupted, VaeregError)
from vaereg.core.hookspecs import hookimpl
from vaereg.core.objective import Objective
from vaereg.core.options import in_range, option, positive
from vaereg.core.recipe import Recipe, load_recipe
from vaereg.core.registry import DATASETS, MODELS, PLUGINS
from vaereg.core.trainer import Trainer
from vaereg.core.batch import Batch
from vaereg.data.tensor_split import Splits, TensorSplit
from vaereg.functional.attacks import fgsm, pgd
from vaereg.functional.kl_schedules import free_bits_kl, kl_capacity, kl_weight, scheduled_kl
from vaereg.functional.robustness import robustness
from vaereg.models.blocks import Block, hidden_blocks, last_blocks

__version__ = "0.1.0"

__all__ = [
    "Batch", "Block", "DATASETS", "MODELS", "NonFiniteError", "Objective", "PLUGINS", "PluginError",
    "Problem", "Recipe", "RecipeError", "RunInterrupted", "Splits", "TensorSplit", "Trainer",
    "VaeregError", "fgsm", "free_bits_kl", "hidden_blocks", "hookimpl", "in_range",
    "kl_capacity", "kl_weight", "last_blocks", "load_recipe", "option", "pgd", "positive",
    "robustness", "scheduled_kl", "variance_shift",
    "load_run",
]


def __getattr__(name: str):
    """``load_run`` is imported on first use: ``import vaereg`` stays as cheap as it is."""
    if name == "load_run":
        from vaereg.core.run_loading import load_run
        globals()["load_run"] = load_run
        return load_run
    raise AttributeError(f"module 'vaereg' has no attribute {name!r}")
