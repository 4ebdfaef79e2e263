"""A progress bar (epoch, loss, ETA) that stays silent off a terminal."""
from __future__ import annotations

import sys

from tqdm import tqdm


class Progress:
    def __init__(self, total: int, enabled: bool):
        self.bar = tqdm(total=total, unit="step", dynamic_ncols=True, leave=False,
                        disable=not (enabled and sys.stderr.isatty()))

    def describe(self, text: str) -> None:
        self.bar.set_description(text, refresh=False)

    def update(self, steps: int, loss: float | None = None) -> None:
        if loss is not None:
            self.bar.set_postfix(loss=f"{loss:.2f}", refresh=False)
        self.bar.update(steps)

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.bar.close()
