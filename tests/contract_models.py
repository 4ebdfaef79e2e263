"""Tiny models that follow the evaluation's model contract, for tests.

They declare the model contract (``vaereg.core.model.model_contract``): a posterior with a
density, terms ``recon`` and ``kl``, and a per-element likelihood (the IWAE bound reads
``likelihood.nll``).

:class:`LinearGaussianVAE` is factor analysis, x = W z + b + noise: its marginal
likelihood N(b, W W^T + sigma^2 I) is known in closed form.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.distributions import Independent, MultivariateNormal, Normal, kl_divergence


class FixedGaussian(nn.Module):
    """Gaussian pixels with mean ``output`` and a fixed scale ``sigma``."""

    def __init__(self, sigma: float):
        super().__init__()
        self.sigma = sigma

    def nll_per_element(self, output: Tensor, target: Tensor) -> Tensor:
        return -Normal(output, self.sigma).log_prob(target)

    def nll(self, output: Tensor, target: Tensor) -> Tensor:
        return self.nll_per_element(output, target).flatten(1).sum(1)

    def mean(self, output: Tensor) -> Tensor:
        return output.clamp(0, 1)


class LinearGaussianVAE(nn.Module):
    """Encoder q(z|x) = N(A flat(x) + c, diag(s^2)); decoder p(x|z) = N(W z + b, sigma^2 I),
    W with orthogonal columns.

    ``encoder_mean`` (A, c) and ``encoder_std`` (s) are free, so a test may set the exact
    posterior (:meth:`exact_posterior`), a wrong one, one that ignores x (A = 0), or one
    with collapsed rows of A.
    """

    likelihood_name = "gaussian"
    capabilities = frozenset({"posterior", "posterior_density", "per_element_likelihood"})
    loss_terms = ("recon", "kl")
    elbo_terms = ("recon", "kl")

    def __init__(self, image_shape: tuple[int, ...], latent_dim: int, sigma: float = 0.5,
                 seed: int = 0):
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.image_shape = tuple(image_shape)
        self.latent_dim = latent_dim
        features = math.prod(image_shape)
        # orthogonal columns: W^T W is diagonal, so the exact posterior is a diagonal Gaussian
        columns, _ = torch.linalg.qr(torch.randn(features, latent_dim, generator=generator))
        self.weight = nn.Parameter(columns * torch.linspace(0.5, 1.5, latent_dim))
        self.bias = nn.Parameter(torch.full((features,), 0.5))
        self.encoder_mean = nn.Linear(features, latent_dim)
        self.encoder_std = nn.Parameter(torch.ones(latent_dim))
        self.likelihood = FixedGaussian(sigma)
        self.term_weights = {"recon": 1.0, "kl": 1.0}

    def exact_posterior(self) -> "LinearGaussianVAE":
        """Set the encoder to the true posterior p(z|x), then return self."""
        w, sigma2 = self.weight.detach(), self.likelihood.sigma ** 2
        precision = torch.eye(self.latent_dim) + w.T @ w / sigma2
        covariance = torch.linalg.inv(precision)
        with torch.no_grad():
            self.encoder_mean.weight.copy_(covariance @ w.T / sigma2)
            self.encoder_mean.bias.copy_(-self.encoder_mean.weight @ self.bias)
            self.encoder_std.copy_(covariance.diagonal().sqrt())
        return self

    def log_marginal(self, x: Tensor) -> Tensor:
        """Exact log p(x) per example."""
        w = self.weight.detach()
        covariance = w @ w.T + self.likelihood.sigma ** 2 * torch.eye(w.shape[0])
        return MultivariateNormal(self.bias.detach(), covariance).log_prob(x.flatten(1))

    def encode(self, x: Tensor, y: Tensor | None = None) -> Independent:
        mean = self.encoder_mean(x.flatten(1))
        return Independent(Normal(mean, self.encoder_std.expand_as(mean)), 1)

    def prior(self) -> Independent:
        zeros = self.bias.new_zeros(self.latent_dim)
        return Independent(Normal(zeros, torch.ones_like(zeros)), 1)

    def decode(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        return (z @ self.weight.T + self.bias).unflatten(-1, self.image_shape)

    def forward(self, x: Tensor, y: Tensor | None = None) -> dict:
        posterior = self.encode(x, y)
        z = posterior.rsample()
        return {"output": self.decode(z, y), "posterior": posterior, "z": z}

    def recon_per_element(self, outputs: dict, target: Tensor) -> Tensor:
        return self.likelihood.nll_per_element(outputs["output"], target)

    def loss(self, outputs: dict, target: Tensor) -> dict:
        """Per-example terms; ``kl`` is per latent dimension, [batch, latent_dim]."""
        q = outputs["posterior"].base_dist
        return {"recon": self.likelihood.nll(outputs["output"], target),
                "kl": kl_divergence(q, self.prior().base_dist)}

    @torch.no_grad()
    def sample(self, n: int, y: Tensor | None = None,
               generator: torch.Generator | None = None) -> Tensor:
        z = torch.randn(n, self.latent_dim, generator=generator, device=self.bias.device)
        return self.likelihood.mean(self.decode(z, y))

    @torch.no_grad()
    def reconstruct(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        return self.likelihood.mean(self.decode(self.encode(x, y).mean, y))
