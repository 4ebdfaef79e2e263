"""Per-image scores of any set of images by one path: the negative ELBO and its terms
(the ``elbo`` metric, seeded as ``vaereg eval`` seeds it) and each map's aggregates
(``<map>_max``, ``<map>_top1pct``), with the maps themselves. ``vaereg score`` and the
calibration both use it, so a calibration score and a scored image's are the same kind."""
from __future__ import annotations

from typing import Any

from torch import Tensor

from vaereg.evaluation.anomaly_maps import MapOptions
from vaereg.evaluation.baseline_maps import PixelGaussian
from vaereg.evaluation.defect_localization import all_maps, image_scores
from vaereg.evaluation.metric import evaluate
from vaereg.evaluation.run_loading import LoadedRun

#: the score ``vaereg score`` flags by
HEADLINE = "neg_elbo"


def score_images(run: LoadedRun, split: Any, gaussian: PixelGaussian, *,
                 options: MapOptions = MapOptions(), batch_size: int = 500,
                 seed: int = 0) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    """({score name: [N]}, {map name: [N, H, W]}) of every image of ``split``, in order."""
    result = evaluate(run.model, split, ["elbo"], prefix="", batch_size=batch_size, seed=seed)
    maps = all_maps(run, split, gaussian, options, batch_size, seed)
    scores = {name: values.detach().double().cpu() for name, values in result.per_example.items()}
    return {**scores, **{k: v.double() for k, v in image_scores(maps).items()}}, maps
