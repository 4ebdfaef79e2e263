"""Dropout after hidden activations (Srivastava et al. 2014).

Never after the mu/log-variance heads or the output layer: only hidden blocks get it.
Active in training, inactive in evaluation (torch's ``nn.Dropout`` semantics).
"""
from __future__ import annotations

from typing import Literal

import attrs
from torch import nn

from vaereg import Block, hidden_blocks, hookimpl, in_range, last_blocks, option


@attrs.frozen
class DropoutOptions:
    p: float = option(0.2, "probability of zeroing a unit", check=in_range(0, 1, high_open=True))
    where: Literal["encoder", "decoder", "both"] = option("both", "which part gets dropout")
    kind: Literal["standard", "spatial"] = option(
        "standard", "'spatial' drops whole channels in conv blocks (Dropout1d, Dropout2d or "
        "Dropout3d: the data's spatial axes)")
    blocks: Literal["all", "last"] = option(
        "all", "'last' puts dropout only in the last hidden block of each part, after every "
        "batch norm (Li et al. 2019: no variance shift)")


#: channel dropout for each number of spatial axes
SPATIAL_DROPOUT = {1: nn.Dropout1d, 2: nn.Dropout2d, 3: nn.Dropout3d}


def make_dropout(block: Block, p: float, kind: str) -> nn.Module:
    """Channel dropout of the block's spatial axes (1-D, 2-D or 3-D) when ``kind`` is
    spatial and the block is a conv block, else Dropout."""
    if kind == "spatial" and block.spatial:
        return SPATIAL_DROPOUT[block.spatial_dims](p)
    return nn.Dropout(p)


def inject_dropout(model: nn.Module, p: float = 0.2, where: str = "both",
                   kind: str = "standard", blocks: str = "all") -> nn.Module:
    """Fill the dropout slot of the model's hidden blocks; returns the model."""
    options = DropoutOptions(p=p, where=where, kind=kind, blocks=blocks)
    chosen = hidden_blocks(model, options.where) if options.blocks == "all" \
        else last_blocks(model, options.where)
    for block in chosen:
        block.dropout = make_dropout(block, options.p, options.kind)
    return model


@attrs.define(eq=False)  # identity equality: a recipe may run two equal instances
class Dropout:
    Options = DropoutOptions
    requires = ("hidden_blocks",)
    options: DropoutOptions

    @hookimpl
    def build_layers(self, model: nn.Module) -> None:
        inject_dropout(model, **attrs.asdict(self.options))
