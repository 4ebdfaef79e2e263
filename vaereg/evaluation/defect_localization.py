"""Localization of a labelled-defects evaluation: every map and baseline over the scored
images, their pixel figures (overall and per defect type), and image scores made from
them, with AUROC intervals. Computed before anything is written."""
from __future__ import annotations

import math
from typing import Any

import attrs
import torch
from torch import Tensor

from vaereg.data.defect_layout import NORMAL
from vaereg.evaluation.anomaly import anomaly_metrics
from vaereg.evaluation.anomaly_maps import MapOptions, check_model, model_maps
from vaereg.evaluation.auroc_interval import auroc_interval
from vaereg.evaluation.baseline_maps import PixelGaussian, baseline_maps
from vaereg.evaluation.defect_set import DefectSet
from vaereg.evaluation.localization import connected_regions, pixel_figures, threshold_at_fpr
from vaereg.evaluation.run_evaluation import RunEvaluation
from vaereg.evaluation.run_loading import LoadedRun

#: the share of validation normals' pixels above the threshold that ``dice`` uses
PIXEL_FPR = 0.01
#: the share of an image's pixels whose mean is its ``_top1pct`` score
TOP_SHARE = 0.01


@attrs.frozen
class Localization:
    """``maps``: name -> [N, H, W] float32, row i = the evaluation's row i;
    ``thresholds``: name -> the pixel threshold chosen on validation normals."""

    maps: dict[str, Tensor]
    thresholds: dict[str, float]


def all_maps(run: LoadedRun, split: Any, gaussian: PixelGaussian, options: MapOptions,
             batch_size: int, seed: int) -> dict[str, Tensor]:
    """Model maps and baselines of every image of ``split``, in order, float32 on the CPU
    (z drawn from torch's generator seeded with ``seed``, restored afterwards); a model
    the maps cannot be computed from is refused, saying what it lacks."""
    check_model(run.model, run.recipe.model.name)
    parts: dict[str, list[Tensor]] = {}
    devices = [run.device] if run.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        for batch in split.batches(batch_size):
            maps = {**model_maps(run.model, batch.x, batch.y, options),
                    **baseline_maps(batch.x, gaussian)}
            for name, values in maps.items():
                parts.setdefault(name, []).append(values.float().cpu())
    return {name: torch.cat(values) for name, values in parts.items()}


def image_scores(maps: dict[str, Tensor]) -> dict[str, Tensor]:
    """Per image and map: ``<map>_max`` and ``<map>_top1pct`` (mean of its top 1%)."""
    scores = {}
    for name, values in maps.items():
        flat = values.flatten(1)
        top = max(1, math.ceil(TOP_SHARE * flat.shape[1]))
        scores[f"{name}_max"] = flat.max(1).values
        scores[f"{name}_top1pct"] = flat.topk(top, 1).values.mean(1)
    return scores


def localize(run: LoadedRun, evaluation: RunEvaluation, defects: DefectSet, *,
             options: MapOptions = MapOptions(), batch_size: int = 500,
             seed: int = 0) -> tuple[RunEvaluation, Localization]:
    """``evaluation`` with the maps' figures added (``localization/<map>/...`` where the
    defects have masks, ``anomaly/<map>_max/...`` and ``_top1pct`` always), its rows'
    file paths, and AUROC intervals; and the maps themselves."""
    gaussian = PixelGaussian.fit(run.splits.train, batch_size)
    maps = all_maps(run, defects.anomaly_set.split, gaussian, options, batch_size, seed)
    summary, intervals = dict(evaluation.summary), dict(evaluation.intervals)
    thresholds = {}
    if defects.masks is not None:
        normal_maps = all_maps(run, run.splits.val, gaussian, options, batch_size, seed)
        kinds = sorted(set(defects.kinds) - {NORMAL})
        chosen = {kind: torch.tensor([k in (kind, NORMAL) for k in defects.kinds])
                  for kind in kinds}
        regions = connected_regions(defects.masks)  # once: every map has the same masks
        for name, values in maps.items():
            thresholds[name] = threshold_at_fpr(normal_maps[name], PIXEL_FPR)
            figures = {**pixel_figures(values, defects.masks, thresholds[name], regions),
                       "threshold": thresholds[name]}
            for kind, rows in chosen.items():
                figures.update({f"{kind}/{key}": value for key, value in pixel_figures(
                    values[rows], defects.masks[rows], thresholds[name], regions[rows]).items()})
            summary.update({f"localization/{name}/{key}": v for key, v in figures.items()})
            intervals[f"localization/{name}/pixel_auroc"] = auroc_interval(values, defects.masks,
                                                                           seed=seed)
    scores = image_scores(maps)
    for name, values in scores.items():
        summary.update({f"anomaly/{name}/{key}": value for key, value in anomaly_metrics(
            values.double(), defects.anomaly_set.is_anomaly).items()})
    evaluation = attrs.evolve(evaluation, summary=summary, intervals=intervals,
                              scores={**evaluation.scores, **scores}, paths=defects.paths)
    return with_score_intervals(evaluation, seed), Localization(maps, thresholds)


def with_score_intervals(evaluation: RunEvaluation, seed: int = 0) -> RunEvaluation:
    """``evaluation`` with a bootstrap interval over images beside each image-level
    ``anomaly/<score>/auroc`` it has."""
    intervals = dict(evaluation.intervals)
    for name, values in evaluation.scores.items():
        key = f"anomaly/{name}/auroc"
        if key in evaluation.summary:
            intervals[key] = auroc_interval(values.double(), evaluation.is_anomaly, seed=seed)
    return attrs.evolve(evaluation, intervals=intervals)
