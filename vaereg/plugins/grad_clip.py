"""Gradient-norm clipping (Pascanu et al. 2013), as Lightning's ``gradient_clip_val``.

Rescales all gradients so that their global norm is at most ``max_norm``, right before
the optimizer step: after every ``on_after_backward`` hook, and on true (unscaled)
gradients, since the core unscales mixed-precision gradients before any hook reads them.
The norm before clipping is logged every step as ``grad_clip/norm``. Where the recipe
lists it relative to ``weight_decay`` (coupled mode adds the decay to the gradients in
the same hook) decides whether the decay term is clipped too.
"""
from __future__ import annotations

from typing import Any

import attrs
import torch

from vaereg import hookimpl, option, positive


@attrs.frozen
class GradClipOptions:
    max_norm: float = option(1.0, "largest global gradient norm", check=positive)
    norm_type: float = option(2.0, "p of the p-norm (2: Euclidean; inf is not offered)",
                              check=positive)


def clip_gradients(parameters: Any, max_norm: float, norm_type: float = 2.0) -> torch.Tensor:
    """Scale gradients in place to a global norm <= ``max_norm``; returns the norm before."""
    return torch.nn.utils.clip_grad_norm_(parameters, max_norm, norm_type=norm_type)


@attrs.define(eq=False)  # identity equality: a recipe may run two equal instances
class GradClip:
    Options = GradClipOptions
    options: GradClipOptions

    @hookimpl
    def on_before_optimizer_step(self, trainer: Any, optimizer: torch.optim.Optimizer) -> None:
        parameters = [p for group in optimizer.param_groups for p in group["params"]]
        norm = clip_gradients(parameters, self.options.max_norm, self.options.norm_type)
        trainer.log("grad_clip/norm", norm.detach())
