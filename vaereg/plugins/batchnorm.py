"""Batch normalization in hidden blocks (Ioffe & Szegedy 2015).

The norm goes into a block slot, ``pre_norm`` (before the activation, the original
placement) or ``post_norm`` (after it), so combining with dropout gives the same network
whatever the recipe order: dropout's slot always comes last in a block. Where dropout
feeds a batch norm, train and eval variances differ (Li et al. 2019); see
:func:`vaereg.variance_shift` to measure it and dropout's ``blocks = "last"`` to avoid it.
In a torchrun job each process normalizes over its slice of the batch; ``sync = true``
uses ``torch.nn.SyncBatchNorm`` (statistics of the global batch, CUDA only).
"""
from __future__ import annotations

from typing import Any, Literal

import attrs
from torch import nn

from vaereg import Block, VaeregError, hidden_blocks, hookimpl, in_range, option, positive


@attrs.frozen
class BatchNormOptions:
    where: Literal["encoder", "decoder", "both"] = option("both", "which part gets batch norm")
    position: Literal["before", "after"] = option(
        "before", "before the activation (pre_norm slot) or after it (post_norm slot)")
    momentum: float = option(0.1, "weight of each batch in the running statistics",
                             check=in_range(0, 1, low_open=True))
    eps: float = option(1e-5, "added to the variance before dividing", check=positive)
    sync: bool = option(False, "torch.nn.SyncBatchNorm: in a torchrun job, batch statistics "
                        "over the global batch, not each process's slice (needs CUDA)")


#: the norm for each number of spatial axes (BatchNorm1d takes [N, C] and [N, C, L])
BATCH_NORMS = {0: nn.BatchNorm1d, 1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d}


def make_batchnorm(block: Block, momentum: float, eps: float, sync: bool = False) -> nn.Module:
    """The batch norm of the block's spatial axes (BatchNorm1d for linear blocks and
    signals, 2d for images, 3d for volumes); SyncBatchNorm (any shape) with ``sync``."""
    cls = nn.SyncBatchNorm if sync else BATCH_NORMS[block.spatial_dims]
    return cls(block.features, eps=eps, momentum=momentum)


def inject_batchnorm(model: nn.Module, where: str = "both", position: str = "before",
                     momentum: float = 0.1, eps: float = 1e-5, sync: bool = False) -> nn.Module:
    """Fill a norm slot of the model's hidden blocks; returns the model."""
    options = BatchNormOptions(where=where, position=position, momentum=momentum, eps=eps,
                               sync=sync)
    slot = "pre_norm" if options.position == "before" else "post_norm"
    for block in hidden_blocks(model, options.where):
        setattr(block, slot, make_batchnorm(block, options.momentum, options.eps, options.sync))
    return model


@attrs.define(eq=False)  # identity equality: a recipe may run two equal instances
class BatchNorm:
    Options = BatchNormOptions
    requires = ("hidden_blocks",)
    options: BatchNormOptions

    @hookimpl
    def build_layers(self, trainer: Any, model: nn.Module) -> None:
        if self.options.sync and trainer.device.type != "cuda":
            raise VaeregError(f"plugins.batchnorm.sync = true needs CUDA devices (torch's "
                              f"SyncBatchNorm reduces batch statistics over GPUs only), but "
                              f"this run trains on {trainer.device.type}; set sync = false "
                              f"(each process then normalizes over its own slice)")
        inject_batchnorm(model, **attrs.asdict(self.options))
