"""Progress: a bar (epoch, loss, ETA) on a terminal; plain lines for a batch job's log.

Off a terminal (stderr redirected, as in a batch job) a bar would be noise, and silence
for hours is worse: a line per epoch (train loss, validation figures, elapsed time) is
printed instead, and within a long epoch at most one line every ``LINE_EVERY_SECONDS``.
"""
from __future__ import annotations

import sys
import time
from typing import Callable, TextIO

from tqdm import tqdm

LINE_EVERY_SECONDS = 60.0


class Progress:
    def __init__(self, total: int, enabled: bool, stream: TextIO | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.stream = stream or sys.stderr
        terminal = self.stream.isatty()
        self.lines = enabled and not terminal
        self.bar = tqdm(total=total, unit="step", dynamic_ncols=True, leave=False,
                        file=self.stream, disable=not (enabled and terminal))
        self.clock = clock
        self.started = self.last_line = clock()
        self.description = ""
        self.steps = 0
        self.total = total
        self.loss: float | None = None

    def describe(self, text: str) -> None:
        self.description = text
        self.bar.set_description(text, refresh=False)

    def update(self, steps: int, loss: float | None = None) -> None:
        self.steps += steps
        if loss is not None:
            self.loss = loss
            self.bar.set_postfix(loss=f"{loss:.2f}", refresh=False)
        self.bar.update(steps)
        if self.lines and self.clock() - self.last_line >= LINE_EVERY_SECONDS:
            loss_text = f"  loss {self.loss:.2f}" if self.loss is not None else ""
            self._line(f"step {self.steps}/{self.total}{loss_text}")

    def end_epoch(self, metrics: dict[str, float]) -> None:
        """The epoch's line: its training loss and validation figures."""
        if self.lines:
            shown = {k: v for k, v in metrics.items()
                     if k == "train_running/loss" or k.startswith("val/")}
            self._line("  ".join(f"{name} {value:.2f}" for name, value in shown.items()))

    def _line(self, text: str) -> None:
        now = self.clock()
        self.last_line = now
        print(f"{self.description}  {text}  elapsed {now - self.started:.0f} s",
              file=self.stream, flush=True)

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.bar.close()
