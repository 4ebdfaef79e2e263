"""The run folder's record of what ran: ``recipe.toml`` (the resolved recipe, with the
versions of vaereg, torch and every plugin) and ``data_source.json`` (where the data was
read from), so any run can be reproduced, resumed and evaluated from its folder, and
``metrics.json``, what the run ended with.

The first two are written when training starts, after a resume loaded and the data was
loaded; ``metrics.json`` once the final evaluation ended, after every other plugin added
its figures (this hook runs last), with the seconds spent training (``train_seconds``,
this process's part of a resumed run) and evaluating (``eval_seconds``). Files are
written by the process that writes the run folder (rank 0 of a job).
"""
from __future__ import annotations

import time
from typing import Any

from vaereg.core.hooks.hookspecs import hookimpl
from vaereg.core.run_folder.run_dir import write_data_source, write_metrics, write_recipe


class RunRecord:
    def __init__(self) -> None:
        self.started: float | None = None  # when training started, and ended
        self.trained: float | None = None

    @hookimpl
    def on_train_start(self, trainer: Any) -> None:
        if trainer.job.is_main:
            write_recipe(trainer.run_dir, trainer.recipe)
            write_data_source(trainer.run_dir, trainer.dataset)
        self.started = time.perf_counter()

    @hookimpl
    def on_train_end(self) -> None:
        self.trained = time.perf_counter()

    @hookimpl(trylast=True)
    def on_test_end(self, trainer: Any, metrics: dict[str, Any]) -> None:
        if self.started is None or self.trained is None:  # not in a run: a trainer driven
            return  # by hand (``final_metrics()`` alone) has no run folder to write
        metrics["train_seconds"] = self.trained - self.started
        metrics["eval_seconds"] = time.perf_counter() - self.trained
        if trainer.job.is_main:
            write_metrics(trainer.run_dir, metrics)
