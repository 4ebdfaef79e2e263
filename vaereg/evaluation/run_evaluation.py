"""Evaluating a loaded run: registered metrics over one split, and the anomaly figures.

Everything is computed before anything is written (``run_outputs``), so an evaluation
that fails half-way leaves the previous results whole.
"""
from __future__ import annotations

import time
from typing import Any, Sequence

import attrs
from torch import Tensor

from vaereg.core.common.errors import VaeregError
from vaereg.core.common.seeding import EVALUATION_SEED
from vaereg.data.split_images import read_positions
from vaereg.evaluation.anomaly import anomaly_metrics, roc_curve
from vaereg.evaluation.anomaly_sets import StreamedAnomalySet
from vaereg.evaluation.metric import evaluate, make_metric, metric_class, unlabelled, unservable
from vaereg.evaluation.run_loading import LoadedRun

DEFAULT_METRICS = ("elbo", "reconstruction", "active_units", "mutual_information")
#: anomaly metrics whose one per-example score has the metric's own name
SAME_NAMED_SCORES = ("combined", "latent_mahalanobis", "latent_knn", "latent_class_mahalanobis",
                     "latent_class_energy", "feature_knn", "feature_cosine_knn",
                     "feature_class_energy", "combined_latent", "mean_mse_latent_knn",
                     "mean_mse_latent_knn_class_energy", "mean_mse_feature_knn_class_energy",
                     "mean_elbo_complexity_feature_knn",
                     "mean_elbo_latent_knn_feature_cosine_knn",
                     "mean_mse_feature_knn_feature_cosine_knn")
#: what the anomaly protocols score by default: figures over normal and anomalous images
#: mixed (active units, mutual information) would describe neither
ANOMALY_METRICS = ("elbo", "reconstruction", "complexity", *SAME_NAMED_SCORES)
#: per-example scores where higher means more anomalous
ANOMALY_SCORES = ("neg_elbo", "recon", "mse", "iwae_nll", "complexity_corrected",
                  "likelihood_regret", "likelihood_ratio", *SAME_NAMED_SCORES)
#: the anomaly score eval.json names as ``anomaly/headline``, chosen by a rule that reads
#: no test image (benchmarks/headline_choice.py, docs/metrics.md), where the model can
#: serve it and the training images have class labels
HEADLINE_SCORE = "mean_mse_feature_knn_class_energy"
#: the headline where they have none: the rule's choice among the candidates that need none
UNLABELLED_HEADLINE = "mean_mse_feature_knn_feature_cosine_knn"
SPLITS = ("test", "val", "train")


@attrs.frozen
class RunEvaluation:
    """``summary``: name -> figure (``test/neg_elbo``, ``anomaly/neg_elbo/auroc``, ...);
    ``scores``: per-example name -> [N] tensor; ``index``, ``labels`` (or None) and
    ``is_anomaly`` (or None) aligned with them; ``roc``: score -> (fpr, tpr) for plots;
    ``intervals``: figure name -> (low, high); ``paths``: each row's file, where known;
    ``protocol_name``: the protocol's short, stable name (its folder's); ``skipped``:
    default metrics the model cannot serve, name -> why; ``headline``: the anomaly score
    to read first (``headline_score``), None outside the protocols;
    ``request``: what the evaluation was asked for (eval.json keeps it, so an evaluation
    asked for again can be reused)."""

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
    protocol_name: str = "none"
    skipped: dict[str, str] = attrs.field(factory=dict)
    headline: str | None = None
    request: dict[str, Any] | None = None


