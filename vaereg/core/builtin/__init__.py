"""The core's own plugins: work a run does by default that is not the loop itself.

They are registered before the recipe's plugins, so their hooks run after every recipe
plugin's (a best checkpoint then includes what the plugins did in that epoch), and each
is configured, or switched off, by its recipe section.
"""
from __future__ import annotations

from typing import Any

from vaereg.core.builtin.best_checkpoint import BestCheckpoint
from vaereg.core.builtin.epoch_pictures import EpochPictures
from vaereg.core.builtin.run_record import RunRecord
from vaereg.core.builtin.skipped_files import SkippedFilesReport
from vaereg.core.builtin.tensorboard_scalars import TensorBoardScalars


def builtin_plugins(recipe: Any) -> list[tuple[str, Any]]:
    """(name, plugin) pairs for what the recipe leaves switched on, in the order their
    hooks run (the scalars last: they log what the others added)."""
    plugins: list[tuple[str, Any]] = [("core.run_record", RunRecord())]
    if recipe.logging.images or recipe.logging.histograms:
        plugins.append(("core.epoch_pictures", EpochPictures(recipe.logging)))
    if recipe.checkpoint.best:
        plugins.append(("core.best_checkpoint", BestCheckpoint()))
    if getattr(recipe.data.options, "on_bad_file", None) == "skip":
        plugins.append(("core.skipped_files", SkippedFilesReport()))
    plugins.append(("core.tensorboard_scalars", TensorBoardScalars()))
    return plugins
