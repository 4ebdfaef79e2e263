"""Detect NaN/infinity in a training step cheaply, and say where it came from.

``step_is_finite`` is the per-step cost: one fused kernel per device and dtype over every
gradient and the objective (``_amp_foreach_non_finite_check_and_unscale_``, the check
torch's GradScaler runs each step, here with a scale of exactly 1) and one device sync.
Only when it fails does ``describe_nonfinite`` look at each term and parameter.
"""
from __future__ import annotations

from typing import Iterable

import torch
from torch import Tensor, nn

SHOWN = 5


def step_is_finite(loss: Tensor, parameters: Iterable[Tensor]) -> bool:
    """True when the objective and every gradient are finite."""
    groups: dict[tuple, list[Tensor]] = {}
    for p in parameters:
        if p.grad is not None:
            groups.setdefault((p.grad.device, p.grad.dtype), []).append(p.grad)
    objective = loss.detach().float().reshape(1).clone()  # checked, never changed
    groups.setdefault((objective.device, objective.dtype), []).append(objective)
    found = torch.zeros(1, device=loss.device)
    for (device, _), tensors in groups.items():
        found_here = found if device == found.device else torch.zeros(1, device=device)
        torch._amp_foreach_non_finite_check_and_unscale_(
            tensors, found_here, torch.ones(1, device=device))
        if found_here is not found:
            found += found_here.to(found.device)
    return not found.item()


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
    return f"the gradient of {_listing(bad_grads)} (every loss term is finite)"
