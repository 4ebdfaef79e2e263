"""Each epoch's figures and the run's final ones, as TensorBoard scalars.

``epoch/<name>`` at the end of every epoch (at x = the 0-based epoch), with what every
plugin added in ``on_train_epoch_end``; ``final/<name>`` once the final evaluation ended
(at x = the last step), with what every plugin (the best.pt keeper's ``best/...``
included) added in ``on_test_end``. Per-step scalars stay with the loop, which writes
them every ``run.log_every_n_steps`` steps.
"""
from __future__ import annotations

from typing import Any

from vaereg.core.hooks.hookspecs import hookimpl


class TensorBoardScalars:
    @hookimpl
    def on_train_epoch_end(self, trainer: Any, epoch: int, metrics: dict[str, float]) -> None:
        trainer.tensorboard.scalars({f"epoch/{k}": v for k, v in metrics.items()}, epoch)

    @hookimpl
    def on_test_end(self, trainer: Any, metrics: dict[str, Any]) -> None:
        trainer.tensorboard.scalars({f"final/{k}": v for k, v in metrics.items()
                                     if "/" in k and isinstance(v, float)}, trainer.step)
