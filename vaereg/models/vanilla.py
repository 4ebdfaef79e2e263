"""The vanilla VAE (Kingma & Welling 2014): Gaussian encoder, reparameterization, and a
Bernoulli or Gaussian decoder; the uniform model API every vaereg model follows."""
from __future__ import annotations

from typing import Literal

import attrs
import torch
from torch import Tensor, nn

from vaereg.core.options import each_positive, option, positive
from vaereg.models.backbones import BACKBONES
from vaereg.models.blocks import Block, hidden_blocks
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
    """``loss`` returns named terms, each per image in nats, averaged over the batch:
    ``recon`` (-log p(x|z)), ``kl`` (KL(q(z|x) || N(0, I))), ``neg_elbo`` (their sum)
    and ``loss`` (the objective; equal to ``neg_elbo`` here), plus ``kl_per_dim``.
    """

    Options = VanillaOptions
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

    def hidden_blocks(self) -> list[Block]:
        """Hidden blocks of encoder then decoder: where plugins add layers."""
        return list(hidden_blocks(self))

    def encode(self, x: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Mean and log-variance of q(z|x)."""
        h = self.encoder(x)
        return self.mu_head(h), self.logvar_head(h)

    def decode(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        """Decoder output (logits for Bernoulli, pre-sigmoid mean for Gaussian)."""
        return self.decoder(z)

    def forward(self, x: Tensor, y: Tensor | None = None) -> dict[str, Tensor]:
        mu, logvar = self.encode(x, y)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)  # sampled in eval too: an ELBO
        return {"output": self.decode(z, y), "mu": mu, "logvar": logvar, "z": z}

    def loss(self, outputs: dict[str, Tensor], target: Tensor) -> dict[str, Tensor]:
        recon = self.likelihood.nll(outputs["output"], target)
        mu, logvar = outputs["mu"], outputs["logvar"]
        kl_elem = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)
        kl = kl_elem.sum(1)
        neg_elbo = (recon + kl).mean()
        return {"loss": neg_elbo, "neg_elbo": neg_elbo, "recon": recon.mean(),
                "kl": kl.mean(), "kl_per_dim": kl_elem.mean(0)}

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
        mu, _ = self.encode(x, y)
        return self.likelihood.mean(self.decode(mu, y))
