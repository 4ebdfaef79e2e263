"""The diagonal Gaussian posterior and standard normal prior most VAEs use.

The posterior is a ``torch.distributions`` object, so code that needs q(z|x) (attacks,
importance sampling, mutual information) reads ``.mean``, ``.stddev``, ``.log_prob`` and
never assumes a ``(mu, logvar)`` pair.
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch.distributions import Distribution, Independent, Normal


def diagonal_gaussian(mu: Tensor, logvar: Tensor) -> Distribution:
    """q(z|x) = N(mu, diag(exp(logvar))), one event of ``latent_dim`` per example."""
    return Independent(Normal(mu, torch.exp(0.5 * logvar), validate_args=False), 1,
                       validate_args=False)


def standard_normal(latent_dim: int, device: torch.device | str = "cpu") -> Distribution:
    """p(z) = N(0, I)."""
    zeros = torch.zeros(latent_dim, device=device)
    return Independent(Normal(zeros, torch.ones_like(zeros), validate_args=False), 1,
                       validate_args=False)


def kl_to_standard_normal(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, exp(logvar)) || N(0, 1)) per latent dimension, ``[batch, latent_dim]``:
    0.5 * (mu^2 + sigma^2 - 1 - log sigma^2), in closed form."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


def reparameterize(mu: Tensor, logvar: Tensor) -> Tensor:
    """z = mu + sigma * eps: a sample of q(z|x) that gradients flow through."""
    return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
