"""Per-image scores of any set of images by one path, all at the posterior mean z = E[z|x]
(the same image always gets the same score, whatever batch it comes in): the negative
ELBO and its terms, each map's aggregates (``<map>_max``, ``<map>_top1pct``), with the
maps themselves. ``vaereg score`` and the calibration both use it, so a calibration
score and a scored image's are the same kind; an exported scorer runs the same
:class:`ScorerGraph`."""
from __future__ import annotations

from typing import Any, Sequence

import attrs
import torch
from torch import Tensor, nn

from vaereg.core.common.eval_mode import eval_mode
from vaereg.evaluation.anomaly_maps import MapOptions, gradient_maps
from vaereg.evaluation.baseline_maps import PixelGaussian
from vaereg.evaluation.defect_localization import image_scores
from vaereg.evaluation.scorer_graph import (GRAPH_LACKS, MAP_ORDER, RECONSTRUCTION, ScorerGraph,
                                            only_maps, split_outputs)

#: the score ``vaereg score`` flags by
HEADLINE = "neg_elbo"
#: how ``vaereg score`` computes the maps its graph cannot hold
SCORE_MAPS = MapOptions(posterior_mean=True)


def score_images(model: nn.Module, split: Any, gaussian: PixelGaussian, *,
                 batch_size: int = 500, maps: Sequence[str] = MAP_ORDER
                 ) -> tuple[dict[str, Tensor], dict[str, Tensor], Tensor]:
    """({score name: [N] float64}, {map name: [N, H, W]}, reconstructions [N, C, H, W])
    of every image of ``split`` by ``model``, in order, on the CPU; of the maps, those
    in ``maps`` (the input-gradient ones are computed only when asked for)."""
    graph = ScorerGraph(model, gaussian)
    steps = SCORE_MAPS.restoration_steps if "restoration" in maps else 0
    options = attrs.evolve(SCORE_MAPS, restoration_steps=steps)
    parts: dict[str, list[Tensor]] = {}
    with eval_mode(model), torch.no_grad():
        for batch in split.batches(batch_size):
            outputs = graph(batch.x)
            if any(name in GRAPH_LACKS for name in maps):
                gradients = gradient_maps(model, batch.x, None, outputs["residual"], options)
                outputs.update({**gradients, **image_scores(gradients)})
            for name, values in only_maps(outputs, maps).items():
                parts.setdefault(name, []).append(values.float().cpu())
    return scorer_results({name: torch.cat(values) for name, values in parts.items()})


def scorer_results(outputs: dict[str, Tensor]
                   ) -> tuple[dict[str, Tensor], dict[str, Tensor], Tensor]:
    """(scores as float64 in the scores file's order, maps, reconstructions) of a scorer's
    named outputs, eager or exported."""
    scores, maps = split_outputs(outputs)
    return ({name: values.double() for name, values in scores.items()}, maps,
            outputs[RECONSTRUCTION])
