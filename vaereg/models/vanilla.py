"""The vanilla VAE (Kingma & Welling 2014): Gaussian encoder, reparameterization, and a
Bernoulli or Gaussian decoder; the objective is the negative ELBO.

beta-VAE (Higgins et al. 2017) and its capacity form (Burgess et al. 2018) are this
model plus the ``kl_schedule`` plugin (``recipes/beta_vae.toml``), not a model of their
own: they change only the KL term's weight or reduction, which the plugin already does.
"""
from __future__ import annotations

from typing import Any

import attrs
from torch import Tensor

from vaereg.models.autoencoder import AutoencoderOptions, GaussianAutoencoder
from vaereg.models.gaussian import kl_to_standard_normal


@attrs.frozen
class VanillaOptions(AutoencoderOptions):
    """The vanilla VAE has only the keys every autoencoder has."""


class VanillaVAE(GaussianAutoencoder):
    """``loss`` returns per-example terms in nats: ``recon`` (-log p(x|z), ``[batch]``)
    and ``kl`` (KL(q(z|x) || N(0, I)) per latent dimension, ``[batch, latent_dim]``),
    both of weight 1, so the objective is the negative ELBO.
    """

    Options = VanillaOptions
    loss_terms = ("recon", "kl")
    #: the terms whose per-example sum is the negative ELBO
    elbo_terms = ("recon", "kl")

    def __init__(self, options: VanillaOptions, input_shape: tuple[int, ...],
                 num_classes: int = 0, **widths: Any):
        """``widths``: ``encoder_shape`` / ``decoder_extra`` of a conditional subclass
        (see :class:`GaussianAutoencoder`)."""
        super().__init__(options, input_shape, num_classes, **widths)
        #: default weight of each term of ``loss``
        self.term_weights = {"recon": 1.0, "kl": 1.0}

    def loss(self, outputs: dict[str, Any], target: Tensor) -> dict[str, Tensor]:
        """Per-example terms (see the class docstring)."""
        return self.elbo_loss(outputs, target)

    def elbo_loss(self, outputs: dict[str, Any], target: Tensor) -> dict[str, Tensor]:
        """The ``elbo_terms`` of ``loss`` only: what scoring an image needs, without a
        subclass's batch-level terms (InfoVAE's MMD needs two images and prior draws)."""
        return {"recon": self.recon(outputs, target),
                "kl": kl_to_standard_normal(outputs["posterior"])}
