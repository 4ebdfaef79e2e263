"""The hidden block: named layer slots run in one canonical order.

Regularizers that add layers (dropout, batch norm) fill slots instead of splicing
``nn.Sequential`` lists, so the resulting network does not depend on the order in which
they were applied: linear -> pre_norm -> activation -> post_norm -> dropout, always.
"""
from __future__ import annotations

from typing import Iterator

from torch import Tensor, nn

SLOTS = ("linear", "pre_norm", "activation", "post_norm", "dropout")


class Block(nn.Module):
    """One hidden layer of an encoder or decoder.

    ``part`` is "encoder" or "decoder", ``index`` its position in that part,
    ``features`` its output width (channels for a conv block) and ``spatial_dims`` how
    many spatial axes its output has after the channels: 0 for ``[batch, features]``,
    1, 2 or 3 for a signal, image or volume (so the norm and spatial dropout of that
    dimension apply). Empty slots hold None and are skipped.
    """

    def __init__(self, linear: nn.Module, activation: nn.Module, *, part: str, index: int,
                 features: int, spatial_dims: int = 0):
        super().__init__()
        for name in SLOTS:
            self.register_module(name, None)
        self.linear = linear
        self.activation = activation
        self.part = part
        self.index = index
        self.features = features
        if spatial_dims not in (0, 1, 2, 3):
            raise ValueError(f"spatial_dims must be 0, 1, 2 or 3, got {spatial_dims!r}")
        self.spatial_dims = spatial_dims

    @property
    def spatial(self) -> bool:
        """Whether the output has spatial axes (a conv block)."""
        return self.spatial_dims > 0

    def forward(self, x: Tensor) -> Tensor:
        modules = self._modules
        for name in SLOTS:
            module = modules[name]
            if module is not None:
                x = module(x)
        return x

    def extra_repr(self) -> str:
        return (f"part={self.part!r}, index={self.index}, features={self.features}, "
                f"spatial_dims={self.spatial_dims}")


def hidden_blocks(model: nn.Module, part: str = "both") -> Iterator[Block]:
    """The hidden blocks of any module, in construction order; ``part`` filters them."""
    for module in model.modules():
        if isinstance(module, Block) and part in ("both", module.part):
            yield module


def last_blocks(model: nn.Module, part: str = "both") -> list[Block]:
    """The last hidden block of each part: the blocks whose output feeds a head."""
    last: dict[str, Block] = {}
    for block in hidden_blocks(model, part):
        if block.part not in last or block.index >= last[block.part].index:
            last[block.part] = block
    return list(last.values())
