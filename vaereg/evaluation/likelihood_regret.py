"""Likelihood regret (Xiao, Yan & Amit 2020, "Likelihood regret: an out-of-distribution
detection score for variational auto-encoder", NeurIPS).

The encoder is trained to give good posteriors for images like the training ones; for an
image unlike them the posterior it gives is poor, and a posterior fitted to that image
alone raises the ELBO by much more than it would for a training-like image. The regret is
that gain, in nats (higher = more anomalous):

    LR(x) = max_q ELBO(x; q) - ELBO(x; q_encoder(x))

Xiao et al. re-fit the encoder's weights to each test image. Here the posterior's own
parameters are fitted instead (the mean and log standard deviation of the diagonal
Gaussian q(z|x), starting from the encoder's): the same gain measured without copying an
encoder per image, the amortization gap of Cremer et al. 2018, so images are fitted a
batch at a time. The ELBO is estimated with draws of the noise eps fixed per image
(z = mu + sigma eps) and the KL in closed form, so the fitted objective is deterministic;
the best of the steps, the encoder's own posterior included, is kept, so LR(x) >= 0.
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch.distributions import Independent, Normal, kl_divergence

from vaereg.core.common.errors import VaeregError


def gaussian_parameters(posterior) -> tuple[Tensor, Tensor]:
    """(mean, log standard deviation) of a diagonal Gaussian q(z|x), [batch, latent]."""
    base = posterior.base_dist if isinstance(posterior, Independent) else posterior
    if not isinstance(base, Normal):
        raise VaeregError(f"likelihood regret fits a diagonal Gaussian posterior; this model's "
                          f"is {type(base).__name__}")
    return base.loc, base.scale.log()


def negative_elbo(model, x: Tensor, y: Tensor | None, mean: Tensor, log_std: Tensor,
                  eps: Tensor) -> Tensor:
    """-ELBO(x; q = N(mean, exp(log_std)^2)) per image, [batch]: the reconstruction NLL
    averaged over the fixed draws ``eps`` [samples, batch, latent], plus KL(q || p(z))."""
    samples = eps.shape[0]
    z = mean + log_std.exp() * eps
    repeated_y = None if y is None else y.repeat(samples, *[1] * (y.dim() - 1))
    output = model.decode(z.flatten(0, 1), repeated_y)
    target = x.repeat(samples, *[1] * (x.dim() - 1))
    nll = model.likelihood.nll(output, target).view(samples, -1).mean(0)
    posterior = Independent(Normal(mean, log_std.exp(), validate_args=False), 1)
    return nll + kl_divergence(posterior, model.prior())


def likelihood_regret(model, x: Tensor, y: Tensor | None = None, *, steps: int = 10,
                      lr: float = 0.1, samples: int = 8,
                      generator: torch.Generator | None = None) -> Tensor:
    """LR(x) per image in nats, [batch], >= 0: ``steps`` Adam steps (learning rate ``lr``)
    on each image's posterior mean and log standard deviation, ``samples`` fixed draws of
    eps per image. Adam scales each parameter by its own history, so an image's fit does
    not depend on the others in its batch; the model's weights get no gradient."""
    with torch.no_grad():
        mean, log_std = (value.detach() for value in gaussian_parameters(model.encode(x, y)))
        eps = torch.randn((samples, *mean.shape), generator=generator, device=mean.device)
        start = negative_elbo(model, x, y, mean, log_std, eps)
    best = start.clone()
    fitted = [mean.clone().requires_grad_(), log_std.clone().requires_grad_()]
    optimizer = torch.optim.Adam(fitted, lr=lr)
    for step in range(steps + 1):
        with torch.enable_grad():
            value = negative_elbo(model, x, y, *fitted, eps)
            if step < steps:
                gradients = torch.autograd.grad(value.sum(), fitted)
        best = torch.minimum(best, value.detach())
        if step < steps:
            for parameter, gradient in zip(fitted, gradients):
                parameter.grad = gradient
            optimizer.step()
    return start - best
