"""What ``vaereg eval`` leaves in its evaluation's folder
(``RUN_DIR/eval/<checkpoint>-<split>-<protocol>/``): ``eval.json`` (figures, with the
likelihood and binarization they are under, an interval ``<key>_ci`` beside an AUROC),
``scores.csv`` (one row per image, with its file) and the figures as a TensorBoard hparams
session, so runs compare there. Files are written atomically: a failure never leaves
half a file. eval.json is written last (``write_record``) and removed before anything else
is rewritten: a folder without it is an unfinished evaluation, never read as a result."""
from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

from vaereg.core.run_folder.run_dir import write_atomic
from vaereg.evaluation.evaluation_folder import evaluation_folder
from vaereg.evaluation.row_paths import row_paths
from vaereg.evaluation.run_evaluation import RunEvaluation
from vaereg.evaluation.run_loading import LoadedRun
from vaereg.evaluation.stale_evaluations import EVAL_FILE

SCORES_FILE = "scores.csv"
#: eval.json's key naming the anomaly score to read first (its figures:
#: ``metrics["anomaly/<name>/auroc"]``)
HEADLINE_KEY = "anomaly/headline"
#: recipe sections whose options are hyperparameters worth comparing runs by
HPARAM_SECTIONS = ("data", "model", "optimizer", "plugins")
NOT_A_LIKELIHOOD = ("a Bernoulli loss on grey (non-binary) pixels: neg_elbo, recon and "
                    "iwae_nll are losses in nats, not log-likelihood bounds")


def eval_record(run: LoadedRun, evaluation: RunEvaluation) -> dict[str, Any]:
    """The content of eval.json."""
    record = {
        "run_dir": str(run.run_dir),
        "checkpoint": {**{key: run.checkpoint_info[key] for key in ("name", "epoch", "step")},
                       "sha256": run.checkpoint_info["sha256"]},
        "request": evaluation.request,
        "device": str(run.device),
        "split": evaluation.split,
        "protocol": evaluation.protocol,
        "examples": len(evaluation.index),
        "likelihood": evaluation.likelihood,
        "binarization": evaluation.binarization,
        "is_log_likelihood": evaluation.is_log_likelihood,
        "seconds": round(evaluation.seconds, 2),
        "metrics": figures_with_intervals(evaluation),
    }
    if evaluation.headline is not None:
        record[HEADLINE_KEY] = evaluation.headline
    if evaluation.skipped:
        record["skipped"] = evaluation.skipped
    if not evaluation.is_log_likelihood:
        record["note"] = NOT_A_LIKELIHOOD
    return record


def figures_with_intervals(evaluation: RunEvaluation) -> dict[str, Any]:
    """The summary, each interval as ``<key>_ci = [low, high]`` right after its figure."""
    figures: dict[str, Any] = {}
    for key, value in evaluation.summary.items():
        figures[key] = value
        if key in evaluation.intervals:
            figures[f"{key}_ci"] = list(evaluation.intervals[key])
    return figures


def scores_table(evaluation: RunEvaluation, paths: list[str]) -> str:
    """CSV text: ``index``, ``path`` (the image's file, or dataset and index), ``label``
    (when the split has labels), ``is_anomaly`` (in the anomaly protocols), then one
    column per per-example score."""
    columns: dict[str, list] = {"index": evaluation.index.tolist(), "path": paths}
    if evaluation.labels is not None:
        columns["label"] = evaluation.labels.tolist()
    if evaluation.is_anomaly is not None:
        columns["is_anomaly"] = evaluation.is_anomaly.tolist()
    for name, values in evaluation.scores.items():
        columns[name] = [f"{value:.7g}" for value in values.double().tolist()]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(zip(*columns.values()))
    return text.getvalue()


def flat_hparams(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted keys -> values TensorBoard accepts (numbers, strings, bools; lists as text)."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            out.update(flat_hparams(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value if isinstance(value, (bool, int, float, str)) else str(value)
    return out


def write_hparams(run: LoadedRun, evaluation: RunEvaluation, folder: Path) -> Path:
    """The recipe's options and the evaluation's figures as one hparams session in
    ``folder``."""
    from torch.utils.tensorboard import SummaryWriter
    from torch.utils.tensorboard.summary import hparams

    table = run.recipe.to_table()
    params = flat_hparams({section: table[section] for section in HPARAM_SECTIONS})
    params.update({"eval.checkpoint": run.checkpoint_info["name"],
                   "eval.protocol": evaluation.protocol,
                   "likelihood": evaluation.likelihood, "binarization": evaluation.binarization})
    figures = {name: value for name, value in evaluation.summary.items() if math.isfinite(value)}
    with SummaryWriter(log_dir=str(folder)) as writer:
        for summary in hparams(params, figures):
            writer.file_writer.add_summary(summary)
        for name, value in figures.items():
            writer.add_scalar(name, value)
    return folder


def result_folder(run: LoadedRun, evaluation: RunEvaluation) -> Path:
    """The evaluation's own folder (see ``evaluation_folder``)."""
    return evaluation_folder(run.run_dir, run.checkpoint_info["name"], evaluation.split,
                             evaluation.protocol_name)


def write_results(run: LoadedRun, evaluation: RunEvaluation) -> dict[str, Path]:
    """Write scores.csv and the hparams session, after removing an earlier eval.json
    (the folder is unfinished until ``write_record``); returns their paths and eval.json's."""
    folder = result_folder(run, evaluation)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"eval": folder / EVAL_FILE, "scores": folder / SCORES_FILE}
    paths["eval"].unlink(missing_ok=True)
    write_atomic(paths["scores"], scores_table(evaluation, row_paths(run, evaluation)))
    paths["hparams"] = write_hparams(run, evaluation, folder)
    return paths


def write_record(run: LoadedRun, evaluation: RunEvaluation, path: Path) -> Path:
    """eval.json, the last file of an evaluation: it marks the folder finished."""
    write_atomic(path, json.dumps(eval_record(run, evaluation), indent=2) + "\n")
    return path


def evaluate_and_write(run: LoadedRun, evaluation: RunEvaluation,
                       projector_points: int = 2000) -> dict[str, Path]:
    """``vaereg eval``'s files for a computed evaluation but eval.json: scores.csv,
    the hparams session and latent_space.png in the evaluation's folder (and roc.png, in
    an anomaly protocol), and the embedding projector's files in the run folder (the
    first ``projector_points`` test images; 0 = none)."""
    from vaereg.evaluation.embedding_projector import write_projector
    from vaereg.evaluation.pictures import latent_space_plot, roc_plot

    paths = write_results(run, evaluation)
    folder = paths["eval"].parent
    paths["latent_space"] = latent_space_plot(run, folder / "latent_space.png")
    if projector_points:
        paths["projector"] = write_projector(run, projector_points)
    if evaluation.roc:
        paths["roc"] = roc_plot(evaluation.roc, evaluation.summary, evaluation.protocol,
                                folder / "roc.png")
    return paths
