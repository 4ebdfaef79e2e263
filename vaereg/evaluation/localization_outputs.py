"""The files of a localization beside eval.json: ``maps.npz`` (one float32 [N, H, W]
array per map and baseline, keyed by its name, row i = scores.csv row i), one heat-map
picture per map (``heat_maps/<map>.png``) and, with masks, the pixel ROC and PR curves
(``pixel_roc_pr.png``)."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import torch

from vaereg.core.common.atomic_file import atomic_write
from vaereg.data.split_images import images_at_rows
from vaereg.evaluation.defect_localization import Localization
from vaereg.evaluation.defect_set import DefectSet
from vaereg.evaluation.heat_maps import chosen_rows, heat_map_picture, image_dice
from vaereg.evaluation.localization_plots import PLOT_FILE, pixel_curves_plot
from vaereg.evaluation.run_loading import LoadedRun

MAPS_FILE = "maps.npz"
HEAT_MAPS_DIR = "heat_maps"


def write_maps(localization: Localization, path: Path) -> Path:
    arrays = {name: values.float().numpy() for name, values in localization.maps.items()}
    atomic_write(path, lambda handle: np.savez(handle, **arrays))
    return path


def write_heat_maps(run: LoadedRun, localization: Localization, defects: DefectSet,
                    folder: Path, seed: int = 0) -> Path:
    """heat_maps/<map>.png for every map; returns the folder."""
    folder.mkdir(exist_ok=True)
    labels = [f"{kind}: {Path(path).name}" for kind, path in zip(defects.kinds, defects.paths)]
    chosen = {}
    for name, maps in localization.maps.items():
        if defects.masks is not None:
            quality = image_dice(maps, defects.masks, localization.thresholds[name])
        else:
            quality = maps.flatten(1).max(1).values
        chosen[name] = chosen_rows(quality, defects.anomaly_set.is_anomaly, seed)
    wanted = sorted({row for rows in chosen.values() for _, row in rows})
    images = dict(zip(wanted, images_at_rows(defects.anomaly_set.split, wanted)))
    for name, rows in chosen.items():
        pictured = torch.stack([images[row] for _, row in rows])
        heat_map_picture(name, rows, pictured, run.model.reconstruct(pictured),
                         localization.maps[name], defects.masks, labels, folder / f"{name}.png")
    return folder


def write_localization(run: LoadedRun, localization: Localization, defects: DefectSet,
                       summary: dict[str, float], folder: Path,
                       heat_maps: bool = True) -> dict[str, Path]:
    """maps.npz, the pixel curves and (``heat_maps``: most of the time) the heat maps;
    without, an earlier evaluation's heat maps are removed (they showed other maps)."""
    paths = {"maps": write_maps(localization, folder / MAPS_FILE)}
    if heat_maps:
        paths["heat_maps"] = write_heat_maps(run, localization, defects, folder / HEAT_MAPS_DIR)
    else:
        shutil.rmtree(folder / HEAT_MAPS_DIR, ignore_errors=True)
    if defects.masks is not None:
        paths["pixel_curves"] = pixel_curves_plot(localization.maps, defects.masks, summary,
                                                  folder / PLOT_FILE)
    return paths
