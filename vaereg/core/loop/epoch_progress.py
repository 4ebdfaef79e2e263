"""How far the epoch in progress got: what a mid-epoch checkpoint adds for an exact resume.

The batch order is drawn from the data generator when the epoch starts, so its state *at
the epoch start* plus the number of batches done reproduces the rest of the epoch; the
per-batch loss values give the same epoch averages as an uninterrupted epoch.

Per-batch values are kept (detached), not summed as they come: a step then costs one
``detach`` per term instead of arithmetic, and the sums are formed once, in the same
order, whether or not the epoch was interrupted.
"""
from __future__ import annotations

from typing import Any

import attrs
import torch
from torch import Tensor


def _on_cpu(values: list[Tensor]) -> Tensor:
    """One CPU tensor of per-batch values; after a resume some are restored CPU tensors
    and the rest live on the training device."""
    return torch.stack([v.cpu() for v in values])


@attrs.define
class EpochProgress:
    generator_state: Tensor
    batches_done: int = 0
    values: dict[str, list[Tensor]] = attrs.Factory(dict)
    sizes: dict[str, list[int]] = attrs.Factory(dict)

    def add(self, terms: dict[str, Tensor], n: int) -> None:
        """Record a batch's scalar terms and its ``n`` images."""
        for name, value in terms.items():
            if value.dim() == 0:
                if name not in self.values:
                    self.values[name], self.sizes[name] = [], []
                self.values[name].append(value.detach())
                self.sizes[name].append(n)

    def averages(self) -> dict[str, float]:
        """``train_running/<term>``: averages over the images of the batches that had
        the term (none if every step was skipped), measured in training mode while the
        weights changed; ``train/<term>`` in metrics.json is the final model in eval mode."""
        averages = {}
        for name, values in self.values.items():
            sizes = torch.tensor(self.sizes[name], dtype=torch.float64)
            weighted = _on_cpu(values).double() * sizes
            averages[f"train_running/{name}"] = (weighted.sum() / sizes.sum()).item()
        return averages

    def state_dict(self) -> dict[str, Any]:
        return {"batches_done": self.batches_done,
                "values": {name: _on_cpu(v) for name, v in self.values.items()},
                "sizes": self.sizes}

    @classmethod
    def from_state(cls, generator_state: Tensor, state: dict[str, Any]) -> "EpochProgress":
        values = {name: list(stacked.unbind()) for name, stacked in state["values"].items()}
        sizes = {name: [int(n) for n in ns] for name, ns in state["sizes"].items()}
        return cls(generator_state, int(state["batches_done"]), values, sizes)
