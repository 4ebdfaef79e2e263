"""Detect NaN/infinity in a training step cheaply, and say where it came from.

``step_is_finite`` is the per-step cost: one fused norm over every gradient (the
``_foreach_norm`` kernel that gradient clipping uses), one sum with the objective, and a
single device sync; a NaN or infinity anywhere makes the sum non-finite. Only when it fails does ``describe_nonfinite`` look at each term and
parameter. A gradient whose norm overflows float32 counts as non-finite, too.
"""
from __future__ import annotations

import math
from typing import Iterable

import torch
from torch import Tensor, nn

SHOWN = 5


def step_is_finite(loss: Tensor, parameters: Iterable[Tensor]) -> bool:
    """True when the objective and every gradient are finite."""
    grads = [p.grad for p in parameters if p.grad is not None]
    norms = torch._foreach_norm(grads) if grads else []
    total = torch.stack([loss.detach().float(), *(n.float() for n in norms)]).sum()
    return math.isfinite(total.item())


def _listing(names: list[str]) -> str:
    more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    return ", ".join(names[:SHOWN]) + more


def describe_nonfinite(terms: dict[str, Tensor], model: nn.Module) -> str:
    """Which loss or penalty terms, or else which gradients, are NaN or infinite."""
    bad_terms = []
    for name, value in terms.items():
        value = value.detach()
        if name != "loss" and not torch.isfinite(value).all():
            bad_terms.append(f"'{name}' = {value.item()}" if value.dim() == 0
                             else f"'{name}' (has non-finite entries)")
    if bad_terms:
        return "loss term " + _listing(bad_terms)
    if not torch.isfinite(terms["loss"].detach()).all():
        return ("the objective 'loss', although every term is finite (a transform_loss "
                "hook made it non-finite)")
    bad_grads = [name for name, p in model.named_parameters()
                 if p.grad is not None and not torch.isfinite(p.grad).all()]
    if bad_grads:
        return f"the gradient of {_listing(bad_grads)} (every loss term is finite)"
    return "the gradient norm, which overflows float32 (every entry is finite but huge)"
