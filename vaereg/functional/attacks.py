"""L-infinity attacks on a VAE's inputs: FGSM (Goodfellow et al. 2015) and PGD (Madry et
al. 2018), with two objectives.

* ``"elbo"``: maximize the negative ELBO of the *clean* target given the perturbed input,
  -E_q(z|x+d)[log p(x|z)] + KL(q(z|x+d) || p(z)). Scoring the clean image keeps the
  attacker from "winning" by merely making the data harder to model: it must push the
  model's code and reconstruction away from the true image.
* ``"latent"``: maximize the symmetric KL between q(z|x+d) and q(z|x) (Kuzina et al.
  2022), an attack on the encoder alone. A deterministic encoder's q(z|x) is a point
  mass, whose KL is infinite: there the squared distance of the codes stands in.

The model runs in eval mode during the attack (dropout off, batch-norm running statistics
neither used from the batch nor updated), so the attack targets the function the model
computes at test time and leaves no trace in its state; its mode is restored afterwards.
Gradients are taken with ``torch.autograd.grad`` on the input only: parameter ``.grad``
are never touched.
"""
from __future__ import annotations

from typing import Callable, Literal

import torch
from torch import Tensor, nn
from torch.distributions import Distribution, kl_divergence

from vaereg.core.common.eval_mode import eval_mode
from vaereg.core.model.objective import Objective

AttackObjective = Literal["elbo", "latent"]


def symmetric_kl(a: Distribution, b: Distribution) -> Tensor:
    """KL(a||b) + KL(b||a) per example, for any posteriors torch has a KL for (for
    diagonal Gaussians: 0.5 * sum[(va/vb + vb/va) + (ma-mb)^2 (1/va + 1/vb) - 2])."""
    return kl_divergence(a, b) + kl_divergence(b, a)


def is_point_mass(posterior: Distribution) -> bool:
    """Whether ``posterior`` is a deterministic encoder's code (zero variance)."""
    return bool((posterior.stddev == 0).all())


def latent_shift(moved: Distribution, clean: Distribution) -> Tensor:
    """How far an input change moved the posterior, per example: the symmetric KL, or
    ||mean_moved - mean_clean||^2 for point masses (their KL is infinite)."""
    if is_point_mass(clean):
        return (moved.mean - clean.mean).pow(2).sum(-1)
    return symmetric_kl(moved, clean)


def example_loss(model: nn.Module, x: Tensor, target: Tensor, y: Tensor | None) -> Tensor:
    """Per-example negative ELBO of ``target`` given input ``x`` (for a model without an
    ELBO, its own objective at its default weights)."""
    return Objective.from_model(model, model(x, y), target).per_example_loss()


def attack_objective(model: nn.Module, objective: AttackObjective, x: Tensor, target: Tensor,
                     y: Tensor | None) -> Callable[[Tensor], Tensor]:
    """The batch mean an attack maximizes, as a function of the perturbed input.

    A mean is enough: in eval mode images do not interact, so each image's input
    gradient has the sign of its own term's.
    """
    if objective == "elbo":
        return lambda x_adv: example_loss(model, x_adv, target, y).mean()
    if objective == "latent":
        with torch.no_grad():
            clean = model.encode(x, y)
        return lambda x_adv: latent_shift(model.encode(x_adv, y), clean).mean()
    raise ValueError(f"unknown attack objective {objective!r}; use 'elbo' or 'latent'")


def pgd(model: nn.Module, x: Tensor, *, eps: float, alpha: float | None = None,
        steps: int = 10, random_start: bool = True, objective: AttackObjective = "elbo",
        y: Tensor | None = None, target: Tensor | None = None) -> Tensor:
    """Projected gradient ascent in the L-inf ball of radius ``eps`` around ``x``.

    Each step moves by ``alpha`` (default 2.5 * eps / steps, Madry et al.) along the sign
    of the input gradient, then projects onto the ball and onto [0, 1], the data range.
    ``random_start`` begins at a uniform point of the ball (the "latent" objective needs
    it: its gradient is zero at d = 0). ``target`` is what the "elbo" objective scores
    (default: the clean ``x``). Returns the detached adversarial inputs.
    """
    alpha = 2.5 * eps / steps if alpha is None else alpha
    x = x.detach()
    target = x if target is None else target.detach()
    low, high = (x - eps).clamp(min=0), (x + eps).clamp(max=1)
    x_adv = x + torch.empty_like(x).uniform_(-eps, eps) if random_start else x
    x_adv = torch.max(torch.min(x_adv, high), low)
    with eval_mode(model), torch.enable_grad():
        loss_of = attack_objective(model, objective, x, target, y)
        for _ in range(steps):
            x_adv.requires_grad_(True)
            grad, = torch.autograd.grad(loss_of(x_adv), x_adv)
            x_adv = torch.max(torch.min(x_adv.detach() + alpha * grad.sign(), high), low)
    return x_adv.detach()


def fgsm(model: nn.Module, x: Tensor, *, eps: float, random_start: bool = False,
         objective: AttackObjective = "elbo", y: Tensor | None = None,
         target: Tensor | None = None) -> Tensor:
    """One step of size ``eps`` along the gradient sign: PGD with ``steps=1``.

    With ``random_start`` the step starts from a random point of the ball and is
    projected back (Wong et al. 2020's "fast" adversarial training).
    """
    return pgd(model, x, eps=eps, alpha=eps, steps=1, random_start=random_start,
               objective=objective, y=y, target=target)
