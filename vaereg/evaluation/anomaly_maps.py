"""Per-pixel anomaly maps of a trained VAE: where in an image the model sees an anomaly.

Every map is [N, H, W] (channels combined as each formula says), higher = more anomalous,
averaged over L posterior samples z_l ~ q(z|x) (``samples``); see docs/metrics.md.

- ``nll``: the per-pixel negative log-likelihood, (1/L) sum_l sum_c -log p(x_c | z_l)
  (the model's ``recon_per_element``; Baur et al. 2021's residual, in nats).
- ``residual``: (1/L) sum_l mean_c |x_c - E[x_c | z_l]|.
- ``hyperintensity``: mean_c x_c * G_s * D+, where D+ = (1/L) sum_l mean_c d(x_c | z_l)
  [x_c > E[x_c | z_l]] is the deviance (the per-pixel NLL less that of a perfect fit)
  where the pixel is brighter than the model expects, pooled by a Gaussian G_s of
  ``hyperintensity_sigma`` pixels, times the pixel's intensity: bright pixels in a
  region brighter than the model's normal (hyperintense lesions are found by the
  positive residual, Baur et al. 2021, and by plain intensity, Meissen et al. 2021;
  this map asks for both).
- ``gradient``: sum_c |d(-ELBO_L(x)) / dx_c|, the gradient of the L-sample ELBO w.r.t. the
  input (Zimmerer et al. 2019).
- ``combi``: ``residual`` * ``gradient``, their pixel-wise product (Zimmerer et al.
  2019's "combi", which beat either alone in their study).
- ``restoration``: mean_c |x_c - r_c|, where r is x restored towards the model's normal
  by ``restoration_steps`` gradient steps on -ELBO(r) + weight * ||r - x||_1, kept in
  [0, 1] (Chen et al. 2020, a maximum-a-posteriori restoration).

``smoothing`` (off by default) blurs every map with a Gaussian of that many pixels' sigma
(along every spatial axis: pixels or voxels);
``posterior_mean`` takes z = E[z|x] instead of L draws (deterministic maps).
The model must offer what ``REQUIRES`` names (the model contract); ``check_model`` says
which it lacks.
"""
from __future__ import annotations

import math
import warnings
from types import SimpleNamespace
from typing import Any

import attrs
import torch
from torch import Tensor
from torch.nn import functional as F

from vaereg.core.common.errors import VaeregError
from vaereg.core.data.batch import Batch
from vaereg.core.model import model_contract as contract
from vaereg.evaluation.likelihood_metrics import elbo_terms_of, negative_elbo_terms

MODEL_MAPS = ("nll", "residual", "hyperintensity", "gradient", "combi", "restoration")
#: the pooling of ``hyperintensity``, in pixels: chosen on validation defects, never on
#: test masks (``benchmarks/signed_residuals.py``)
HYPERINTENSITY_SIGMA = 2.0
#: what the maps need of a model: z drawn from q(z|x), a per-pixel likelihood, an ELBO
REQUIRES = (contract.POSTERIOR, contract.PER_ELEMENT_LIKELIHOOD, contract.ELBO)


def check_model(model: Any, model_name: str) -> None:
    """Refuse, saying why, a model the maps cannot be computed from."""
    needs = contract.missing(SimpleNamespace(requires=REQUIRES), model)
    if needs:
        raise VaeregError(f"anomaly maps need {' and '.join(map(contract.describe, needs))}, "
                          f"which model '{model_name}' does not have")


@attrs.frozen
class MapOptions:
    """How the maps are computed (see the module docstring)."""

    samples: int = 4
    smoothing: float = 0.0
    restoration_steps: int = 10
    restoration_step: float = 0.05
    restoration_weight: float = 1.0
    hyperintensity_sigma: float = HYPERINTENSITY_SIGMA
    #: z = E[z|x] instead of ``samples`` draws, so an image's maps do not depend on the
    #: random state or on the batch it came in (``vaereg score``, exported scorers)
    posterior_mean: bool = False


def smooth(maps: Tensor, sigma: float) -> Tensor:
    """[N, *spatial] maps (1 to 3 spatial axes) blurred by a Gaussian of standard deviation
    ``sigma`` pixels along each axis (kernel 2 * ceil(3 sigma) + 1 wide, reflected at the
    border, or the edge repeated where an axis is not wider than the kernel's half);
    0 = unchanged."""
    if sigma <= 0:
        return maps
    radius = math.ceil(3 * sigma)
    offsets = torch.arange(-radius, radius + 1, dtype=maps.dtype, device=maps.device)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    kernel = kernel / kernel.sum()
    axes = maps.dim() - 1
    convolve = (F.conv1d, F.conv2d, F.conv3d)[axes - 1]
    blurred = maps.unsqueeze(1)
    for axis in range(axes):  # one axis at a time: the Gaussian is separable
        padding = [0] * (2 * axes)
        padding[2 * (axes - 1 - axis)] = padding[2 * (axes - 1 - axis) + 1] = radius
        with warnings.catch_warnings():  # a traced scorer keeps the choice: its size is fixed
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            mode = "reflect" if radius < blurred.shape[2 + axis] else "replicate"
        shape = [1] * (2 + axes)
        shape[2 + axis] = -1
        blurred = convolve(F.pad(blurred, padding, mode=mode), kernel.view(shape))
    return blurred.squeeze(1)


def latent_outputs(model: Any, x: Tensor, y: Tensor | None,
                   posterior_mean: bool) -> dict[str, Any]:
    """The forward outputs (``output``, ``posterior``, ``z``) with z drawn from q(z|x), or
    at its mean."""
    posterior = model.encode(x, y)
    z = posterior.mean if posterior_mean else posterior.rsample()
    return {"output": model.decode(z, y), "posterior": posterior, "z": z}


