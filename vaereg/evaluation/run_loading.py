"""Loading a run from its folder for evaluation: the resolved recipe, the model as the
run's Trainer class built it (``run.trainer``: a subclass that overrides ``build_model``
included; layer plugins applied), the checkpoint's weights. The trainer is built but
nothing trains and no file is written, so a run loads in a notebook in a second.

The layer plugins must run: dropout and batch norm change the module tree, and the
checkpoint's weights only fit the tree they were trained in.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import attrs
import torch
from torch import nn

from vaereg.core.common.errors import VaeregError, first_line
from vaereg.core.common.seeding import rng_state, set_rng_state
from vaereg.core.data.split_preparation import prepare_splits
from vaereg.core.loop.trainer_class import trainer_class
from vaereg.core.recipes.recipe import Recipe, load_recipe
from vaereg.core.run_folder.checkpoint import read_checkpoint, weight_mismatches
from vaereg.core.run_folder.run_dir import RECIPE_FILE
from vaereg.core.run_folder.run_identity import check_identity
from vaereg.core.scale.device import resolve_device

CHECKPOINTS = {"best": Path("checkpoints") / "best.pt", "last": Path("checkpoints") / "last.pt"}


@attrs.frozen
class LoadedRun:
    """A run loaded from ``run_dir``: ``model`` (eval mode, on ``device``), ``splits``
    (seeded as in the run), ``dataset``, ``recipe`` and ``checkpoint_info`` (``name``,
    ``path``, ``epoch``, ``step``, and ``sha256``: of the bytes the weights were loaded
    from, which a training process may have replaced on disk since)."""

    run_dir: Path
    recipe: Recipe
    dataset: Any
    model: nn.Module
    splits: Any
    device: torch.device
    checkpoint_info: dict[str, Any]


def build_model(recipe: Recipe, device: torch.device) -> tuple[nn.Module, Any]:
    """(model, dataset) as the recipe's Trainer class builds them on ``device``: its
    ``build_model``, with the recipe's layer plugins. The trainer runs in fp32 without
    ``torch.compile`` (evaluation's own), and the caller's random state is left as found."""
    run = attrs.evolve(recipe.run, device=device.type, precision="fp32", compile=False)
    state = rng_state()
    try:
        trainer = trainer_class(recipe)(attrs.evolve(recipe, run=run), quiet=True)
    finally:
        set_rng_state(state)
    return trainer.model.to(device), trainer.dataset


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
    state, digest = read_checkpoint(path, map_location=device)
    check_identity(state, path, run_dir)
    model, dataset = build_model(recipe, device)
    load_weights(model, state, path, run_dir / RECIPE_FILE)
    model.eval()
    splits = prepare_splits(dataset, recipe.seed_for_data, recipe.data.loader, device)
    info = {"name": checkpoint, "path": str(path), "epoch": state.get("epoch"),
            "step": state.get("step"), "sha256": digest}
    return LoadedRun(run_dir, recipe, dataset, model, splits, device, info)
