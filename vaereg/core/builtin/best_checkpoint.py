"""``best.pt``: the weights of the best validation epoch, and their test metrics.

"Best" is the lowest ``run.monitor`` seen at a validation. The weights are copied in
memory when the monitor improves and written to ``checkpoints/best.pt`` just before the
core writes a checkpoint (so at ``[checkpoint]``'s cadence, at the end and on Ctrl-C), which
keeps a run that improves every epoch from paying a second checkpoint write per epoch.
At the end the best weights are evaluated on every split too (``best/test/neg_elbo``
...) beside the final model's figures, with ``best/epoch`` and ``best/monitored`` (the
monitor's value when it was picked): on small data the best-validation epoch is the
early-stopping baseline every regularizer has to beat. When the final weights are the
best ones their figures are reused; otherwise the copy still in memory is evaluated, and
``best.pt`` is read back only by a resumed run (which no longer holds the copy).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from vaereg.core.hooks.hookspecs import hookimpl
from vaereg.core.run_folder.checkpoint import load_checkpoint, save_checkpoint

FILE = "best.pt"


class BestCheckpoint:
    def __init__(self) -> None:
        self.value = math.inf
        self.epoch: int | None = None
        self.pending: dict[str, Any] | None = None  # not yet written to best.pt
        self.weights: dict[str, Any] | None = None  # the best weights, in this process

    @hookimpl
    def on_validation_end(self, trainer: Any, metrics: dict[str, float]) -> None:
        value = metrics.get(trainer.monitor, math.nan)
        if value < self.value:
            self.value, self.epoch = value, trainer.epoch + 1
            self.weights = {k: v.detach().to("cpu", copy=True)
                            for k, v in trainer.model.state_dict().items()}
            self.pending = {
                "model": self.weights,
                "epoch": self.epoch, "step": trainer.step, "monitor": trainer.monitor,
                "value": value, "recipe": trainer.recipe.to_table()}

    @hookimpl
    def on_before_save_checkpoint(self, path: Path) -> None:
        """best.pt before the checkpoint that names its epoch."""
        if self.pending is not None:
            save_checkpoint(self.pending, path.parent / FILE, run_dir=path.parent.parent)
            self.pending = None

    @hookimpl
    def on_save_checkpoint(self) -> dict[str, Any]:
        return {"value": self.value, "epoch": self.epoch}

    @hookimpl
    def on_load_checkpoint(self, state: dict[str, Any]) -> None:
        self.value = float(state["value"])
        self.epoch = None if state["epoch"] is None else int(state["epoch"])

    @hookimpl
    def on_test_end(self, trainer: Any, metrics: dict[str, Any]) -> None:
        metrics["best/epoch"] = self.epoch
        metrics["best/monitored"] = self.value if math.isfinite(self.value) else None
        if self.epoch == trainer.epoch:  # the final weights are the best ones
            metrics.update({f"best/{k}": v for k, v in metrics.items()
                            if k.split("/")[0] in ("train", "val", "test", "gap")})
            return
        path = trainer.run_dir / "checkpoints" / FILE
        if self.epoch is None or (self.weights is None and not path.is_file()):
            return
        best = (self.weights if self.weights is not None
                else load_checkpoint(path, map_location="cpu")["model"])
        final = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
        trainer.model.load_state_dict(best)
        try:
            metrics.update({f"best/{k}": v for k, v in trainer.evaluate_splits().items()})
        finally:
            trainer.model.load_state_dict(final)
