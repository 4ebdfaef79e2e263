"""The variance shift of batch norm under dropout (Li et al., CVPR 2019).

Dropout scales kept units by 1/(1-p) in training and does nothing in eval, so a batch
norm fed (through a linear layer) by dropout learns a running variance about 1/(1-p)
times the variance its input has in eval, and normalizes wrongly at test time.
"""
from __future__ import annotations

import copy

import torch
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm


def channel_variance(x: Tensor) -> Tensor:
    """Unbiased variance per channel (dim 1), as batch norm computes it."""
    dims = [d for d in range(x.dim()) if d != 1]
    return x.var(dim=dims, unbiased=True)


@torch.no_grad()
def variance_shift(model: nn.Module, x: Tensor, passes: int = 8) -> dict[str, float]:
    """Per batch-norm layer (by module name): train-mode over eval-mode input variance.

    On a copy of ``model`` (left untouched): running statistics are re-estimated on ``x``
    in train mode, averaged over ``passes`` forward passes (fresh dropout masks each), which
    gives the variance batch norm learns; then the variance of each norm's input in eval
    mode on the same ``x`` is averaged over ``passes`` (the model may sample, e.g. z).
    The ratio of the two, summed over channels, is 1 without shift.
    """
    probe = copy.deepcopy(model)
    norms = {name: m for name, m in probe.named_modules() if isinstance(m, _BatchNorm)}
    for norm in norms.values():
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average over the passes
    probe.train()
    for _ in range(passes):
        probe(x)
    seen = {name: torch.zeros_like(norm.running_var) for name, norm in norms.items()}

    def record(name: str):
        def hook(_module: nn.Module, inputs: tuple[Tensor, ...]) -> None:
            seen[name] += channel_variance(inputs[0])
        return hook

    handles = [norm.register_forward_pre_hook(record(name)) for name, norm in norms.items()]
    probe.eval()
    try:
        for _ in range(passes):
            probe(x)
    finally:
        for handle in handles:
            handle.remove()
    return {name: float(norm.running_var.sum() / (seen[name].sum() / passes))
            for name, norm in norms.items()}
