"""A third-party model written against the model contract (docs/models.md, "The model
contract"): it declares every capability but ``conditional`` and implements each.

The smallest useful VAE: one hidden :class:`vaereg.Block` on each side, so that layer
plugins (dropout, batch norm) work on it as on the built-in models; ``parts`` for weight
decay; a posterior with a density for IWAE and mutual information; a per-element
likelihood for anomaly maps; encoder features for the feature-space anomaly scores. Register it by name
with ``vaereg.MODELS.register("tiny_mlp", TinyMLPVAE)`` or an entry point in the group
``vaereg.models``; recipes then say ``[model] name = "tiny_mlp"``.
"""
from __future__ import annotations

import math

import attrs
import torch
from torch import Tensor, nn
from torch.distributions import Distribution, Independent, Normal, kl_divergence
from torch.nn import functional as F

import vaereg


@attrs.frozen
class TinyMLPOptions:
    hidden: int = vaereg.option(32, "width of the hidden layer", check=vaereg.positive)
    latent_dim: int = vaereg.option(4, "size of the latent code z", check=vaereg.positive)


class BernoulliPixels(nn.Module):
    """p(x|z): a Bernoulli per pixel, parameterized by the decoder's logits."""

    def nll_per_element(self, output: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(output, target, reduction="none")

    def nll(self, output: Tensor, target: Tensor) -> Tensor:
        """Per image: the sum over its pixels."""
        return self.nll_per_element(output, target).flatten(1).sum(1)

    def mean(self, output: Tensor) -> Tensor:
        return torch.sigmoid(output)


class TinyMLPVAE(nn.Module):
    """Gaussian encoder, Bernoulli decoder over pixels in [0, 1]; per-example terms in nats."""

    Options = TinyMLPOptions
    capabilities = frozenset({"posterior", "posterior_density", "per_element_likelihood",
                              "hidden_blocks", "parts", "encoder_features"})
    loss_terms = ("recon", "kl")
    elbo_terms = ("recon", "kl")  # their per-example sum is the negative ELBO
    likelihood_name = "bernoulli"
    #: top-level submodules of encoder and decoder (weight decay treats them apart)
    parts = {"encoder": ("encoder", "heads"), "decoder": ("decoder",)}

    def __init__(self, options: TinyMLPOptions, input_shape: tuple[int, ...], num_classes: int = 0):
        super().__init__()
        self.input_shape = tuple(input_shape)
        self.latent_dim = options.latent_dim
        pixels = math.prod(input_shape)
        self.encoder = nn.Sequential(nn.Flatten(), vaereg.Block(
            nn.Linear(pixels, options.hidden), nn.ReLU(), part="encoder", index=0,
            features=options.hidden))
        self.heads = nn.Linear(options.hidden, 2 * options.latent_dim)
        self.decoder = nn.Sequential(vaereg.Block(
            nn.Linear(options.latent_dim, options.hidden), nn.ReLU(), part="decoder", index=0,
            features=options.hidden), nn.Linear(options.hidden, pixels),
            nn.Unflatten(1, self.input_shape))
        self.likelihood = BernoulliPixels()
        self.term_weights = {"recon": 1.0, "kl": 1.0}

    def hidden_blocks(self) -> list[vaereg.Block]:
        """Where layer plugins (dropout, batch norm) fill slots."""
        return list(vaereg.hidden_blocks(self))

    def features(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """What the heads read: the hidden layer, ``[batch, hidden]``."""
        return self.encoder(x)

    def encode(self, x: Tensor, y: Tensor | None = None) -> Distribution:
        return self.posterior(self.features(x))

    def posterior(self, h: Tensor) -> Distribution:
        mu, logvar = self.heads(h).chunk(2, dim=1)
        return Independent(Normal(mu, torch.exp(0.5 * logvar)), 1)

    def prior(self) -> Distribution:
        zeros = torch.zeros(self.latent_dim, device=self.heads.weight.device)
        return Independent(Normal(zeros, torch.ones_like(zeros)), 1)

    def decode(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        """Bernoulli logits."""
        return self.decoder(z)

    def forward(self, x: Tensor, y: Tensor | None = None) -> dict:
        h = self.features(x)
        posterior = self.posterior(h)
        z = posterior.rsample()
        return {"output": self.decode(z), "posterior": posterior, "z": z, "features": h}

    def recon_per_element(self, outputs: dict, target: Tensor) -> Tensor:
        """-log p(x_i|z) per pixel, ``[batch, *input_shape]``."""
        return self.likelihood.nll_per_element(outputs["output"], target)

    def loss(self, outputs: dict, target: Tensor) -> dict[str, Tensor]:
        """Per-example terms: ``recon`` [batch] and ``kl`` per latent dimension."""
        recon = self.likelihood.nll(outputs["output"], target)
        kl = kl_divergence(outputs["posterior"].base_dist, self.prior().base_dist)
        return {"recon": recon, "kl": kl}

    @torch.no_grad()
    def sample(self, n: int, y: Tensor | None = None,
               generator: torch.Generator | None = None) -> Tensor:
        z = torch.randn(n, self.latent_dim, generator=generator, device=self.heads.weight.device)
        return self.likelihood.mean(self.decode(z))

    @torch.no_grad()
    def reconstruct(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        return self.likelihood.mean(self.decode(self.encode(x).mean))
