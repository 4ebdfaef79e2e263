"""Anomaly detection figures for a score per example (higher = more anomalous) and a
binary label (1 = anomaly), via torchmetrics' binary classification functions.

- AUROC: area under the ROC curve = P(score of an anomaly > score of a normal example)
  + 1/2 P(tie), the Mann-Whitney U statistic divided by n_anomalies * n_normal.
- AUPRC: average precision, sum_n (R_n - R_{n-1}) P_n over thresholds.
- FPR at 95% TPR: the smallest false-positive rate of a threshold that flags at least
  95% of the anomalies (Hendrycks & Gimpel 2017).
"""
from __future__ import annotations

import torch
from torch import Tensor


def _ranks_in_unit_interval(scores: Tensor) -> tuple[Tensor, Tensor]:
    """(scores mapped monotonically onto [0, 1] with ties kept, the distinct scores).

    torchmetrics reads predictions outside [0, 1] as logits and applies a sigmoid, which
    turns large scores (a negative ELBO of 250 nats) into ties at 1.0; ranks avoid that.
    """
    distinct, rank = torch.unique(scores, sorted=True, return_inverse=True)
    return rank.double() / max(len(distinct) - 1, 1), distinct


def _check(scores: Tensor, labels: Tensor) -> Tensor:
    labels = labels.long()
    if scores.shape != labels.shape or scores.dim() != 1:
        raise ValueError(f"scores and labels must be 1-D of one length, got "
                         f"{tuple(scores.shape)} and {tuple(labels.shape)}")
    if not ((labels == 0) | (labels == 1)).all() or labels.min() == labels.max():
        raise ValueError("labels must be 0 (normal) or 1 (anomaly), with both present")
    return labels


def roc_curve(scores: Tensor, labels: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """(false-positive rates, true-positive rates, score thresholds), for plotting; a
    point flags the examples whose score is at least its threshold."""
    from torchmetrics.functional.classification import binary_roc  # see anomaly_metrics

    labels = _check(scores, labels)
    ranks, distinct = _ranks_in_unit_interval(scores)
    fpr, tpr, rank_thresholds = binary_roc(ranks, labels)
    index = (rank_thresholds * max(len(distinct) - 1, 1)).round().long().clamp(max=len(distinct) - 1)
    thresholds = torch.where(rank_thresholds > 1, torch.inf, distinct[index].double())
    return fpr, tpr, thresholds


def anomaly_metrics(scores: Tensor, labels: Tensor) -> dict[str, float]:
    """``auroc``, ``auprc`` and ``fpr_at_95_tpr`` of ``scores`` against ``labels``."""
    # imported here: torchmetrics' package import costs seconds of CPU (torchvision,
    # torch._dynamo), paid by every `vaereg eval` that imports vaereg.evaluation otherwise
    from torchmetrics.functional.classification import (binary_auroc,
                                                        binary_average_precision, binary_roc)

    labels = _check(scores, labels)
    ranks, _ = _ranks_in_unit_interval(scores)
    fpr, tpr, _ = binary_roc(ranks, labels)
    return {"auroc": binary_auroc(ranks, labels).item(),
            "auprc": binary_average_precision(ranks, labels).item(),
            "fpr_at_95_tpr": fpr[tpr >= 0.95].min().item()}
