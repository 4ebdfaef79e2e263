"""vaereg: train variational autoencoders with regularization composed from plugins.

The public API is what this module exports (``__all__``, documented in docs/api.md),
plus the modules ``vaereg.testing`` and ``vaereg.plugins.<name>`` (the functional forms
of the built-in regularizers); everything else is private.

Names are imported on first use (module ``__getattr__``), so ``vaereg --help`` and
``import vaereg.cli`` do not pay for importing torch.
"""
import importlib

__version__ = "0.1.0"

_SOURCES = {
    "vaereg.evaluation.variance_shift": ("variance_shift",),
    "vaereg.core.common.errors": ("NonFiniteError", "PluginError", "Problem", "RecipeError",
                           "RunInterrupted", "VaeregError"),
    "vaereg.core.data.batch": ("Batch",),
    "vaereg.core.hooks.hookspecs": ("hookimpl",),
    "vaereg.core.model.objective": ("Objective",),
    "vaereg.core.recipes.optimizers": ("parameter_groups",),
    "vaereg.core.common.options": ("in_range", "option", "positive"),
    "vaereg.core.recipes.plateau": ("Plateau",),
    "vaereg.core.recipes.recipe": ("Recipe", "load_recipe"),
    "vaereg.core.recipes.registry": ("BACKBONES", "DATASETS", "MODELS", "PLUGINS"),
    "vaereg.evaluation.run_loading": ("load_run",),
    "vaereg.core.reliability.run_main": ("run_main",),
    "vaereg.core.loop.trainer": ("Trainer",),
    "vaereg.data.split_images": ("split_images",),
    "vaereg.data.tensor_split": ("Splits", "TensorSplit"),
    "vaereg.experiments.comparison": ("compare",),
    "vaereg.experiments.sweep_runner": ("SweepResult", "sweep"),
    "vaereg.functional.attacks": ("fgsm", "pgd"),
    "vaereg.functional.kl_schedules": ("free_bits_kl", "kl_capacity", "kl_weight",
                                       "scheduled_kl"),
    "vaereg.functional.mmd": ("MMDKernelOptions", "kernel_matrix", "mmd", "mmd_per_example",
                              "prior_mmd"),
    "vaereg.functional.robustness": ("robustness",),
    "vaereg.models.blocks": ("Block", "hidden_blocks", "last_blocks"),
}
_MODULE_OF = {name: module for module, names in _SOURCES.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> object:
    """Import a public name's module the first time the name is used, then cache it."""
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'vaereg' has no attribute {name!r}")
    value = getattr(importlib.import_module(_MODULE_OF[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
