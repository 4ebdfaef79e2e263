"""Calibration of a checkpoint on held-out normal images (the validation split): every
image score of the validation images, for conformal p-values, and each map's pixel
threshold at a false-positive rate of ``PIXEL_FPR`` on their pixels.

Stored as ``RUN_DIR/calibration/<checkpoint>.json`` with the checkpoint's epoch, step and
sha256 and how its scores were made (``scoring``): a checkpoint whose file changed (a
resumed run wrote new weights), or one calibrated by an older way of scoring, is
calibrated afresh the next time it is needed; no earlier ``eval`` is needed."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import attrs
import torch
from torch import Tensor

from vaereg.core.run_folder.run_dir import write_atomic
from vaereg.evaluation.baseline_maps import PixelGaussian
from vaereg.evaluation.conformal import conformal_p_values
from vaereg.evaluation.defect_localization import PIXEL_FPR
from vaereg.evaluation.image_scoring import score_images
from vaereg.evaluation.localization import threshold_at_fpr
from vaereg.evaluation.run_loading import LoadedRun
from vaereg.evaluation.scorer_graph import MAP_ORDER

CALIBRATION_DIR = "calibration"
#: how the calibration's scores are made (:func:`score_images`); a stored calibration
#: made otherwise is computed again
SCORING = "posterior_mean"


@attrs.frozen
class Calibration:
    """``checkpoint``: name, epoch, step, sha256; ``scores``: score name -> the validation
    images' scores; ``pixel_thresholds``: map name -> threshold at ``pixel_fpr``;
    ``scoring``: how the scores were made."""

    checkpoint: dict[str, Any]
    scores: dict[str, list[float]]
    pixel_thresholds: dict[str, float]
    pixel_fpr: float
    scoring: str = ""

    def p_values(self, scores: dict[str, Tensor]) -> dict[str, Tensor]:
        """Conformal p-value of each image under each score the calibration has."""
        return {name: conformal_p_values(torch.tensor(self.scores[name]), values)
                for name, values in scores.items() if name in self.scores}


def calibration_path(run: LoadedRun) -> Path:
    return run.run_dir / CALIBRATION_DIR / f"{run.checkpoint_info['name']}.json"


def calibrate(run: LoadedRun, gaussian: PixelGaussian, batch_size: int = 500,
              maps: Sequence[str] = MAP_ORDER) -> Calibration:
    """Score the validation split (normal images) with the run's checkpoint: the
    scores of ``maps`` and the ELBO's."""
    scores, maps, _ = score_images(run.model, run.splits.val, gaussian, batch_size=batch_size,
                                   maps=maps)
    info = run.checkpoint_info
    return Calibration(
        {"name": info["name"], "epoch": info["epoch"], "step": info["step"],
         "sha256": info["sha256"]},
        {name: values.tolist() for name, values in scores.items()},
        {name: threshold_at_fpr(values, PIXEL_FPR) for name, values in maps.items()},
        PIXEL_FPR, SCORING)


def _stored(path: Path) -> Calibration | None:
    """The calibration in ``path``; None when there is none or it cannot be read (it is
    then computed again, as for new weights)."""
    try:
        return Calibration(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def load_or_calibrate(run: LoadedRun, gaussian: PixelGaussian, batch_size: int = 500,
                      maps: Sequence[str] = MAP_ORDER) -> Calibration:
    """The stored calibration of the run's checkpoint when it belongs to these weights and
    this way of scoring and has every map of ``maps``; else a new one, stored first (of
    ``maps`` and those the stored one had, so asking for fewer maps never loses any)."""
    path = calibration_path(run)
    stored = _stored(path)
    if not (stored and stored.scoring == SCORING
            and stored.checkpoint.get("sha256") == run.checkpoint_info["sha256"]):
        stored = None
    if stored and set(maps) <= set(stored.pixel_thresholds):
        return stored
    had = stored.pixel_thresholds if stored else ()
    calibration = calibrate(run, gaussian, batch_size,
                            [name for name in MAP_ORDER if name in maps or name in had])
    path.parent.mkdir(exist_ok=True)
    write_atomic(path, json.dumps(attrs.asdict(calibration), indent=1) + "\n")
    return calibration
