"""``vaereg eval`` as one library call: choose the protocol, check that its folder can be
written, evaluate (and localize, for labelled defects), then write every file, eval.json
last (a killed evaluation leaves no folder that looks finished)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import attrs

from vaereg.core.common.errors import VaeregError
from vaereg.evaluation.anomaly_sets import out_of_distribution
from vaereg.evaluation.defect_localization import Localization, localize, with_score_intervals
from vaereg.evaluation.defect_set import DefectSet, anomaly_protocol
from vaereg.evaluation.evaluation_folder import check_writable, evaluation_folder
from vaereg.evaluation.localization_outputs import write_localization
from vaereg.evaluation.run_evaluation import RunEvaluation, evaluate_run
from vaereg.evaluation.run_loading import LoadedRun
from vaereg.evaluation.volume_runs import refuse_whole_volumes, scores_slices
from vaereg.evaluation.run_outputs import evaluate_and_write, write_record
from vaereg.evaluation.stale_evaluations import STALE_FILE


def evaluate_and_save(run: LoadedRun, *, split: str = "test",
                      metrics: Sequence[str] | None = None, iw_samples: int | None = None,
                      batch_size: int | None = None, ood: str | None = None,
                      ood_options: tuple[str, ...] = (), anomaly: bool = False,
                      projector_points: int = 2000,
                      heat_maps: bool = True) -> tuple[RunEvaluation, dict[str, Path]]:
    """Evaluate ``run`` as ``vaereg eval`` does; returns the evaluation and the files.
    ``batch_size`` defaults to the run's (then ``elbo`` gives metrics.json's figures);
    ``heat_maps`` False leaves out the heat-map pictures (the figures are the same)."""
    request = {"split": split, "metrics": None if metrics is None else list(metrics),
               "iw_samples": iw_samples, "batch_size": batch_size, "anomaly": anomaly,
               "ood": ood, "ood_options": list(ood_options)}
    batch_size = batch_size or run.recipe.data.loader.batch_size
    if ood and anomaly:
        raise VaeregError("choose one anomaly protocol: --ood DATASET or --anomaly")
    if ood_options and not ood:
        raise VaeregError("--set gives options of the --ood dataset; add --ood DATASET")
    if (ood or anomaly) and split != "test":
        raise VaeregError("the anomaly protocols score the test split; leave --split out")
    if anomaly:
        refuse_whole_volumes(run, "eval --anomaly")
    anomaly_set, defects = ((out_of_distribution(run, ood, ood_options), None) if ood
                            else anomaly_protocol(run) if anomaly else (None, None))
    check_writable(evaluation_folder(run.run_dir, run.checkpoint_info["name"], split,
                                     anomaly_set.name if anomaly_set else "none"))
    evaluation = evaluate_run(run, split=split, metrics=metrics, iw_samples=iw_samples,
                              batch_size=batch_size, anomaly_set=anomaly_set)
    localization = volumes = None
    if defects is not None:
        evaluation, localization = localize(
            run, evaluation, defects, batch_size=batch_size or run.recipe.data.loader.batch_size)
        if scores_slices(run):
            evaluation, volumes = in_scanner_space(run, evaluation, localization, defects)
    elif anomaly_set is not None:
        evaluation = with_score_intervals(evaluation)
    evaluation = attrs.evolve(evaluation, request=request)
    paths = evaluate_and_write(run, evaluation, projector_points=projector_points)
    if localization is not None:
        paths.update(write_localization(run, localization, defects, evaluation.summary,
                                        paths["eval"].parent, heat_maps))
    if volumes is not None:
        from vaereg.evaluation.volume_outputs import VOLUME_MAPS_DIR, write_volume_maps
        paths["volume_maps"] = write_volume_maps(volumes, paths["eval"].parent / VOLUME_MAPS_DIR)
    write_record(run, evaluation, paths["eval"])  # last: the evaluation is finished
    (paths["eval"].parent / STALE_FILE).unlink(missing_ok=True)  # these are the weights now
    return evaluation, paths


def in_scanner_space(run: LoadedRun, evaluation: RunEvaluation, localization: Localization,
                     defects: DefectSet) -> tuple[RunEvaluation, Any]:
    """For slices of volumes: the maps (and the voxel-Gaussian baseline) stacked back
    into their volumes, and the voxel and volume figures (imported here: they need the
    ``medical`` extra, which only volume datasets need)."""
    from vaereg.evaluation.volume_localization import (localize_volumes, volume_maps,
                                                       with_voxel_gaussian)
    localization = with_voxel_gaussian(run, localization, defects)
    volumes = volume_maps(run.dataset, localization.maps, defects.paths)
    return localize_volumes(evaluation, localization, volumes), volumes
