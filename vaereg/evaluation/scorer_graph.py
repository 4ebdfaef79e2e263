"""The part of ``vaereg score`` that an inference graph can hold, as one module: images
[N, C, H, W] in [0, 1] to, at z = E[z|x] (the same image always gets the same numbers),
the ELBO's terms and ``neg_elbo`` [N], the maps that need no input gradient (``nll``,
``residual``, ``hyperintensity`` and the baselines) [N, H, W], each map's aggregates [N]
and the ``reconstruction`` [N, C, H, W].

The eager scorer runs this module, and ``vaereg export`` traces it, so the two compute
the same operations. The maps built on the input gradient (``gradient``, ``combi``,
``restoration``) are not in it: an inference graph has no autograd (``GRAPH_LACKS``).
"""
from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from vaereg.evaluation.anomaly_maps import MODEL_MAPS, latent_outputs, reconstruction_maps
from vaereg.evaluation.baseline_maps import BASELINES, PixelGaussian, baseline_maps
from vaereg.evaluation.defect_localization import image_scores
from vaereg.evaluation.likelihood_metrics import elbo_terms_of

#: the graph's output holding the decoded posterior mean, [N, C, H, W] in [0, 1]
RECONSTRUCTION = "reconstruction"
#: maps an exported graph cannot hold, and why
GRAPH_LACKS = {name: "it needs the input gradient of the ELBO, and an inference graph has "
                     "no autograd" for name in ("gradient", "combi", "restoration")}
#: every map, in the order of the scores files
MAP_ORDER = MODEL_MAPS + BASELINES
#: the maps the graph holds: they come with the forward pass, where the others cost a
#: backward pass each (``restoration``: ten)
GRAPH_MAPS = tuple(name for name in MAP_ORDER if name not in GRAPH_LACKS)


class ScorerGraph(nn.Module):
    """``forward(x)`` -> {name: tensor}: ELBO terms, maps, aggregates, reconstruction;
    ``gaussian`` (the ``gaussian`` baseline's per-pixel mean and deviation) is held as
    buffers, so an exported graph carries it."""

    def __init__(self, model: nn.Module, gaussian: PixelGaussian):
        super().__init__()
        self.model = model
        device = next(model.parameters()).device
        self.register_buffer("pixel_mean", gaussian.mean.to(device, copy=True))
        self.register_buffer("pixel_std", gaussian.std.to(device, copy=True))

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        outputs = latent_outputs(self.model, x, None, posterior_mean=True)
        terms = elbo_terms_of(self.model, outputs, x)
        maps = {**reconstruction_maps(self.model, x, outputs),
                **baseline_maps(x, PixelGaussian(self.pixel_mean, self.pixel_std))}
        return {**terms, **image_scores(maps), **maps,
                RECONSTRUCTION: self.model.likelihood.mean(outputs["output"])}


def left_out(names: Any, held: Any) -> dict[str, str]:
    """Of ``names`` (the eager scorer's scores and maps), those not among ``held`` (a
    graph's outputs), each with why."""
    reasons = {}
    for name in names:
        if name in held:
            continue
        cause = next((map_name for map_name in GRAPH_LACKS
                      if name == map_name or name in aggregate_names(map_name)), None)
        reasons[name] = GRAPH_LACKS[cause] if cause else "the scorer graph does not compute it"
    return reasons


def aggregate_names(map_name: str) -> tuple[str, str]:
    """The per-image scores :func:`image_scores` makes of a map."""
    return f"{map_name}_max", f"{map_name}_top1pct"


def only_maps(outputs: dict[str, Tensor], maps: Any) -> dict[str, Tensor]:
    """``outputs`` without the maps not among ``maps``, nor their aggregates."""
    dropped = {output for name in MAP_ORDER if name not in maps
               for output in (name, *aggregate_names(name))}
    return {name: values for name, values in outputs.items() if name not in dropped}


def split_outputs(outputs: dict[str, Tensor]) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    """({score: [N]}, {map: [N, H, W]}) of a scorer's outputs, in the scores file's order:
    the ELBO's terms, then each map's aggregates in ``MAP_ORDER`` (the reconstruction
    left out)."""
    maps = {name: outputs[name] for name in MAP_ORDER if name in outputs}
    aggregates = [score for name in maps for score in aggregate_names(name)]
    terms = [name for name in outputs
             if name not in maps and name not in aggregates and name != RECONSTRUCTION]
    return {name: outputs[name] for name in terms + aggregates}, maps
