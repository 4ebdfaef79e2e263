"""``vaereg eval`` as one library call: choose the protocol, check that its folder can be
written, evaluate (and localize, for labelled defects), then write every file."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from vaereg.core.common.errors import VaeregError
from vaereg.evaluation.anomaly_sets import out_of_distribution
from vaereg.evaluation.defect_localization import localize, with_score_intervals
from vaereg.evaluation.defect_set import anomaly_protocol
from vaereg.evaluation.evaluation_folder import check_writable, evaluation_folder
from vaereg.evaluation.localization_outputs import write_localization
from vaereg.evaluation.run_evaluation import RunEvaluation, evaluate_run
from vaereg.evaluation.run_loading import LoadedRun
from vaereg.evaluation.run_outputs import evaluate_and_write


def evaluate_and_save(run: LoadedRun, *, split: str = "test",
                      metrics: Sequence[str] | None = None, iw_samples: int | None = None,
                      batch_size: int | None = None, ood: str | None = None,
                      ood_options: tuple[str, ...] = (), anomaly: bool = False,
                      projector_points: int = 2000) -> tuple[RunEvaluation, dict[str, Path]]:
    """Evaluate ``run`` as ``vaereg eval`` does; returns the evaluation and the files.
    ``batch_size`` defaults to the run's (then ``elbo`` gives metrics.json's figures)."""
    batch_size = batch_size or run.recipe.data.loader.batch_size
    if ood and anomaly:
        raise VaeregError("choose one anomaly protocol: --ood DATASET or --anomaly")
    if ood_options and not ood:
        raise VaeregError("--set gives options of the --ood dataset; add --ood DATASET")
    if (ood or anomaly) and split != "test":
        raise VaeregError("the anomaly protocols score the test split; leave --split out")
    anomaly_set, defects = ((out_of_distribution(run, ood, ood_options), None) if ood
                            else anomaly_protocol(run) if anomaly else (None, None))
    check_writable(evaluation_folder(run.run_dir, run.checkpoint_info["name"], split,
                                     anomaly_set.name if anomaly_set else "none"))
    evaluation = evaluate_run(run, split=split, metrics=metrics, iw_samples=iw_samples,
                              batch_size=batch_size, anomaly_set=anomaly_set)
    localization = None
    if defects is not None:
        evaluation, localization = localize(
            run, evaluation, defects, batch_size=batch_size or run.recipe.data.loader.batch_size)
    elif anomaly_set is not None:
        evaluation = with_score_intervals(evaluation)
    paths = evaluate_and_write(run, evaluation, projector_points=projector_points)
    if localization is not None:
        paths.update(write_localization(run, localization, defects, evaluation.summary,
                                        paths["eval"].parent))
    return evaluation, paths
