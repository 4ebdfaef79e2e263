"""Bootstrap intervals of an AUROC over images (Efron & Tibshirani 1993, percentile).

Pixels of one image are not independent, so the image is what is resampled: each draw
takes N images with replacement and recomputes the AUROC from their pixels. To keep a
draw cheap on millions of pixels, scores are first put into ``bins`` bins of equal
population (quantiles of all scores); each image becomes two histograms (anomalous and
normal pixels) and a draw is a weighted sum of them, so memory is N x bins, never
quadratic. The interval is the draws' (1 - level)/2 and (1 + level)/2 quantiles; the
binning moves the AUROC by at most the share of pairs that fall in one bin.
"""
from __future__ import annotations

import torch
from torch import Tensor


def _histograms(scores: Tensor, labels: Tensor, bins: int) -> tuple[Tensor, Tensor]:
    """[N, bins] counts of each image's anomalous and normal elements per score bin."""
    n = scores.shape[0]
    flat = scores.reshape(n, -1).double()
    sample = flat.reshape(-1)
    if sample.numel() > 1_000_000:  # quantile edges from an even subsample
        sample = sample[torch.linspace(0, sample.numel() - 1, 1_000_000).long()]
    edges = torch.quantile(sample, torch.linspace(0, 1, bins + 1, dtype=torch.float64)[1:-1])
    which = torch.bucketize(flat, edges.unique()) + bins * torch.arange(n).unsqueeze(1)
    positive = labels.reshape(n, -1).bool()
    counts = [torch.bincount(which[chosen], minlength=n * bins).reshape(n, bins).double()
              for chosen in (positive, ~positive)]
    return counts[0], counts[1]


def _binned_auroc(positive: Tensor, negative: Tensor) -> Tensor:
    """AUROC per row of [D, bins] histograms: ties within a bin count 1/2."""
    below = negative.cumsum(1) - negative
    wins = (positive * (below + 0.5 * negative)).sum(1)
    return wins / (positive.sum(1) * negative.sum(1))


def auroc_interval(scores: Tensor, labels: Tensor, *, draws: int = 200, level: float = 0.95,
                   bins: int = 256, seed: int = 0) -> tuple[float, float]:
    """[low, high] of the AUROC of ``scores`` against 0/1 ``labels``, both [N, ...] with
    one image per row (a per-image score: [N])."""
    positive, negative = _histograms(scores, labels, bins)
    generator = torch.Generator().manual_seed(seed)
    n = scores.shape[0]
    chosen = torch.randint(n, (draws, n), generator=generator)
    weights = torch.zeros(draws, n, dtype=torch.float64).scatter_add_(
        1, chosen, torch.ones(draws, n, dtype=torch.float64))
    values = _binned_auroc(weights @ positive, weights @ negative)
    values = values[values.isfinite()]  # a draw without one of the classes has no AUROC
    low, high = torch.quantile(values, torch.tensor([(1 - level) / 2, (1 + level) / 2],
                                                    dtype=torch.float64))
    return float(low), float(high)
