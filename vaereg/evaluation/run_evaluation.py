"""Evaluating a loaded run: registered metrics over one split, and the anomaly figures.

Everything is computed before anything is written (``run_outputs``), so an evaluation
that fails half-way leaves the previous results whole.
"""
from __future__ import annotations

import time
from typing import Sequence

import attrs
from torch import Tensor

from vaereg.core.errors import VaeregError
from vaereg.core.run_loading import LoadedRun
from vaereg.data.split_images import read_positions
from vaereg.evaluation.anomaly import anomaly_metrics, roc_curve
from vaereg.evaluation.anomaly_sets import AnomalySet
from vaereg.evaluation.metric import evaluate, make_metric

DEFAULT_METRICS = ("elbo", "reconstruction", "active_units", "mutual_information")
#: what the anomaly protocols score by default: figures over normal and anomalous images
#: mixed (active units, mutual information) would describe neither
ANOMALY_METRICS = ("elbo", "reconstruction", "complexity")
#: per-example scores where higher means more anomalous
ANOMALY_SCORES = ("neg_elbo", "recon", "mse", "iwae_nll", "complexity_corrected")
SPLITS = ("test", "val", "train")


@attrs.frozen
class RunEvaluation:
    """``summary``: name -> figure (``test/neg_elbo``, ``anomaly/neg_elbo/auroc``, ...);
    ``scores``: per-example name -> [N] tensor; ``index``, ``labels`` (or None) and
    ``is_anomaly`` (or None) aligned with them; ``roc``: score -> (fpr, tpr) for plots;
    ``intervals``: figure name -> (low, high); ``paths``: each row's file, where known."""

    split: str
    protocol: str
    summary: dict[str, float]
    scores: dict[str, Tensor]
    index: Tensor
    labels: Tensor | None
    is_anomaly: Tensor | None
    roc: dict[str, tuple[Tensor, Tensor]]
    likelihood: str
    binarization: str
    is_log_likelihood: bool
    seconds: float
    intervals: dict[str, tuple[float, float]] = attrs.field(factory=dict)
    paths: tuple[str, ...] | None = None


def metric_list(names: Sequence[str] | None, iw_samples: int | None,
                anomaly: bool = False) -> list:
    """The metric objects to run: ``names`` (or the defaults), and ``iwae`` with K
    samples when ``iw_samples`` is given."""
    names = list(names or (ANOMALY_METRICS if anomaly else DEFAULT_METRICS))
    if iw_samples is not None:
        if iw_samples < 1:
            raise VaeregError(f"--iw-samples must be at least 1, not {iw_samples}")
        names = [name for name in names if name != "iwae"]
        return [make_metric(name) for name in names] + [make_metric("iwae", {"k": iw_samples})]
    return [make_metric(name) for name in names]


def evaluate_run(run: LoadedRun, *, split: str = "test", metrics: Sequence[str] | None = None,
                 iw_samples: int | None = None, batch_size: int = 500,
                 anomaly_set: AnomalySet | None = None, seed: int = 0) -> RunEvaluation:
    """Run the metrics on ``split`` of the run, or on ``anomaly_set`` and then rank its
    images by each anomaly score (AUROC, AUPRC, FPR at 95% TPR)."""
    if split not in SPLITS:
        raise VaeregError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
    if anomaly_set is not None and split != "test":
        raise VaeregError("the anomaly protocols score the test split; leave --split out")
    chosen = metric_list(metrics, iw_samples, anomaly=anomaly_set is not None)
    data = anomaly_set.split if anomaly_set is not None else getattr(run.splits, split)
    start = time.perf_counter()
    result = evaluate(run.model, data, chosen, train=run.splits.train,
                      prefix=anomaly_set.prefix if anomaly_set is not None else split,
                      batch_size=batch_size, seed=seed)
    summary, roc = dict(result.summary), {}
    if anomaly_set is not None:
        labels = anomaly_set.is_anomaly
        for name in ANOMALY_SCORES:
            if name in result.per_example:
                scores = result.per_example[name].detach().double().cpu()
                for key, value in anomaly_metrics(scores, labels).items():
                    summary[f"anomaly/{name}/{key}"] = value
                fpr, tpr, _ = roc_curve(scores, labels)
                roc[name] = (fpr, tpr)
    seconds = time.perf_counter() - start
    if anomaly_set is not None:
        index, labels = anomaly_set.index, data.y
    else:  # a streamed split leaves out unreadable files (data.on_bad_file = "skip")
        index = read_positions(data)
        labels = None if data.y is None else data.y.cpu()[index]
    return RunEvaluation(split, anomaly_set.protocol if anomaly_set is not None else "none",
                         summary, {k: v.detach().cpu() for k, v in result.per_example.items()},
                         index, None if labels is None else labels.cpu(),
                         None if anomaly_set is None else anomaly_set.is_anomaly, roc,
                         result.likelihood, result.binarization, result.is_log_likelihood,
                         seconds, paths=None if anomaly_set is None else anomaly_set.paths)
