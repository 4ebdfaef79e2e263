"""Localization in the scanner's space, for runs on slices of volumes (``nifti``, ``dicom``).

The slice maps of each test volume are stacked back in their places (slices left out by
``min_foreground`` score 0, normal background), the resize and the reorientation undone
(:func:`vaereg.data.volumes.to_scanner_space`), so each map has its file's shape and
affine. The figures are then taken over those voxels against the masks in the files'
own layout: ``localization/<map>/voxel_auroc``, ``voxel_auprc``, ``best_dice`` and
``dice`` (at the threshold chosen on validation slices) over every test voxel, the same
per lesion volume under ``localization/<map>/volume/<stem>/`` (``flagged``, the share of
voxels above the threshold, for a normal one), and a volume-level score, the largest of
its slices' ``<map>_top1pct``, with its AUROC (``anomaly/volume/<map>_top1pct/...``).

Beside the intensity baselines, ``voxel_gaussian``: |x - mu| / sigma with mu, sigma of
each slice position's pixels over the training volumes (a per-voxel model of the normal
anatomy; the pooled ``gaussian`` baseline has one per pixel for all slices).
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

import attrs
import numpy as np
import torch
from torch import Tensor

from vaereg.data.volume_folder import VolumeFolder, row_position
from vaereg.data.volumes import AXES, Placement, from_canonical, to_scanner_space
from vaereg.evaluation.anomaly import anomaly_metrics
from vaereg.evaluation.auroc_interval import auroc_interval
from vaereg.evaluation.baseline_maps import STD_FLOOR
from vaereg.evaluation.defect_localization import PIXEL_FPR, Localization
from vaereg.evaluation.defect_set import DefectSet
from vaereg.evaluation.localization import dice, ranking_figures, threshold_at_fpr
from vaereg.evaluation.run_evaluation import RunEvaluation

VOXEL_GAUSSIAN = "voxel_gaussian"
#: slices scored at a time by the ``voxel_gaussian`` baseline
BATCH = 500


def is_sliced_volumes(dataset: Any) -> bool:
    """Whether ``dataset`` gives 2-D slices of volumes (maps go back into volumes)."""
    return isinstance(dataset, VolumeFolder) and dataset.axis is not None


def volume_stem(source: str) -> str:
    """A volume's name without its folder and ``.nii`` / ``.nii.gz``."""
    name = source.rstrip("/").rsplit("/", 1)[-1]
    for suffix in (".nii.gz", ".nii"):
        if name.endswith(suffix):
            return name[:-len(suffix)]
    return name


@attrs.frozen
class SlicePositionGaussian:
    """Per slice position k: the mean and standard deviation [H, W] of the training
    volumes' slice k (positions without training slices use all slices pooled)."""

    mean: dict[int, Tensor]
    std: dict[int, Tensor]
    pooled: tuple[Tensor, Tensor]

    @classmethod
    def fit(cls, x: Tensor, rows: tuple[str, ...]) -> "SlicePositionGaussian":
        by_position: dict[int, list[int]] = defaultdict(list)
        for i, label in enumerate(rows):
            by_position[row_position(label)[1]].append(i)
        images = x[:, 0].double()

        def stats(values: Tensor) -> tuple[Tensor, Tensor]:
            return values.mean(0).float(), values.std(0, unbiased=False).clamp_min(STD_FLOOR).float()

        fitted = {k: stats(images[index]) for k, index in by_position.items()}
        return cls({k: m for k, (m, _) in fitted.items()}, {k: s for k, (_, s) in fitted.items()},
                   stats(images))

    def score(self, x: Tensor, rows: tuple[str, ...]) -> Tensor:
        """[N, H, W] maps of rows ``x`` [N, 1, H, W] labelled ``rows``."""
        maps = torch.empty(x.shape[0], *x.shape[2:])
        for i, label in enumerate(rows):
            k = row_position(label)[1]
            mean, std = (self.mean[k], self.std[k]) if k in self.mean else self.pooled
            maps[i] = (x[i, 0].cpu() - mean).abs() / std
        return maps


def with_voxel_gaussian(run: Any, localization: Localization,
                        defects: DefectSet) -> Localization:
    """``localization`` with the ``voxel_gaussian`` baseline's maps and threshold."""
    rows = run.dataset.split_rows(run.recipe.seed_for_data)
    gaussian = SlicePositionGaussian.fit(rows["train"].x, rows["train"].rows)
    paths, parts, start = defects.paths, [], 0
    for batch in defects.anomaly_set.split.batches(BATCH):  # slices of volumes: none skipped
        parts.append(gaussian.score(batch.x.cpu(), paths[start:start + len(batch)]))
        start += len(batch)
    maps = torch.cat(parts)
    threshold = threshold_at_fpr(gaussian.score(rows["val"].x, rows["val"].rows), PIXEL_FPR)
    return Localization({**localization.maps, VOXEL_GAUSSIAN: maps},
                        {**localization.thresholds, VOXEL_GAUSSIAN: threshold})


