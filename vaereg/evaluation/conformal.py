"""Thresholds with a stated error rate: conformal p-values from held-out normal scores,
and the Benjamini-Hochberg procedure for a batch.

p(s) = (1 + #{calibration scores >= s}) / (n + 1) for a score s (higher = more anomalous)
and n calibration scores of normal images (Vovk et al. 2005; Bates et al. 2023,
"Testing for outliers with conformal p-values"). When the scored image and the
calibration images are exchangeable (a normal image from the same source), P(p <= alpha)
<= alpha: flagging p <= alpha keeps the false-positive rate on normal images at most
alpha. Benjamini-Hochberg (1995) on a batch's p-values keeps the expected share of normal
images among the flagged ones (the false-discovery rate) at most alpha; conformal
p-values that share one calibration set are positively dependent, for which it holds
(Bates et al. 2023).
"""
from __future__ import annotations

import torch
from torch import Tensor


def conformal_p_values(calibration: Tensor, scores: Tensor) -> Tensor:
    """p-value of each of ``scores`` against the ``calibration`` scores (float64)."""
    ordered = calibration.double().reshape(-1).sort().values
    below = torch.searchsorted(ordered, scores.double().reshape(-1), side="left")
    at_least = len(ordered) - below
    return ((1 + at_least).double() / (len(ordered) + 1)).reshape(scores.shape)


def benjamini_hochberg(p_values: Tensor, alpha: float) -> Tensor:
    """Which of ``p_values`` (1-D) are discoveries at false-discovery rate ``alpha``: those
    at most p_(k), the largest sorted p-value with p_(k) <= alpha k / m."""
    m = p_values.numel()
    ordered = p_values.double().sort().values
    passing = (ordered <= alpha * torch.arange(1, m + 1, dtype=torch.float64) / m).nonzero()
    if len(passing) == 0:
        return torch.zeros(m, dtype=torch.bool)
    return p_values.double() <= ordered[passing[-1, 0]]
