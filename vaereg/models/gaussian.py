"""The diagonal Gaussian posterior and standard normal prior most VAEs use.

The posterior is a ``torch.distributions`` object, so code that needs q(z|x) (the KL
term, attacks, importance sampling, mutual information) reads ``.mean``, ``.stddev``,
``.rsample()``, ``.log_prob`` and never assumes a ``(mu, logvar)`` pair.
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch.distributions import Distribution, Independent, Normal


def diagonal_gaussian(mu: Tensor, logvar: Tensor) -> Distribution:
    """q(z|x) = N(mu, diag(exp(logvar))), one event of ``latent_dim`` per example;
    ``rsample()`` is the reparameterized z = mu + sigma * eps gradients flow through."""
    return Independent(Normal(mu, torch.exp(0.5 * logvar), validate_args=False), 1,
                       validate_args=False)


def point_mass(mu: Tensor) -> Distribution:
    """A deterministic encoder's q(z|x): a Gaussian of zero variance, so ``rsample()``
    and ``mean`` are ``mu`` exactly (densities and KLs are not defined for it)."""
    return Independent(Normal(mu, torch.zeros_like(mu), validate_args=False), 1,
                       validate_args=False)


def standard_normal(latent_dim: int, device: torch.device | str = "cpu") -> Distribution:
    """p(z) = N(0, I)."""
    zeros = torch.zeros(latent_dim, device=device)
    return Independent(Normal(zeros, torch.ones_like(zeros), validate_args=False), 1,
                       validate_args=False)


def kl_to_standard_normal(posterior: Distribution) -> Tensor:
    """KL(q || N(0, I)) of a diagonal Gaussian q per latent dimension,
    ``[batch, latent_dim]``: 0.5 * (mu^2 + sigma^2 - 1 - log sigma^2), in closed form."""
    mu, sigma = posterior.mean, posterior.stddev
    return 0.5 * (mu.pow(2) + sigma.pow(2) - 1.0) - sigma.log()