def stacked(values: Tensor, positions: list[tuple[int, int]], placement: Placement,
            axis: str) -> np.ndarray:
    """One volume's map in its file's voxels from its slice maps (``positions``: (row,
    slice index) of each of its slices)."""
    slices = torch.zeros(placement.canonical_shape[AXES[axis]], *values.shape[1:])
    for row, k in positions:
        slices[k] = values[row]
    return to_scanner_space(slices, placement, axis)


@attrs.frozen
class VolumeMaps:
    """Per test volume (``sources``, normal ones first, as the rows): ``maps`` (map name
    -> array in the file's voxels) and ``masks`` (bool in the file's voxels, None for a
    normal volume); ``placements`` for writing them."""

    sources: tuple[str, ...]
    maps: dict[str, dict[str, np.ndarray]]
    masks: dict[str, np.ndarray | None]
    placements: dict[str, Placement]


def volume_maps(dataset: VolumeFolder, maps: dict[str, Tensor],
                rows: tuple[str, ...]) -> VolumeMaps:
    """The slice ``maps`` (name -> [N, H, W]) of the rows labelled ``rows``, stacked back
    into their volumes, with the masks the dataset read for them."""
    positions: dict[str, list[tuple[int, int]]] = {}
    for row, label in enumerate(rows):
        source, k = row_position(label)
        positions.setdefault(source, []).append((row, k))
    placements = {source: dataset.placements[source] for source in positions}
    found = {source: {name: stacked(values, positions[source], placements[source],
                                    dataset.axis)
                      for name, values in maps.items()} for source in positions}
    masks = {source: (from_canonical(dataset.masks[source], placements[source])
                      if source in dataset.masks else None) for source in positions}
    return VolumeMaps(tuple(positions), found, masks, placements)


def _flat(arrays: list[np.ndarray]) -> Tensor:
    return torch.from_numpy(np.concatenate([a.reshape(-1) for a in arrays])).reshape(1, 1, -1)


def voxel_figures(maps: list[np.ndarray], masks: list[np.ndarray],
                  threshold: float) -> dict[str, float]:
    """The figures over all voxels of ``maps`` against ``masks``."""
    values, truth = _flat(maps), _flat(masks)
    ranks = ranking_figures(values, truth)
    return {"voxel_auroc": ranks["pixel_auroc"], "voxel_auprc": ranks["pixel_auprc"],
            "best_dice": ranks["best_dice"], "dice": dice(values, truth, threshold)}


def localize_volumes(evaluation: RunEvaluation, localization: Localization,
                     found: VolumeMaps, seed: int = 0) -> RunEvaluation:
    """``evaluation`` with the voxel and volume figures of every map (module docstring)."""
    summary, intervals = dict(evaluation.summary), dict(evaluation.intervals)
    sources = found.sources
    masks = [found.masks[s] if found.masks[s] is not None
             else np.zeros(found.placements[s].shape, bool) for s in sources]
    for name, threshold in localization.thresholds.items():
        key = f"localization/{name}"
        maps = [found.maps[s][name] for s in sources]
        summary[f"{key}/threshold"] = threshold
        if any(mask.any() for mask in masks):
            summary.update({f"{key}/{k}": v
                            for k, v in voxel_figures(maps, masks, threshold).items()})
        for source, values, mask in zip(sources, maps, masks):
            stem = f"{key}/volume/{volume_stem(source)}"
            if mask.any():
                summary.update({f"{stem}/{k}": v
                                for k, v in voxel_figures([values], [mask], threshold).items()})
            else:
                summary[f"{stem}/flagged"] = float((values > threshold).mean())
    lesion = volume_labels(evaluation, sources)
    if 0 < int(lesion.sum()) < len(sources):
        for score, values in evaluation.scores.items():
            if score.endswith("_top1pct"):
                per_volume = volume_scores(values, evaluation.paths, sources)
                key = f"anomaly/volume/{score}"
                summary.update({f"{key}/{k}": v
                                for k, v in anomaly_metrics(per_volume, lesion).items()})
                intervals[f"{key}/auroc"] = auroc_interval(per_volume, lesion, seed=seed)
    return attrs.evolve(evaluation, summary=summary, intervals=intervals)


def volume_scores(values: Tensor, paths: tuple[str, ...], sources: tuple[str, ...]) -> Tensor:
    """The largest of each volume's slice scores, in the order of ``sources``."""
    best: dict[str, float] = {}
    for value, label in zip(values.tolist(), paths):
        source = row_position(label)[0]
        best[source] = max(best.get(source, -np.inf), value)
    return torch.tensor([best[source] for source in sources], dtype=torch.float64)


def volume_labels(evaluation: RunEvaluation, sources: tuple[str, ...]) -> Tensor:
    """1 for each anomalous volume (its slices are the anomalous rows), 0 for a normal one."""
    anomalous = {row_position(label)[0] for flag, label in
                 zip(evaluation.is_anomaly.tolist(), evaluation.paths) if flag}
    return torch.tensor([int(source in anomalous) for source in sources])
