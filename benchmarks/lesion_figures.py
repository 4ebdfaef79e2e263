"""The lesion benchmark's figures per lesion type, read from an evaluation's own files.

``vaereg eval --anomaly`` pools every lesion type in its voxel figures; here each type
is taken apart, with the normal test volumes, as the 2-D benchmark takes each defect
kind: voxel AUPRC and best Dice over the voxels of the maps it wrote
(``volume_maps/<stem>_<map>.nii.gz``, checked to have their volume's shape and affine)
against the masks in the data folder, and volume AUROC of the volume score vaereg
uses (the largest of a volume's slice ``<map>_top1pct`` in ``scores.csv``; the
``voxel_gaussian`` baseline has no slice scores, so no volume AUROC).
"""
from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from localization_table import IMAGE_SCORE, NORMAL, Layout
from vaereg.core.common.errors import VaeregError
from vaereg.evaluation.anomaly import anomaly_metrics
from vaereg.evaluation.anomaly_maps import MODEL_MAPS
from vaereg.evaluation.baseline_maps import BASELINES
from vaereg.evaluation.volume_localization import VOXEL_GAUSSIAN, voxel_figures, volume_stem
from vaereg.evaluation.volume_outputs import VOLUME_MAPS_DIR

VOXELS = Layout({"voxel_auprc": "voxel AUPRC", "best_dice": "best Dice",
                 "volume_auroc": "volume AUROC"}, (*BASELINES, VOXEL_GAUSSIAN), "lesion")
MAPS = (*MODEL_MAPS, *VOXELS.baselines)


def test_volumes(data_root: Path) -> dict[str, list[Path]]:
    """Lesion type (or ``good``) -> its test volumes."""
    found: dict[str, list[Path]] = defaultdict(list)
    for path in sorted((data_root / "test").glob("*/*.nii.gz")):
        found[path.parent.name].append(path)
    return dict(found)


def overlaid(map_path: Path, volume_path: Path) -> np.ndarray:
    """The map's voxels, refused unless it has its volume's shape and affine."""
    import nibabel as nib

    written, volume = nib.load(map_path), nib.load(volume_path)
    if written.shape != volume.shape or not np.allclose(written.affine, volume.affine):
        raise VaeregError(f"{map_path} does not overlay {volume_path}: shape {written.shape} "
                          f"vs {volume.shape}, affine\n{written.affine}\nvs\n{volume.affine}")
    return np.asarray(written.dataobj, dtype=np.float32)


def mask_of(data_root: Path, volume_path: Path) -> np.ndarray:
    """The volume's lesion mask (all False for a normal volume)."""
    import nibabel as nib

    kind, stem = volume_path.parent.name, volume_stem(str(volume_path))
    if kind == NORMAL:
        return np.zeros(nib.load(volume_path).shape, bool)
    return np.asarray(nib.load(data_root / "ground_truth" / kind / f"{stem}_mask.nii.gz")
                      .dataobj) > 0


def volume_scores(scores_csv: Path, maps: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """Map -> volume file -> the largest of its slices' ``<map>_top1pct``."""
    with scores_csv.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    best: dict[str, dict[str, float]] = {name: {} for name in maps}
    for row in rows:
        source = row["path"].split("#", 1)[0]
        for name in maps:
            value = float(row[IMAGE_SCORE.format(name)])
            best[name][source] = max(best[name].get(source, -np.inf), value)
    return best


def lesion_figures(eval_folder: Path, data_root: Path) -> dict[tuple[str, str, str], float]:
    """(map, lesion type, figure) -> value for one evaluation folder."""
    volumes = test_volumes(data_root)
    normal = volumes.pop(NORMAL)
    everything = [*normal, *(path for paths in volumes.values() for path in paths)]
    masks = {path: mask_of(data_root, path) for path in everything}
    scored = tuple(name for name in MAPS if name != VOXEL_GAUSSIAN)
    per_volume = volume_scores(eval_folder / "scores.csv", scored)
    figures = {}
    for name in MAPS:
        maps = {path: overlaid(eval_folder / VOLUME_MAPS_DIR
                               / f"{volume_stem(str(path))}_{name}.nii.gz", path)
                for path in everything}
        for kind, lesioned in volumes.items():
            chosen = [*normal, *lesioned]
            voxels = voxel_figures([maps[p] for p in chosen], [masks[p] for p in chosen], 0.0)
            figures[name, kind, "voxel_auprc"] = voxels["voxel_auprc"]
            figures[name, kind, "best_dice"] = voxels["best_dice"]
            if name in scored:
                values = torch.tensor([per_volume[name][str(p)] for p in chosen],
                                      dtype=torch.float64)
                labels = torch.tensor([0] * len(normal) + [1] * len(lesioned))
                figures[name, kind, "volume_auroc"] = anomaly_metrics(values, labels)["auroc"]
    return figures
