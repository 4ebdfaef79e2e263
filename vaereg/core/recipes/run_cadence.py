"""How often the costly side work of a run happens: checkpoints, images, histograms.

On small data an epoch trains in a fraction of a second, and writing two checkpoints with
fsync, rendering image grids or weight histograms every epoch would cost more than the
training. Each such task is done when at least ``every_n_epochs`` epochs *and* at least
``min_seconds`` seconds passed since it was last done, and always after the last epoch
(and, for checkpoints, when a run is interrupted).
"""
from __future__ import annotations

import time

import attrs

from vaereg.core.common.options import in_range, option, positive


@attrs.frozen
class CheckpointOptions:
    every_n_epochs: int = option(1, "write last.pt at most every n epochs (always after the "
                                 "last and on Ctrl-C/SIGTERM)", check=positive)
    min_seconds: float = option(30.0, "and at most once every this many seconds; 0 = every "
                                "n epochs", check=in_range(0))
    best: bool = option(True, "keep best.pt: the weights of the best validation epoch by "
                        "run.monitor (written with last.pt), and report its test metrics")


@attrs.frozen
class LoggingOptions:
    images: bool = option(True, "log reconstruction and sample grids to TensorBoard "
                          "(for image data; signals and volumes get none)")
    histograms: bool = option(True, "log weight histograms to TensorBoard")
    every_n_epochs: int = option(1, "images and histograms at most every n epochs (always "
                                 "after the last)", check=positive)
    min_seconds: float = option(30.0, "and at most once every this many seconds",
                                check=in_range(0))
    num_images: int = option(32, "images in each grid", check=positive)


class Cadence:
    """``due(epochs_done, last_epoch)``: whether the task runs after this epoch."""

    def __init__(self, every_n_epochs: int, min_seconds: float, clock=time.monotonic):
        self.every_n_epochs = every_n_epochs
        self.min_seconds = min_seconds
        self.clock = clock
        self.epoch_done = 0
        self.time_done = clock()

    def due(self, epochs_done: int, last_epoch: bool) -> bool:
        if last_epoch:
            return True
        return (epochs_done - self.epoch_done >= self.every_n_epochs
                and self.clock() - self.time_done >= self.min_seconds)

    def done(self, epochs_done: int) -> None:
        self.epoch_done = epochs_done
        self.time_done = self.clock()
