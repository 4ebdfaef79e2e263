"""WAE-MMD (Tolstikhin, Bousquet, Gelly & Schoelkopf 2018): an autoencoder whose codes'
aggregate distribution is pushed to the prior, with no per-example KL:

    recon + lambda * MMD(q(z) || p(z))

with the inverse multiquadric kernel over several scales and the unbiased estimator
(``vaereg.functional.mmd``). The encoder is deterministic (z = mu, as in the paper's
experiments) or, with ``deterministic = false``, a Gaussian whose draws are matched.
There is no ELBO in the loss, so ``elbo_terms`` is empty and runs monitor ``val/loss``.
The deterministic encoder's point mass has no density, so the class does not declare
``posterior_density`` (metrics that need it, IWAE and mutual information, do not apply);
a model with ``deterministic = false`` adds it: its Gaussian q(z|x), the N(0, I) prior
and the decoder's likelihood are all the importance-weighted bound on -log p(x) reads.
"""
from __future__ import annotations

from typing import Any

import attrs
from torch import Tensor
from torch.distributions import Distribution

from vaereg.core.common.options import option, positive
from vaereg.core.model import model_contract as contract
from vaereg.functional.mmd import MMDKernelOptions, prior_mmd
from vaereg.models.autoencoder import AutoencoderOptions, GaussianAutoencoder
from vaereg.models.gaussian import point_mass


@attrs.frozen
class WAEOptions(AutoencoderOptions, MMDKernelOptions):
    lam: float = option(1000.0, "lambda of Tolstikhin et al.: the MMD weight (the "
                        "reconstruction here is -log p(x|z) in nats, hundreds per image)",
                        check=positive)
    deterministic: bool = option(True, "z = mu (no log-variance head); false: z drawn "
                                 "from a Gaussian q(z|x)")

    def __attrs_post_init__(self) -> None:
        if self.deterministic and self.logvar_range is not None:
            raise ValueError("logvar_range clips a log-variance the deterministic encoder "
                             "does not have: set deterministic = false, or leave it out")


class WAE(GaussianAutoencoder):
    """Terms ``recon`` (weight 1) and ``mmd`` (weight ``lam``), both ``[batch]``."""

    Options = WAEOptions
    capabilities = GaussianAutoencoder.capabilities - {contract.POSTERIOR_DENSITY}
    loss_terms = ("recon", "mmd")
    elbo_terms = ()

    def __init__(self, options: WAEOptions, input_shape: tuple[int, ...],
                 num_classes: int = 0):
        super().__init__(options, input_shape, num_classes)
        if options.deterministic:
            self.logvar_head = None
        else:
            self.capabilities = type(self).capabilities | {contract.POSTERIOR_DENSITY}
        self.term_weights = {"recon": 1.0, "mmd": options.lam}

    def posterior(self, h: Tensor) -> Distribution:
        """A point mass at mu for the deterministic encoder, else a diagonal Gaussian."""
        if self.options.deterministic:
            return point_mass(self.mu_head(h))
        return super().posterior(h)

    def loss(self, outputs: dict[str, Any], target: Tensor) -> dict[str, Tensor]:
        return {"recon": self.recon(outputs, target),
                "mmd": prior_mmd(outputs["z"], self.prior(), self.options.kernel,
                                 self.options.kernel_scales)}
