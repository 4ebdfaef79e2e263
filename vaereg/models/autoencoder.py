"""What every built-in model shares: a backbone's encoder body with Gaussian heads, its
decoder, a pixel likelihood, and the uniform model API.

The models differ only in their ``loss`` terms (vanilla, InfoVAE, WAE), in how the
code z is drawn from the heads (WAE's deterministic encoder), or in what enters encoder
and decoder besides x and z (the conditional VAE's label); each overrides just that.
"""
from __future__ import annotations

import math
from typing import Any, Literal

import attrs
import torch
from torch import Tensor, nn
from torch.distributions import Distribution

from vaereg.core.common.errors import did_you_mean
from vaereg.core.common.options import each_positive, option, positive
from vaereg.core.model import model_contract as contract
from vaereg.core.recipes.registry import BACKBONES
from vaereg.models.blocks import Block, hidden_blocks
from vaereg.models.gaussian import diagonal_gaussian, standard_normal
from vaereg.models.likelihoods import LIKELIHOODS


def _widths(value: tuple[int, ...] | None) -> str | None:
    if value is None:
        return None
    return each_positive(value) if value else "a non-empty list of positive integers"


def _backbone(name: str) -> str | None:
    names = BACKBONES.names()
    if name in names:
        return None
    return f"an installed backbone ({', '.join(names)})" + did_you_mean(name, names)


def _logvar_range(value: tuple[float, ...] | None) -> str | None:
    if value is None:
        return None
    fine = len(value) == 2 and all(map(math.isfinite, value)) and value[0] < value[1]
    return None if fine else "two finite numbers [low, high] with low < high"


@attrs.frozen
class AutoencoderOptions:
    backbone: str = option("mlp", "encoder/decoder body, a name in the vaereg.backbones "
                           "registry: mlp, gated_mlp, conv (28x28 images, or the data's "
                           "1-D/3-D shape), conv3d (volumes), conv64 (64x64)", check=_backbone)
    hidden_dims: tuple[int, ...] | None = option(
        None, "hidden widths (mlp) or channels (conv), encoder order; None = the "
        "backbone's default (mlp and gated_mlp 512,256; conv 32,64; conv64 "
        "32,64,128,256,512)",
        check=_widths)
    latent_dim: int = option(16, "size of the latent code z", check=positive)
    likelihood: Literal["bernoulli", "gaussian"] = option(
        "bernoulli", "decoder distribution over pixels")
    init: Literal["default", "he"] = option(
        "default", "weight initialization: PyTorch's default, or he: every linear and "
        "convolution weight drawn from N(0, 2 / fan_in) (He et al. 2015), biases as default")
    logvar_range: tuple[float, ...] | None = option(
        None, "[low, high]: the encoder's log-variance clipped to it (a hard tanh, as the "
        "VampPrior and Exemplar VAE code's [-6, 2]); None: unbounded", check=_logvar_range)


def he_initialize(module: nn.Module) -> None:
    """Redraw every linear and convolution weight from N(0, 2 / fan_in) (He et al. 2015,
    ``kaiming_normal_``); biases keep PyTorch's default."""
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.modules.conv._ConvNd)):
            nn.init.kaiming_normal_(layer.weight, mode="fan_in", nonlinearity="relu")


