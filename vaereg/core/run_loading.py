"""Loading a run from its folder for evaluation: the resolved recipe, the model as the
Trainer built it (layer plugins included), the checkpoint's weights. No optimizer is
built and no training plugin runs, so a run loads in a notebook in a second.

The layer plugins must run: dropout and batch norm change the module tree, and the
checkpoint's weights only fit the tree they were trained in.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import attrs
import torch
from torch import nn

from vaereg.core.checkpoint import load_checkpoint, weight_mismatches
from vaereg.core.errors import VaeregError, first_line
from vaereg.core.plugin_manager import make_plugin_manager
from vaereg.core.recipe import Recipe, load_recipe
from vaereg.core.run_dir import RECIPE_FILE
from vaereg.core.run_identity import check_identity
from vaereg.core.split_preparation import prepare_splits

CHECKPOINTS = {"best": Path("checkpoints") / "best.pt", "last": Path("checkpoints") / "last.pt"}


@attrs.frozen
class LayerBuildContext:
    """What ``build_layers`` receives as ``trainer`` when a run is loaded: the recipe,
    the device and the dataset, as a Trainer has them at that moment."""

    recipe: Recipe
    device: torch.device
    dataset: Any


@attrs.frozen
class LoadedRun:
    """A run loaded from ``run_dir``: ``model`` (eval mode, on ``device``), ``splits``
    (seeded as in the run), ``dataset``, ``recipe`` and ``checkpoint_info`` (``name``,
    ``path``, ``epoch``, ``step``)."""

    run_dir: Path
    recipe: Recipe
    dataset: Any
    model: nn.Module
    splits: Any
    device: torch.device
    checkpoint_info: dict[str, Any]


def build_model(recipe: Recipe, dataset: Any, device: torch.device) -> nn.Module:
    """The recipe's model with its layer plugins applied, as ``Trainer.build_model`` does,
    from a plugin manager that holds only the recipe's plugins."""
    spec = recipe.model
    try:
        model = spec.cls(spec.options, dataset.input_shape, dataset.num_classes)
    except ValueError as error:
        raise VaeregError(f"model '{spec.name}': {error}") from None
    manager = make_plugin_manager(recipe)
    manager.hook.build_layers(trainer=LayerBuildContext(recipe, device, dataset), model=model)
    return model.to(device)


def load_weights(model: nn.Module, state: dict[str, Any], path: Path, recipe_path: Path) -> None:
    """The checkpoint's weights into ``model``; weights that do not fit are refused with
    every mismatched key and both shapes, not torch's first lines."""
    weights = state.get("model")
    if not isinstance(weights, dict):
        raise VaeregError(f"{path} holds no model weights")
    mismatches = weight_mismatches(model.state_dict(), weights)
    if mismatches:
        raise VaeregError(f"the weights in {path} do not fit the model of {recipe_path} "
                          f"({len(mismatches)} differences; was the checkpoint trained with "
                          f"another recipe?):\n" + "\n".join(f"  - {m}" for m in mismatches))
    try:
        model.load_state_dict(weights)
    except RuntimeError as error:
        raise VaeregError(f"the weights in {path} do not fit the model of {recipe_path}: "
                          f"{first_line(error)}") from None


def load_device(device: str | torch.device) -> torch.device:
    """``"auto"``: CUDA when available, else the CPU; ``"cuda"`` where no CUDA device is
    available is refused (a message, not torch's assertion deep inside the load)."""
    from vaereg.core.trainer import resolve_device

    try:
        return resolve_device(str(device))
    except VaeregError:
        raise VaeregError(f"device {str(device)!r} was asked for, but no CUDA device is "
                          f"available here (torch.cuda.is_available() is false); use 'cpu' "
                          f"or 'auto'") from None


def load_run(run_dir: str | Path, checkpoint: Literal["best", "last"] = "best",
             device: str | torch.device = "cpu") -> LoadedRun:
    """Load the run in ``run_dir`` with the weights of its ``best`` or ``last`` checkpoint,
    onto ``device`` (``"cpu"``, ``"cuda"`` or ``"auto"``).

    Raises ``VaeregError`` (exit code 2 from the CLI) for a folder that is not a run, a
    missing checkpoint (an interrupted run has ``last.pt`` only) or weights that do not
    fit the recipe's model.
    """
    run_dir = Path(run_dir)
    if checkpoint not in CHECKPOINTS:
        raise VaeregError(f"checkpoint must be one of {', '.join(CHECKPOINTS)}, not {checkpoint!r}")
    if not (run_dir / RECIPE_FILE).is_file():
        raise VaeregError(f"{run_dir} is not a vaereg run folder: {RECIPE_FILE} not found")
    path = run_dir / CHECKPOINTS[checkpoint]
    if not path.is_file():
        present = [name for name, rel in CHECKPOINTS.items() if (run_dir / rel).is_file()]
        hint = f"; use --checkpoint {present[0]}" if present else ""
        raise VaeregError(f"{path} not found: the run has no {checkpoint} checkpoint{hint}")
    recipe = load_recipe(run_dir / RECIPE_FILE)
    device = load_device(device)
    state = load_checkpoint(path, map_location=device)
    check_identity(state, path, run_dir)
    dataset = recipe.data.cls(recipe.data.options)
    model = build_model(recipe, dataset, device)
    load_weights(model, state, path, run_dir / RECIPE_FILE)
    model.eval()
    splits = prepare_splits(dataset, recipe.seed_for_data, recipe.data.loader, device)
    info = {"name": checkpoint, "path": str(path), "epoch": state.get("epoch"),
            "step": state.get("step")}
    return LoadedRun(run_dir, recipe, dataset, model, splits, device, info)
