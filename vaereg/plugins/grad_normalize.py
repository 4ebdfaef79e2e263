"""Per-tensor gradient normalization: each parameter's gradient divided by its own L2
norm before the optimizer step, g <- g / (||g||_2 + eps).

With ``optimizer.name = "adam"`` this is the AdamNormGrad of Tomczak & Welling's VampPrior
code, which the Exemplar VAE code trains with (``recipes/reproduce/``): every step moves
each tensor's Adam moments by a unit-norm gradient, so a batch with a large gradient weighs
no more in them than any other. Unlike ``grad_clip`` it rescales every tensor, always, and
each one apart. Gradients are the true ones (mixed precision unscales them first); where
the recipe lists it relative to ``weight_decay`` in coupled mode decides whether the decay
term is normalized too (AdamNormGrad adds the decay after normalizing: list it first).
"""
from __future__ import annotations

from typing import Any

import attrs
import torch

from vaereg import hookimpl, option, positive


@attrs.frozen
class GradNormalizeOptions:
    eps: float = option(1e-7, "added to each norm (AdamNormGrad's 1e-7), so a zero gradient "
                              "stays zero", check=positive)


@torch.no_grad()
def normalize_gradients(parameters: Any, eps: float = 1e-7) -> None:
    """Divide each parameter's gradient in place by its L2 norm plus ``eps``."""
    for parameter in parameters:
        if parameter.grad is not None:
            parameter.grad.div_(torch.linalg.vector_norm(parameter.grad) + eps)


@attrs.define(eq=False)  # identity equality: a recipe may run two equal instances
class GradNormalize:
    Options = GradNormalizeOptions
    options: GradNormalizeOptions

    @hookimpl
    def on_before_optimizer_step(self, trainer: Any, optimizer: torch.optim.Optimizer) -> None:
        normalize_gradients((p for group in optimizer.param_groups for p in group["params"]),
                            self.options.eps)