class InitializedWhenBuilt(type(nn.Module)):
    """Calls ``initialize_weights`` once the most derived ``__init__`` has returned, so the
    layers a subclass adds after ``super().__init__`` get the recipe's initialization too."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        model = super().__call__(*args, **kwargs)
        model.initialize_weights()
        return model


class GaussianAutoencoder(nn.Module, metaclass=InitializedWhenBuilt):
    """Encoder body -> (mu, log-variance) heads -> z -> decoder -> likelihood.

    Subclasses declare ``loss_terms`` and ``elbo_terms``, set ``term_weights`` and define
    ``loss``; they may override ``posterior`` (what the heads mean) and, to condition on
    more than x and z, ``encoder_input`` / ``decoder_input`` with the widths passed to
    ``__init__``. Their ``capabilities`` follow the model contract
    (``vaereg.core.model.model_contract``).
    """

    Options = AutoencoderOptions
    capabilities = frozenset({contract.POSTERIOR, contract.POSTERIOR_DENSITY,
                              contract.PER_ELEMENT_LIKELIHOOD, contract.HIDDEN_BLOCKS,
                              contract.PARTS, contract.ENCODER_FEATURES})
    #: top-level submodules of each part, for plugins that treat encoder and decoder apart
    #: (``likelihood`` belongs to neither)
    parts = {"encoder": ("encoder", "mu_head", "logvar_head"), "decoder": ("decoder",)}

    def __init__(self, options: AutoencoderOptions, input_shape: tuple[int, ...],
                 num_classes: int = 0, *, encoder_shape: tuple[int, ...] | None = None,
                 decoder_extra: int = 0):
        """``encoder_shape``: the shape ``encoder_input`` gives (default: the image's);
        ``decoder_extra``: how many values ``decoder_input`` appends to z."""
        super().__init__()
        self.options = options
        self.input_shape = tuple(input_shape)
        self.num_classes = num_classes
        self.latent_dim = options.latent_dim
        backbone = BACKBONES.load(options.backbone)()
        dims = options.hidden_dims or backbone.default_dims
        self.encoder, width = backbone.encoder(tuple(encoder_shape or input_shape), dims)
        self.mu_head = nn.Linear(width, options.latent_dim)
        self.logvar_head = nn.Linear(width, options.latent_dim)
        self.decoder = backbone.decoder(options.latent_dim + decoder_extra, self.input_shape,
                                        dims)
        self.likelihood = LIKELIHOODS[options.likelihood]()
        self.likelihood_name = options.likelihood

    def initialize_weights(self) -> None:
        """The recipe's ``init``: He's for every linear and convolution weight, or
        PyTorch's defaults as built. Called once the model is built
        (``InitializedWhenBuilt``)."""
        if self.options.init == "he":
            he_initialize(self)

    def hidden_blocks(self) -> list[Block]:
        """Hidden blocks of encoder then decoder: where plugins add layers."""
        return list(hidden_blocks(self))

    def encoder_input(self, x: Tensor, y: Tensor | None) -> Tensor:
        """What the encoder body reads: the image."""
        return x

    def decoder_input(self, z: Tensor, y: Tensor | None) -> Tensor:
        """What the decoder body reads: the code."""
        return z

    def posterior(self, h: Tensor) -> Distribution:
        """q(z|x) from the encoder body's features: a diagonal Gaussian."""
        logvar = self.logvar_head(h)
        if self.options.logvar_range is not None:
            logvar = logvar.clamp(*self.options.logvar_range)
        return diagonal_gaussian(self.mu_head(h), logvar)

    def features(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """The encoder body's output, ``[batch, width]``: what the latent heads read."""
        return self.encoder(self.encoder_input(x, y))

    def encode(self, x: Tensor, y: Tensor | None = None) -> Distribution:
        """q(z|x) (and y, for a conditional model)."""
        return self.posterior(self.features(x, y))

    def prior(self) -> Distribution:
        """p(z) = N(0, I)."""
        return standard_normal(self.latent_dim, self.mu_head.weight.device)

    def decode(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        """Decoder output (logits for Bernoulli, pre-sigmoid mean for Gaussian)."""
        return self.decoder(self.decoder_input(z, y))

    def forward(self, x: Tensor, y: Tensor | None = None) -> dict[str, Any]:
        """``posterior`` q(z|x), ``z`` a reparameterized draw of it (in eval too, so
        evaluation reports a true single-sample ELBO), the decoder's ``output`` and the
        encoder's ``features`` (what a plugin such as ``class_head`` trains on)."""
        features = self.features(x, y)
        posterior = self.posterior(features)
        z = posterior.rsample()
        return {"output": self.decode(z, y), "posterior": posterior, "z": z,
                "features": features}

    def recon(self, outputs: dict[str, Any], target: Tensor) -> Tensor:
        """-log p(x|z) per example, in nats: the sum of :meth:`recon_per_element`."""
        return self.likelihood.nll(outputs["output"], target)

    def recon_per_element(self, outputs: dict[str, Any], target: Tensor) -> Tensor:
        """-log p(x_i|z) per element in nats, ``[batch, *shape]``: where in the image the
        reconstruction cost lies (anomaly maps)."""
        return self.likelihood.nll_per_element(outputs["output"], target)

    @torch.no_grad()
    def sample(self, n: int, y: Tensor | None = None,
               generator: torch.Generator | None = None) -> Tensor:
        """``n`` images decoded from prior draws, as means in [0, 1]."""
        device = self.mu_head.weight.device
        z = torch.randn(n, self.latent_dim, generator=generator, device=device)
        return self.likelihood.mean(self.decode(z, y))

    @torch.no_grad()
    def reconstruct(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """Decoded posterior means, in [0, 1]."""
        return self.likelihood.mean(self.decode(self.encode(x, y).mean, y))
