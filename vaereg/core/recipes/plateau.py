"""Counting validations without improvement: what early stopping and the plateau
learning-rate schedule both decide on."""
from __future__ import annotations

import math
from typing import Any


class Plateau:
    """``update(value)`` returns True once ``patience`` + 1 values in a row failed to beat
    the best by more than ``min_delta`` (lower is better), then counts afresh."""

    def __init__(self, patience: int, min_delta: float = 0.0):
        self.patience = patience
        self.min_delta = min_delta
        self.best = math.inf
        self.waited = 0

    def update(self, value: float) -> bool:
        if value < self.best - self.min_delta:
            self.best, self.waited = value, 0
            return False
        self.waited += 1
        if self.waited > self.patience:
            self.waited = 0
            return True
        return False

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "waited": self.waited}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.waited = float(state["best"]), int(state["waited"])
