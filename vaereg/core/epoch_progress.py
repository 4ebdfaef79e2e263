"""How far the epoch in progress got: what a mid-epoch checkpoint adds for an exact resume.

The batch order is drawn from the data generator when the epoch starts, so its state *at
the epoch start* plus the number of batches done reproduces the rest of the epoch; the
running loss sums give the same epoch averages as an uninterrupted epoch.
"""
from __future__ import annotations

from typing import Any

import attrs
from torch import Tensor


@attrs.define
class EpochProgress:
    generator_state: Tensor
    batches_done: int = 0
    sums: dict[str, Tensor] = attrs.Factory(dict)
    count: int = 0

    def add(self, terms: dict[str, Tensor], n: int) -> None:
        """Add a batch's scalar terms, weighted by its ``n`` images."""
        self.count += n
        for name, value in terms.items():
            if value.dim() == 0:
                weighted = value.detach() * n
                self.sums[name] = self.sums[name] + weighted if name in self.sums else weighted

    def averages(self) -> dict[str, float]:
        """``train/<term>`` averages over the images seen (none if every step was skipped)."""
        return {f"train/{name}": (value / self.count).item() for name, value in self.sums.items()}

    def state_dict(self) -> dict[str, Any]:
        return {"batches_done": self.batches_done, "sums": self.sums, "count": self.count}

    @classmethod
    def from_state(cls, generator_state: Tensor, state: dict[str, Any]) -> "EpochProgress":
        return cls(generator_state, int(state["batches_done"]), dict(state["sums"]),
                   int(state["count"]))
