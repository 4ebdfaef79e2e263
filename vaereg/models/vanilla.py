"""The vanilla VAE (Kingma & Welling 2014): Gaussian encoder, reparameterization, and a
Bernoulli or Gaussian decoder; the uniform model API every vaereg model follows."""
from __future__ import annotations

from typing import Any, Literal

import attrs
import torch
from torch import Tensor, nn
from torch.distributions import Distribution

from vaereg.core.options import each_positive, option, positive
from vaereg.models.backbones import BACKBONES
from vaereg.models.blocks import Block, hidden_blocks
from vaereg.models.gaussian import (diagonal_gaussian, kl_to_standard_normal, reparameterize,
                                    standard_normal)
from vaereg.models.likelihoods import LIKELIHOODS


def _widths(value: tuple[int, ...] | None) -> str | None:
    if value is None:
        return None
    return each_positive(value) if value else "a non-empty list of positive integers"


@attrs.frozen
class VanillaOptions:
    backbone: Literal["mlp", "conv"] = option("mlp", "encoder/decoder body")
    hidden_dims: tuple[int, ...] | None = option(
        None, "hidden widths (mlp) or channels (conv), encoder order; "
        "default 512,256 (mlp) or 32,64 (conv)", check=_widths)
    latent_dim: int = option(16, "size of the latent code z", check=positive)
    likelihood: Literal["bernoulli", "gaussian"] = option(
        "bernoulli", "decoder distribution over pixels")


class VanillaVAE(nn.Module):
    """``loss`` returns per-example terms in nats: ``recon`` (-log p(x|z), ``[batch]``)
    and ``kl`` (KL(q(z|x) || N(0, I)) per latent dimension, ``[batch, latent_dim]``),
    both of weight 1, so the objective is the negative ELBO.
    """

    Options = VanillaOptions
    #: the terms whose per-example sum is the negative ELBO
    elbo_terms = ("recon", "kl")
    #: top-level submodules of each part, for plugins that treat encoder and decoder apart
    #: (``likelihood`` belongs to neither)
    parts = {"encoder": ("encoder", "mu_head", "logvar_head"), "decoder": ("decoder",)}

    def __init__(self, options: VanillaOptions, input_shape: tuple[int, ...],
                 num_classes: int = 0):
        super().__init__()
        self.options = options
        self.input_shape = tuple(input_shape)
        self.latent_dim = options.latent_dim
        make_encoder, make_decoder, default_dims = BACKBONES[options.backbone]
        dims = options.hidden_dims or default_dims
        self.encoder, width = make_encoder(self.input_shape, dims)
        self.mu_head = nn.Linear(width, options.latent_dim)
        self.logvar_head = nn.Linear(width, options.latent_dim)
        self.decoder = make_decoder(options.latent_dim, self.input_shape, dims)
        self.likelihood = LIKELIHOODS[options.likelihood]()
        self.likelihood_name = options.likelihood
        #: default weight of each term of ``loss``
        self.term_weights = {"recon": 1.0, "kl": 1.0}

    def hidden_blocks(self) -> list[Block]:
        """Hidden blocks of encoder then decoder: where plugins add layers."""
        return list(hidden_blocks(self))

    def _moments(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.encoder(x)
        return self.mu_head(h), self.logvar_head(h)

    def encode(self, x: Tensor, y: Tensor | None = None) -> Distribution:
        """q(z|x), a diagonal Gaussian."""
        return diagonal_gaussian(*self._moments(x))

    def prior(self) -> Distribution:
        """p(z) = N(0, I)."""
        return standard_normal(self.latent_dim, self.mu_head.weight.device)

    def decode(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        """Decoder output (logits for Bernoulli, pre-sigmoid mean for Gaussian)."""
        return self.decoder(z)

    def forward(self, x: Tensor, y: Tensor | None = None) -> dict[str, Any]:
        mu, logvar = self._moments(x)
        z = reparameterize(mu, logvar)  # sampled in eval too: an ELBO
        return {"output": self.decode(z, y), "posterior": diagonal_gaussian(mu, logvar),
                "z": z, "mu": mu, "logvar": logvar}

    def loss(self, outputs: dict[str, Any], target: Tensor) -> dict[str, Tensor]:
        """Per-example terms (see the class docstring)."""
        return {"recon": self.likelihood.nll(outputs["output"], target),
                "kl": kl_to_standard_normal(outputs["mu"], outputs["logvar"])}

    @torch.no_grad()
    def sample(self, n: int, y: Tensor | None = None,
               generator: torch.Generator | None = None) -> Tensor:
        """``n`` images drawn from the prior, as means in [0, 1]."""
        device = self.mu_head.weight.device
        z = torch.randn(n, self.latent_dim, generator=generator, device=device)
        return self.likelihood.mean(self.decode(z, y))

    @torch.no_grad()
    def reconstruct(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """Decoded posterior means, in [0, 1]."""
        return self.likelihood.mean(self.decode(self.encode(x, y).mean, y))