def metric_list(names: Sequence[str] | None, iw_samples: int | None, anomaly: bool = False, *,
                model: Any = None, model_name: str = "", train: Any = None
                ) -> tuple[list, dict[str, str]]:
    """The metric objects to run, and the skipped ones (name -> why): ``names`` (or the
    defaults), and ``iwae`` with K samples when ``iw_samples`` is given.

    A default metric that ``model`` cannot serve (its ``requires``), or that needs class
    labels ``train`` lacks (``needs_labels``), is skipped; one asked for by name or by
    ``iw_samples`` is refused (``VaeregError`` naming each)."""
    if iw_samples is not None and iw_samples < 1:
        raise VaeregError(f"--iw-samples must be at least 1, not {iw_samples}")
    asked = names is not None
    names = list(names or (ANOMALY_METRICS if anomaly else DEFAULT_METRICS))
    if iw_samples is not None:
        names = [name for name in names if name != "iwae"] + ["iwae"]
    chosen, skipped, refused = [], {}, []
    for name in names:
        cls = metric_class(name)
        reason = unservable(name, cls, model, model_name) or unlabelled(name, cls, train)
        if reason and (asked or (name == "iwae" and iw_samples is not None)):
            refused.append(reason)
        elif reason:
            skipped[name] = reason
        else:
            options = {"k": iw_samples} if name == "iwae" and iw_samples is not None else None
            chosen.append(make_metric(name, options))
    if refused:
        raise VaeregError("; ".join(refused))
    return chosen, skipped


def evaluate_run(run: LoadedRun, *, split: str = "test", metrics: Sequence[str] | None = None,
                 iw_samples: int | None = None, batch_size: int | None = None,
                 anomaly_set: StreamedAnomalySet | None = None,
                 seed: int = EVALUATION_SEED) -> RunEvaluation:
    """Run the metrics on ``split`` of the run, or on ``anomaly_set`` and then rank its
    images by each anomaly score (AUROC, AUPRC, FPR at 95% TPR).

    ``batch_size`` defaults to the run's (``data.batch_size``): with it and the default
    ``seed`` the ``elbo`` figures are those the trainer wrote to ``metrics.json`` for the
    same weights (the same draws of z, in the same order)."""
    if split not in SPLITS:
        raise VaeregError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
    if anomaly_set is not None and split != "test":
        raise VaeregError("the anomaly protocols score the test split; leave --split out")
    chosen, skipped = metric_list(metrics, iw_samples, anomaly=anomaly_set is not None,
                                  model=run.model, model_name=run.recipe.model.name,
                                  train=run.splits.train)
    data = anomaly_set.split if anomaly_set is not None else getattr(run.splits, split)
    start = time.perf_counter()
    result = evaluate(run.model, data, chosen, train=run.splits.train, val=run.splits.val,
                      prefix=anomaly_set.prefix if anomaly_set is not None else split,
                      batch_size=batch_size or run.recipe.data.loader.batch_size, seed=seed)
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
        index, labels = anomaly_set.index, anomaly_set.labels
    else:  # a streamed split leaves out unreadable files (data.on_bad_file = "skip")
        index = read_positions(data)
        labels = None if data.y is None else data.y.cpu()[index]
    return RunEvaluation(split, anomaly_set.protocol if anomaly_set is not None else "none",
                         summary, {k: v.detach().cpu() for k, v in result.per_example.items()},
                         index, None if labels is None else labels.cpu(),
                         None if anomaly_set is None else anomaly_set.is_anomaly, roc,
                         result.likelihood, result.binarization, result.is_log_likelihood,
                         seconds, paths=None if anomaly_set is None else anomaly_set.paths,
                         protocol_name="none" if anomaly_set is None else anomaly_set.name,
                         skipped=skipped, headline=headline_score(roc))


def headline_score(ranked: dict[str, Any]) -> str | None:
    """``HEADLINE_SCORE`` when it is among the ``ranked`` scores; else
    ``UNLABELLED_HEADLINE`` (training images without class labels), else the first of
    ``ANOMALY_SCORES`` that is (a model without what they need, or ``--metrics`` without
    them); None when none is."""
    for name in (HEADLINE_SCORE, UNLABELLED_HEADLINE, *ANOMALY_SCORES):
        if name in ranked:
            return name
    return None
