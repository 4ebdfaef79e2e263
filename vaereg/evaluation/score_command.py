"""``vaereg score RUN_DIR PATH...``: score new images against the run's calibration.

Writes, into ``--out`` (default ``RUN_DIR/scored/<checkpoint>-<k>/``, the first k not
taken): ``scores.csv`` (``path``, each score, ``p_value`` and ``flagged`` for the headline
score ``neg_elbo``, ``p_value/<score>`` for the others), ``maps.npz`` (one float32
[N, H, W] array per map of ``--maps``, row i = CSV row i) and
``heat_maps/<row>-<file stem>.png`` (image | reconstruction | ``nll`` map, or the first
chosen | overlay per image). For a run on slices of
volumes (``nifti``, ``dicom``) the paths name volumes (files, or folders of them), each
row of ``scores.csv`` is a slice (``<volume>#<axis>=<k>``) and, in place of the pictures,
``volume_maps/<stem>_<map>.nii.gz`` holds each map in the volume's shape and affine. Every score is taken at the
posterior mean, so an image gets the same numbers whatever it is scored with; ``--onnx``
runs the run's exported scorer instead of the model (the same columns and values, less
the scores its graph cannot hold)."""
from __future__ import annotations

import csv
import io
import warnings
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
from vaereg.evaluation.exported_scorer import load_exported
from vaereg.evaluation.image_scoring import HEADLINE, score_images, scorer_results
from vaereg.evaluation.localization_outputs import MAPS_FILE, write_maps
from vaereg.evaluation.new_images import image_files, read_like_run, scored_split
from vaereg.evaluation.volume_runs import refuse_whole_volumes, scores_slices
from vaereg.evaluation.run_loading import LoadedRun
from vaereg.evaluation.scorer_graph import GRAPH_MAPS, MAP_ORDER, only_maps

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


def volume_files(run: LoadedRun, paths: Sequence[str | Path]) -> list[Path]:
    """The volumes ``paths`` name, as the run's dataset finds them."""
    return [found for path in paths for found in run.dataset.sources(Path(path))]


def chosen_maps(names: Sequence[str]) -> tuple[str, ...]:
    """The maps ``--maps`` names (``all``: every one), in the scores file's order; an
    unknown name is refused, listing the known ones."""
    if "all" in names:
        return MAP_ORDER
    unknown = [name for name in names if name not in MAP_ORDER]
    if unknown or not names:
        raise VaeregError(f"--maps: unknown map {', '.join(unknown) or '(none given)'}; choose "
                          f"among {', '.join(MAP_ORDER)}, or all")
    return tuple(name for name in MAP_ORDER if name in names)


def score_paths(run: LoadedRun, paths: Sequence[str | Path], *, alpha: float = 0.05,
                fdr: bool = False, out: str | Path | None = None, batch_size: int = 500,
                onnx: str | Path | None = None, maps: Sequence[str] = GRAPH_MAPS,
                heat_maps: bool = True) -> ScoreResult:
    """Score the images in ``paths``; flag p <= ``alpha`` (or, with ``fdr``, the
    Benjamini-Hochberg discoveries at false-discovery rate ``alpha``). ``maps``: the maps
    (with their aggregate scores) to compute; by default those that need no input
    gradient, which cost nothing beside the ELBO; ``heat_maps`` False leaves out the
    pictures (drawing one takes longer than scoring the image). With ``onnx``, an exported scorer of
    the run computes them through onnxruntime, against the calibration it carries; the
    scores it cannot hold are left out, with a warning naming them."""
    maps = chosen_maps(maps)
    refuse_unscorable(run)
    refuse_whole_volumes(run, "score")
    exported = load_exported(onnx, run) if onnx else None
    if exported and not set(maps) & set(GRAPH_MAPS):
        raise VaeregError(f"--onnx: the exported graph holds none of --maps {', '.join(maps)} "
                          f"(they need input gradients); choose among {', '.join(GRAPH_MAPS)}")
    volumes = scores_slices(run)
    files = volume_files(run, paths) if volumes else image_files(paths)
    folder = check_writable(Path(out) if out else default_folder(run))
    if volumes:
        rows = run.dataset.rows_of(files)[0]
        x, files = rows.x, list(rows.rows)
    else:
        x, files = read_like_run(run, files)
    split = scored_split(run, x)
    if exported:
        missing = list(only_maps(exported.left_out, maps))
        if missing:
            warnings.warn(f"--onnx: left out {', '.join(missing)}: the exported "
                          f"graph cannot hold them (no input gradients)", RuntimeWarning,
                          stacklevel=2)
        calibration = exported.calibration
        scores, maps, reconstructions = scorer_results(
            only_maps(exported.outputs(split, batch_size), maps))
    else:
        gaussian = PixelGaussian.fit(run.splits.train, batch_size)
        calibration = load_or_calibrate(run, gaussian, batch_size, maps)
        scores, maps, reconstructions = score_images(run.model, split, gaussian,
                                                     batch_size=batch_size, maps=maps)
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
    if heat_maps:
        write_heat_maps(folder / "heat_maps", maps, x, reconstructions, files)
    return ScoreResult(folder, len(files), int(flagged.sum()))


def write_heat_maps(pictures: Path, maps: dict[str, torch.Tensor], x: torch.Tensor,
                    reconstructions: torch.Tensor, files: Sequence[Path]) -> None:
    """One picture per scored image, of the ``nll`` map (or the first map scored)."""
    pictures.mkdir(exist_ok=True)
    pictured = PICTURED_MAP if PICTURED_MAP in maps else next(iter(maps))
    for row, path in enumerate(files):
        heat_map_picture(pictured, [("scored", row)], x[row:row + 1],
                         reconstructions[row:row + 1], maps[pictured], None,
                         [path.name for path in files],
                         pictures / f"{row:04d}-{path.stem}.png")
