"""Per-pixel anomaly maps of a trained VAE: where in an image the model sees an anomaly.

Every map is [N, H, W] (channels combined as each formula says), higher = more anomalous,
averaged over L posterior samples z_l ~ q(z|x) (``samples``); see docs/metrics.md.

- ``nll``: the per-pixel negative log-likelihood, (1/L) sum_l sum_c -log p(x_c | z_l)
  (the model's ``recon_per_element``; Baur et al. 2021's residual, in nats).
- ``residual``: (1/L) sum_l mean_c |x_c - E[x_c | z_l]|.
- ``gradient``: sum_c |d(-ELBO_L(x)) / dx_c|, the gradient of the L-sample ELBO w.r.t. the
  input (Zimmerer et al. 2019).
- ``combi``: ``residual`` * ``gradient``, their pixel-wise product (Zimmerer et al.
  2019's "combi", which beat either alone in their study).
- ``restoration``: mean_c |x_c - r_c|, where r is x restored towards the model's normal
  by ``restoration_steps`` gradient steps on -ELBO(r) + weight * ||r - x||_1, kept in
  [0, 1] (Chen et al. 2020, a maximum-a-posteriori restoration).

``smoothing`` (off by default) blurs every map with a Gaussian of that many pixels' sigma.
The model must offer what ``REQUIRES`` names (the model contract); ``check_model`` says
which it lacks.
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import attrs
import torch
from torch import Tensor
from torchvision.transforms import functional as TF

from vaereg.core.common.errors import VaeregError
from vaereg.core.data.batch import Batch
from vaereg.core.model import model_contract as contract
from vaereg.evaluation.likelihood_metrics import negative_elbo_terms

MODEL_MAPS = ("nll", "residual", "gradient", "combi", "restoration")
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


def smooth(maps: Tensor, sigma: float) -> Tensor:
    """[N, H, W] maps blurred by a Gaussian of standard deviation ``sigma`` pixels
    (kernel 2 * ceil(3 sigma) + 1 wide, reflected at the border); 0 = unchanged."""
    if sigma <= 0:
        return maps
    width = 2 * int(torch.tensor(3 * sigma).ceil()) + 1
    return TF.gaussian_blur(maps.unsqueeze(1), [width, width], [sigma, sigma]).squeeze(1)


def _mean_neg_elbo(model: Any, x: Tensor, y: Tensor | None, samples: int) -> Tensor:
    """Sum over images of the ``samples``-draw mean of -ELBO (one forward of L copies)."""
    repeated = x.repeat(samples, *([1] * (x.dim() - 1)))
    labels = None if y is None else y.repeat(samples)
    terms = negative_elbo_terms(model, Batch(x=repeated, target=repeated, y=labels))
    return terms["neg_elbo"].sum() / samples


def _input_gradient(model: Any, x: Tensor, y: Tensor | None, samples: int) -> Tensor:
    """d(sum of -ELBO_L) / dx, [N, C, H, W], leaving the model's gradients alone."""
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        (gradient,) = torch.autograd.grad(_mean_neg_elbo(model, x, y, samples), x)
    return gradient


def _restored(model: Any, x: Tensor, y: Tensor | None, options: MapOptions) -> Tensor:
    """x after ``restoration_steps`` steps of projected gradient descent on
    -ELBO(r) + weight * ||r - x||_1, clamped to [0, 1]."""
    restored = x.detach().clone()
    for _ in range(options.restoration_steps):
        gradient = _input_gradient(model, restored, y, options.samples)
        gradient += options.restoration_weight * torch.sign(restored - x)
        restored = (restored - options.restoration_step * gradient).clamp_(0, 1)
    return restored


@torch.no_grad()
def residual_maps(model: Any, x: Tensor, y: Tensor | None = None,
                  samples: int = MapOptions().samples) -> dict[str, Tensor]:
    """``nll`` and ``residual`` of images ``x`` [N, C, H, W]: x is encoded once (q(z|x)
    does not change between draws in eval mode) and ``samples`` z drawn from it."""
    posterior = model.encode(x, y)
    nll = torch.zeros(x.shape[0], *x.shape[2:], device=x.device)
    residual = torch.zeros_like(nll)
    for _ in range(samples):
        output = model.decode(posterior.rsample(), y)
        nll += model.recon_per_element({"output": output}, x).sum(1)
        residual += (x - model.likelihood.mean(output)).abs().mean(1)
    return {"nll": nll / samples, "residual": residual / samples}


def gradient_map(model: Any, x: Tensor, y: Tensor | None = None,
                 samples: int = MapOptions().samples) -> Tensor:
    """``gradient`` of images ``x`` [N, C, H, W]: sum_c |d(-ELBO_L) / dx_c|."""
    return _input_gradient(model, x, y, samples).abs().sum(1)


@torch.no_grad()
def model_maps(model: Any, x: Tensor, y: Tensor | None = None,
               options: MapOptions = MapOptions()) -> dict[str, Tensor]:
    """{map name: [N, H, W]} of images ``x`` [N, C, H, W] (the model in eval mode; z is
    drawn from torch's global generator: seed it for repeatable maps)."""
    maps = residual_maps(model, x, y, options.samples)
    maps["gradient"] = gradient_map(model, x, y, options.samples)
    maps["combi"] = maps["residual"] * maps["gradient"]
    if options.restoration_steps:
        maps["restoration"] = (x - _restored(model, x, y, options)).abs().mean(1)
    return {name: smooth(values, options.smoothing) for name, values in maps.items()}
