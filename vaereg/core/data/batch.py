"""The batch that flows through a training step; plugins may replace its tensors."""
from __future__ import annotations

import attrs
from torch import Tensor


@attrs.define(slots=True)
class Batch:
    """``x``: model input; ``target``: what reconstructions are scored against
    (the clean input unless a plugin says otherwise); ``y``: labels or None;
    ``shard_weight``: in a torchrun job, this process's share of the global batch times
    the number of processes (1 when the batch splits evenly; see ``vaereg.core.scale.shard``)."""

    x: Tensor
    target: Tensor
    y: Tensor | None = None
    shard_weight: float = 1.0

    def __len__(self) -> int:
        return self.x.shape[0]
