"""Continuing a run from its folder, and which recipe changes a resume allows.

A resume must reproduce the run its checkpoint came from, so only keys that do not change
the training trajectory may differ from the checkpoint's recipe: more epochs, logging,
the checkpoint cadence, the progress bar, the non-finite policy (to skip a step that
stopped the run), the data loader's workers and memory settings (results do not depend
on them), and the device,
the precision and compilation (results then match to float tolerance only, not bit for
bit: a GPU bf16 run may go on in fp32 on a CPU).
"""
from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any, Iterable

from vaereg.core.common.errors import VaeregError
from vaereg.core.common.import_path import same_class
from vaereg.core.recipes.recipe import Recipe, load_recipe
from vaereg.core.run_folder.run_dir import RECIPE_FILE
from vaereg.core.run_folder.run_identity import check_identity

CHANGEABLE = ("run.epochs", "run.device", "run.progress", "run.log_every_n_steps",
              "run.on_nonfinite", "run.precision", "run.compile", "logging.images", "logging.histograms",
              "logging.every_n_epochs", "logging.min_seconds", "logging.num_images",
              "checkpoint.every_n_epochs", "checkpoint.min_seconds", "checkpoint.best",
              "data.num_workers", "data.pin_memory", "data.prefetch_factor")
LAST = Path("checkpoints") / "last.pt"
TRAINER_KEY = "run.trainer"


def resume_command(run_dir: str | Path) -> str:
    """The shell command that continues the run in ``run_dir``."""
    return f"vaereg run --resume {shlex.quote(str(run_dir))}"


def load_run_recipe(run_dir: str | Path, overrides: Iterable[str] = ()) -> Recipe:
    """The recipe saved in a run folder, with ``--set`` overrides applied."""
    run_dir = Path(run_dir)
    missing = [str(name) for name in (RECIPE_FILE, LAST) if not (run_dir / name).is_file()]
    if missing:
        raise VaeregError(f"{run_dir} is not a vaereg run folder that can be resumed: "
                          f"{' and '.join(missing)} not found" + _versions_hint(run_dir))
    return load_recipe(run_dir / RECIPE_FILE, overrides)


def _versions_hint(folder: Path) -> str:
    """For ``--resume runs/NAME``: the ``version_<k>`` folders it holds, which to give."""
    versions = sorted((p for p in folder.glob("version_*") if p.is_dir()),
                      key=lambda p: (len(p.name), p.name))
    if not versions:
        return ""
    resumable = [p for p in versions if (p / RECIPE_FILE).is_file() and (p / LAST).is_file()]
    listing = ", ".join(p.name + ("" if p in resumable else " (no checkpoint)") for p in versions)
    advice = (f"; resume one of them, e.g. {resume_command(resumable[-1])}" if resumable
              else "; none has a checkpoint to resume from")
    return f". It holds the runs {listing}{advice}"


def _flat(table: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """{dotted key: repr(value)}: reprs compare exactly (1 is not 1.0 nor true) and never
    raise, whatever a damaged checkpoint holds."""
    out = {}
    for key, value in table.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flat(value, f"{path}."))
        else:
            out[path] = repr(value)
    return out


def check_resumable(state: dict[str, Any], recipe: Recipe, run_dir: Path,
                    plain_trainer: str) -> None:
    """Refuse a resume whose recipe differs from the checkpoint's beyond ``CHANGEABLE``,
    or that asks for fewer epochs than were trained, or that another run wrote.
    ``plain_trainer``: the import path of ``vaereg.Trainer``, the class of a checkpoint
    that records none."""
    check_identity(state, run_dir / LAST, run_dir)
    saved = state.get("recipe")
    if not isinstance(saved, dict):
        raise VaeregError(f"{run_dir / LAST} does not record the recipe it was trained "
                          f"with: it is not a checkpoint of a vaereg run")
    before, after = _flat(saved), _flat(recipe.to_table())
    run = saved.get("run")
    recorded = (run.get("trainer") if isinstance(run, dict) else None) or plain_trainer
    if isinstance(recorded, str):  # compared as classes: a re-export, a legacy path
        before[TRAINER_KEY] = (after.get(TRAINER_KEY)
                               if same_class(recorded, recipe.run.trainer or plain_trainer)
                               else repr(recorded))
    changed = [key for key in sorted(before.keys() | after.keys())
               if key not in CHANGEABLE and before.get(key) != after.get(key)]
    if changed:
        diffs = "; ".join(f"{key}: {before.get(key, '(unset)')} -> {after.get(key, '(unset)')}"
                          for key in changed)
        raise VaeregError(
            f"the checkpoint in {run_dir} was trained with a different recipe ({diffs}). "
            f"A resume may change only {', '.join(CHANGEABLE)}; to change anything else, "
            f"start a new run: vaereg run {shlex.quote(str(run_dir / RECIPE_FILE))} --set ...")
    epochs_done = state.get("epoch")
    if isinstance(epochs_done, int) and recipe.run.epochs < epochs_done:
        raise VaeregError(f"run.epochs = {recipe.run.epochs}, but the run in {run_dir} "
                          f"already trained {epochs_done} epochs; set run.epochs >= {epochs_done}")
