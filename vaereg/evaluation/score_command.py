"""``vaereg score RUN_DIR PATH...``: score new images against the run's calibration.

Writes, into ``--out`` (default ``RUN_DIR/scored/<checkpoint>-<k>/``, the first k not
taken): ``scores.csv`` (``path``, each score, ``p_value`` and ``flagged`` for the headline
score ``neg_elbo``, ``p_value/<score>`` for the others), ``maps.npz`` (one float32
[N, H, W] array per map, row i = CSV row i) and ``heat_maps/<row>-<file stem>.png``
(image | reconstruction | ``nll`` map | overlay per image). For a run on slices of
volumes (``nifti``, ``dicom``) the paths name volumes (files, or folders of them), each
row of ``scores.csv`` is a slice (``<volume>#<axis>=<k>``) and, in place of the pictures,
``volume_maps/<stem>_<map>.nii.gz`` holds each map in the volume's shape and affine."""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Sequence

import attrs
import torch

from vaereg.core.common.errors import VaeregError
from vaereg.core.model import model_contract as contract
from vaereg.core.run_folder.run_dir import write_atomic
from vaereg.evaluation.anomaly_maps import check_model
from vaereg.evaluation.baseline_maps import PixelGaussian
from vaereg.evaluation.calibration import load_or_calibrate
from vaereg.evaluation.conformal import benjamini_hochberg
from vaereg.evaluation.defect_localization import Localization
from vaereg.evaluation.evaluation_folder import check_writable
from vaereg.evaluation.heat_maps import heat_map_picture
from vaereg.evaluation.image_scoring import HEADLINE, score_images
from vaereg.evaluation.localization_outputs import MAPS_FILE, write_maps
from vaereg.evaluation.new_images import image_files, read_like_run, scored_split
from vaereg.evaluation.run_loading import LoadedRun

SCORED_DIR = "scored"
PICTURED_MAP = "nll"


@attrs.frozen
class ScoreResult:
    folder: Path
    images: int
    flagged: int


def default_folder(run: LoadedRun) -> Path:
    base = run.run_dir / SCORED_DIR
    k = 0
    while (base / f"{run.checkpoint_info['name']}-{k}").exists():
        k += 1
    return base / f"{run.checkpoint_info['name']}-{k}"


def score_table(files: Sequence[str | Path], scores: dict[str, torch.Tensor],
                p_values: dict[str, torch.Tensor], flagged: torch.Tensor) -> str:
    columns: dict[str, list] = {"path": [str(path) for path in files]}
    columns.update({name: [f"{v:.7g}" for v in values.tolist()]
                    for name, values in scores.items()})
    columns["p_value"] = [f"{v:.6g}" for v in p_values[HEADLINE].tolist()]
    columns["flagged"] = [int(v) for v in flagged.tolist()]
    columns.update({f"p_value/{name}": [f"{v:.6g}" for v in values.tolist()]
                    for name, values in p_values.items() if name != HEADLINE})
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(zip(*columns.values()))
    return text.getvalue()


def refuse_unscorable(run: LoadedRun) -> None:
    """Refuse, before any folder is made, a model whose scores new files cannot get: one
    without what the maps need, or a conditional one (its likelihood needs each image's
    class, which a file does not carry)."""
    name = run.recipe.model.name
    check_model(run.model, name)
    if contract.has(run.model, contract.CONDITIONAL):
        raise VaeregError(f"score: model '{name}' is conditional: its likelihood needs each "
                          f"image's class, which image files do not carry; score its test "
                          f"split with `vaereg eval RUN_DIR --anomaly` instead")


def scores_volumes(run: LoadedRun) -> bool:
    """Whether the run trained on slices of volumes (``nifti``, ``dicom``): then the paths
    name volumes, and the maps go back into them."""
    return getattr(run.dataset, "placements", None) is not None and bool(run.dataset.axis)


def volume_files(run: LoadedRun, paths: Sequence[str | Path]) -> list[Path]:
    """The volumes ``paths`` name, as the run's dataset finds them."""
    return [found for path in paths for found in run.dataset.sources(Path(path))]


def score_paths(run: LoadedRun, paths: Sequence[str | Path], *, alpha: float = 0.05,
                fdr: bool = False, out: str | Path | None = None,
                batch_size: int = 500) -> ScoreResult:
    """Score the images in ``paths``; flag p <= ``alpha`` (or, with ``fdr``, the
    Benjamini-Hochberg discoveries at false-discovery rate ``alpha``)."""
    refuse_unscorable(run)
    volumes = scores_volumes(run)
    files = volume_files(run, paths) if volumes else image_files(paths)
    folder = check_writable(Path(out) if out else default_folder(run))
    if volumes:
        rows = run.dataset.rows_of(files)[0]
        x, files = rows.x, list(rows.rows)
    else:
        x, files = read_like_run(run, files)
    gaussian = PixelGaussian.fit(run.splits.train, batch_size)
    calibration = load_or_calibrate(run, gaussian, batch_size)
    scores, maps = score_images(run, scored_split(run, x), gaussian, batch_size=batch_size)
    p_values = calibration.p_values(scores)
    headline = p_values[HEADLINE]
    flagged = benjamini_hochberg(headline, alpha) if fdr else headline <= alpha
    write_atomic(folder / "scores.csv", score_table(files, scores, p_values, flagged))
    write_maps(Localization(maps, calibration.pixel_thresholds), folder / MAPS_FILE)
    if volumes:
        from vaereg.evaluation.volume_localization import volume_maps
        from vaereg.evaluation.volume_outputs import VOLUME_MAPS_DIR, write_volume_maps
        write_volume_maps(volume_maps(run.dataset, maps, tuple(files)), folder / VOLUME_MAPS_DIR)
        return ScoreResult(folder, len(files), int(flagged.sum()))
    pictures = folder / "heat_maps"
    pictures.mkdir(exist_ok=True)
    reconstructions = run.model.reconstruct(x.to(run.device))
    for row, path in enumerate(files):
        heat_map_picture(PICTURED_MAP, [("scored", row)], x[row:row + 1],
                         reconstructions[row:row + 1], maps[PICTURED_MAP], None,
                         [path.name for path in files],
                         pictures / f"{row:04d}-{path.stem}.png")
    return ScoreResult(folder, len(files), int(flagged.sum()))