def sample_maps(model: Any, x: Tensor, output: Tensor, perfect_fit: Tensor
                ) -> dict[str, Tensor]:
    """``nll``, ``residual`` and the unpooled positive deviance (``hyperintensity``'s D+)
    of images ``x`` for one decoder output (channels combined); ``perfect_fit``: the
    likelihood's ``perfect_fit_nll(x)``."""
    mean = model.likelihood.mean(output)
    nll = model.recon_per_element({"output": output}, x)
    return {"nll": nll.sum(1), "residual": (x - mean).abs().mean(1),
            "hyperintensity": ((nll - perfect_fit) * (x > mean)).mean(1)}


def with_hyperintensity(x: Tensor, maps: dict[str, Tensor], sigma: float) -> dict[str, Tensor]:
    """``maps`` with the positive deviance pooled and weighed by the intensity."""
    return {**maps, "hyperintensity": x.mean(1) * smooth(maps["hyperintensity"], sigma)}


def reconstruction_maps(model: Any, x: Tensor, outputs: dict[str, Any],
                        hyperintensity_sigma: float = HYPERINTENSITY_SIGMA
                        ) -> dict[str, Tensor]:
    """``nll``, ``residual`` and ``hyperintensity`` of images ``x`` for one decoder
    output."""
    maps = sample_maps(model, x, outputs["output"], model.likelihood.perfect_fit_nll(x))
    return with_hyperintensity(x, maps, hyperintensity_sigma)


def _mean_neg_elbo(model: Any, x: Tensor, y: Tensor | None, options: MapOptions) -> Tensor:
    """Sum over images of -ELBO at the posterior mean, or of its mean over ``samples``
    draws (one forward of that many copies)."""
    if options.posterior_mean:
        outputs = latent_outputs(model, x, y, posterior_mean=True)
        return elbo_terms_of(model, outputs, x)["neg_elbo"].sum()
    repeated = x.repeat(options.samples, *([1] * (x.dim() - 1)))
    labels = None if y is None else y.repeat(options.samples)
    terms = negative_elbo_terms(model, Batch(x=repeated, target=repeated, y=labels))
    return terms["neg_elbo"].sum() / options.samples


def _input_gradient(model: Any, x: Tensor, y: Tensor | None, options: MapOptions) -> Tensor:
    """d(sum of -ELBO) / dx, [N, C, H, W], leaving the model's gradients alone."""
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        (gradient,) = torch.autograd.grad(_mean_neg_elbo(model, x, y, options), x)
    return gradient


def _restored(model: Any, x: Tensor, y: Tensor | None, options: MapOptions) -> Tensor:
    """x after ``restoration_steps`` steps of projected gradient descent on
    -ELBO(r) + weight * ||r - x||_1, clamped to [0, 1]."""
    restored = x.detach().clone()
    for _ in range(options.restoration_steps):
        gradient = _input_gradient(model, restored, y, options)
        gradient += options.restoration_weight * torch.sign(restored - x)
        restored = (restored - options.restoration_step * gradient).clamp_(0, 1)
    return restored


@torch.no_grad()
def residual_maps(model: Any, x: Tensor, y: Tensor | None = None,
                  samples: int = MapOptions().samples,
                  hyperintensity_sigma: float = HYPERINTENSITY_SIGMA) -> dict[str, Tensor]:
    """``nll``, ``residual`` and ``hyperintensity`` of images ``x`` [N, C, H, W]: x is
    encoded once (q(z|x) does not change between draws in eval mode) and ``samples`` z
    drawn from it."""
    posterior = model.encode(x, y)
    perfect_fit = model.likelihood.perfect_fit_nll(x)
    totals: dict[str, Tensor] = {}
    for _ in range(samples):
        output = model.decode(posterior.rsample(), y)
        for name, values in sample_maps(model, x, output, perfect_fit).items():
            totals[name] = totals[name].add_(values) if name in totals else values
    means = {name: values.div_(samples) for name, values in totals.items()}
    return with_hyperintensity(x, means, hyperintensity_sigma)


@torch.no_grad()
def gradient_maps(model: Any, x: Tensor, y: Tensor | None, residual: Tensor,
                  options: MapOptions) -> dict[str, Tensor]:
    """The maps that need the input gradient of the ELBO (``gradient``, ``combi`` with
    the ``residual`` map, ``restoration``), unsmoothed."""
    gradient = _input_gradient(model, x, y, options).abs().sum(1)
    maps = {"gradient": gradient, "combi": residual * gradient}
    if options.restoration_steps:
        maps["restoration"] = (x - _restored(model, x, y, options)).abs().mean(1)
    return maps


@torch.no_grad()
def model_maps(model: Any, x: Tensor, y: Tensor | None = None,
               options: MapOptions = MapOptions()) -> dict[str, Tensor]:
    """{map name: [N, H, W]} of images ``x`` [N, C, H, W] (the model in eval mode; z is
    drawn from torch's global generator: seed it for repeatable maps)."""
    if options.posterior_mean:
        maps = reconstruction_maps(model, x, latent_outputs(model, x, y, posterior_mean=True),
                                   options.hyperintensity_sigma)
    else:
        maps = residual_maps(model, x, y, options.samples, options.hyperintensity_sigma)
    maps.update(gradient_maps(model, x, y, maps["residual"], options))
    return {name: smooth(values, options.smoothing) for name, values in maps.items()}
