"""A sweep that ranks trials by an anomaly figure: only on labelled validation anomalies.

Tuning on the test anomalies is leakage: the test figures of the chosen trial would be
optimistic (the best of many tries on the same images). So an anomaly objective must be
``val/anomaly/<score>/<figure>`` (``auroc``, ``auprc``, ``fpr_at_95_tpr``; ``<score>`` one
of ``vaereg eval``'s image scores: ``neg_elbo``, ``recon``, ``mse``,
``complexity_corrected``), computed after each trial on the validation split's normal
images and the defects of an MVTec-layout folder's ``val/<defect type>/`` folders, for
the trial's final weights; any other objective naming anomalies or localization is
refused before the first trial, as is one whose data has no such folders.
"""
from __future__ import annotations

import re
from pathlib import Path

from vaereg.core.common.errors import VaeregError

#: an objective that names an anomaly or localization figure, wherever it was computed
ANOMALY_FIGURE = re.compile(r"(^|/)(anomaly|localization)/")
VALIDATION_FIGURE = re.compile(r"val/anomaly/([^/]+)/(auroc|auprc|fpr_at_95_tpr)")
LAYOUT = ("root/train/good/ (normal training images), root/val/good/ (normal validation "
          "images), root/val/<defect type>/ (anomalous validation images, labelled by their "
          "folder), and root/test/good/ with root/test/<defect type>/ for the final figures")


def is_anomaly_objective(objective: str) -> bool:
    return bool(ANOMALY_FIGURE.search(objective))


def check_anomaly_objective(objective: str, recipe) -> None:
    """Refuse (``VaeregError``, exit 2) an anomaly objective not computed on labelled
    validation anomalies of the recipe's data, saying why and what folders to make."""
    if not is_anomaly_objective(objective):
        return
    why = ("tuning on the test anomalies is leakage (the chosen trial's test figures would "
           "be the best of many tries on the same images)")
    if not VALIDATION_FIGURE.fullmatch(objective):
        raise VaeregError(f"--objective {objective}: a sweep may rank trials by an anomaly "
                          f"figure only on labelled validation anomalies, "
                          f"val/anomaly/<score>/auroc (or auprc, fpr_at_95_tpr): {why}")
    if not _has_validation_defects(recipe):
        root = getattr(recipe.data.options, "root", None)
        where = f"data.root = {root}" if root else f"data.name = {recipe.data.name}"
        raise VaeregError(f"--objective {objective}: {where} has no labelled validation "
                          f"anomalies, and {why}. Make an image_folder in the MVTec layout "
                          f"with validation defects: {LAYOUT}")


def _has_validation_defects(recipe) -> bool:
    from vaereg.data.defect_layout import find_defect_layout, is_defect_layout

    root = getattr(recipe.data.options, "root", None)
    if recipe.data.name != "image_folder" or not root:
        return False
    root = Path(root).expanduser()
    return is_defect_layout(root) and bool(find_defect_layout(root).val_defects)


def validation_anomaly_figure(run_dir: Path, objective: str) -> float:
    """The trial's ``objective`` (``val/anomaly/<score>/<figure>``): its final weights'
    scores of the validation normals and the validation defects, ranked as ``vaereg
    eval --anomaly`` ranks the test ones."""
    from vaereg.evaluation.defect_set import labelled_defects
    from vaereg.evaluation.run_evaluation import evaluate_run
    from vaereg.evaluation.run_loading import load_run

    run = load_run(run_dir, "last")
    defects = labelled_defects(run, "val")
    summary = evaluate_run(run, anomaly_set=defects.anomaly_set).summary
    key = objective.removeprefix("val/")
    if key not in summary:
        known = sorted(name for name in summary if name.startswith("anomaly/"))
        raise VaeregError(f"--objective {objective}: the validation anomalies have no such "
                          f"figure; there are {', '.join('val/' + k for k in known)}")
    return float(summary[key])
