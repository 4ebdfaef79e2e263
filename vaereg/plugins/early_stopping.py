"""Early stopping (Prechelt 1998): end training when the validation monitor stops improving.

On small data the best-validation epoch is the strongest baseline a regularizer has to
beat. After each validation the plugin compares ``trainer.monitor`` (``run.monitor``,
lower is better) with the best value so far; at the ``patience``-th validation in a row
without an improvement larger than ``min_delta`` it sets ``trainer.should_stop``, and the
run ends after that epoch (best.pt then holds the best epoch's weights, and metrics.json
reports both). That is Keras's and Lightning's rule (``patience`` 0 stops as 1 does);
the plateau learning-rate schedule, as PyTorch's, waits one validation more. Its counters are checkpointed, so a resumed run stops where an uninterrupted one
would.
"""
from __future__ import annotations

from typing import Any

import attrs

from vaereg import Plateau, hookimpl, in_range, option


@attrs.frozen
class EarlyStoppingOptions:
    patience: int = option(5, "validations in a row without improvement that stop the run",
                           check=in_range(0))
    min_delta: float = option(0.0, "smallest decrease of the monitor that counts as one",
                              check=in_range(0))


@attrs.define(eq=False)  # identity equality: a recipe may run two equal instances
class EarlyStopping:
    Options = EarlyStoppingOptions
    options: EarlyStoppingOptions
    plateau: Plateau = attrs.field(init=False)
    stopped_epoch: int | None = attrs.field(default=None, init=False)

    @plateau.default
    def _plateau(self) -> Plateau:
        # a Plateau fires after patience + 1 validations without improvement
        return Plateau(max(self.options.patience - 1, 0), self.options.min_delta)

    @hookimpl
    def on_validation_end(self, trainer: Any, metrics: dict[str, float]) -> None:
        if self.stopped_epoch is None and self.plateau.update(metrics[trainer.monitor]):
            trainer.should_stop = True
            self.stopped_epoch = trainer.epoch + 1

    @hookimpl
    def on_test_end(self, metrics: dict[str, Any]) -> None:
        metrics["early_stopping/stopped_epoch"] = self.stopped_epoch

    @hookimpl
    def on_save_checkpoint(self) -> dict[str, Any]:
        return {**self.plateau.state_dict(), "stopped_epoch": self.stopped_epoch}

    @hookimpl
    def on_load_checkpoint(self, state: dict[str, Any]) -> None:
        self.plateau.load_state_dict(state)
        self.stopped_epoch = state["stopped_epoch"]
