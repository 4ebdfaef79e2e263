"""The run folder's record of what ran: ``recipe.toml`` (the resolved recipe, with the
versions of vaereg, torch and every plugin) and ``data_source.json`` (where the data was
read from), so any run can be reproduced, resumed and evaluated from its folder.

Written when training starts, after a resume loaded and the data was loaded, by the
process that writes the run folder (rank 0 of a job). ``metrics.json`` is written by
``Trainer.fit`` itself at the very end: it holds the run's timings, which no hook sees.
"""
from __future__ import annotations

from typing import Any

from vaereg.core.hooks.hookspecs import hookimpl
from vaereg.core.run_folder.run_dir import write_data_source, write_recipe


class RunRecord:
    @hookimpl
    def on_train_start(self, trainer: Any) -> None:
        if trainer.job.is_main:
            write_recipe(trainer.run_dir, trainer.recipe)
            write_data_source(trainer.run_dir, trainer.dataset)
