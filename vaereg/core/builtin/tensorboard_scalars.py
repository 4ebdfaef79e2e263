"""A run's figures as TensorBoard scalars: each logged step's, each epoch's, the final ones.

``train_step/<name>`` every ``run.log_every_n_steps`` steps (at x = the step), with what
``trainer.log`` received since the last logged step (the learning rate, the fp16
scaler's skipped steps, a plugin's own figures); ``epoch/<name>`` at the end of every
epoch (at x = the 0-based epoch), with what every plugin added in
``on_train_epoch_end``; ``final/<name>`` once the final evaluation ended (at x = the
last step), with what every plugin (the best.pt keeper's ``best/...`` included) added in
``on_test_end``.
"""
from __future__ import annotations

from typing import Any

from vaereg.core.hooks.hookspecs import hookimpl


class TensorBoardScalars:
    @hookimpl
    def on_log_step(self, trainer: Any, scalars: dict[str, float], step: int) -> None:
        trainer.tensorboard.scalars(scalars, step)

    @hookimpl
    def on_train_epoch_end(self, trainer: Any, epoch: int, metrics: dict[str, float]) -> None:
        trainer.tensorboard.scalars({f"epoch/{k}": v for k, v in metrics.items()}, epoch)

    @hookimpl
    def on_test_end(self, trainer: Any, metrics: dict[str, Any]) -> None:
        trainer.tensorboard.scalars({f"final/{k}": v for k, v in metrics.items()
                                     if "/" in k and isinstance(v, float)}, trainer.step)
