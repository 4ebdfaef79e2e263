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
from vaereg.core.registry import BACKBONES, DATASETS, MODELS, PLUGINS
from vaereg.core.trainer import Trainer
from vaereg.core.batch import Batch
from vaereg.data.tensor_split import Splits, TensorSplit
from vaereg.functional.attacks import fgsm, pgd
from vaereg.functional.kl_schedules import free_bits_kl, kl_capacity, kl_weight, scheduled_kl
from vaereg.functional.mmd import MMDKernelOptions, kernel_matrix, mmd, mmd_per_example, prior_mmd
from vaereg.functional.robustness import robustness
from vaereg.models.blocks import Block, hidden_blocks, last_blocks

__version__ = "0.1.0"

__all__ = [
    "BACKBONES", "Batch", "Block", "DATASETS", "MODELS", "MMDKernelOptions", "NonFiniteError",
    "Objective", "PLUGINS", "PluginError", "Problem", "Recipe", "RecipeError", "RunInterrupted", "Splits", "TensorSplit", "Trainer",
    "VaeregError", "fgsm", "free_bits_kl", "hidden_blocks", "hookimpl", "in_range",
    "kernel_matrix", "kl_capacity", "kl_weight", "last_blocks", "load_recipe", "mmd",
    "mmd_per_example", "option", "pgd", "positive", "prior_mmd",
    "robustness", "scheduled_kl", "variance_shift",
]
