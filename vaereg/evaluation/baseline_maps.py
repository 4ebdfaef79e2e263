"""Baseline anomaly maps that need no VAE, reported beside every model map: a trivial
one often wins (Meissen et al. 2021: thresholding FLAIR intensity beat every autoencoder
of Baur et al.'s comparison). Each is [N, H, W], higher = more anomalous.

- ``intensity``: mean_c x_c, the pixel's brightness.
- ``intensity_inverted``: 1 - mean_c x_c (for anomalies darker than their surroundings).
- ``gaussian``: mean_c |x_c - mu_c| / sigma_c with mu, sigma the per-pixel mean and
  standard deviation of the training images (sigma floored at ``STD_FLOOR``, so a pixel
  constant in training gives a large, finite score).
"""
from __future__ import annotations

from typing import Any

import attrs
from torch import Tensor

BASELINES = ("intensity", "intensity_inverted", "gaussian")
STD_FLOOR = 1e-3


@attrs.frozen
class PixelGaussian:
    """Per-pixel ``mean`` and ``std`` [C, H, W] of a set of images."""

    mean: Tensor
    std: Tensor

    @classmethod
    def fit(cls, split: Any, batch_size: int = 500) -> "PixelGaussian":
        """Fitted on every image of ``split`` in one streaming pass (float64 sums)."""
        count, total, squares = 0, 0.0, 0.0
        for batch in split.batches(batch_size):
            x = batch.x.double()
            count += len(x)
            total = total + x.sum(0)
            squares = squares + x.pow(2).sum(0)
        mean = total / count
        variance = (squares / count - mean.pow(2)).clamp_min(0)
        return cls(mean.float(), variance.sqrt().clamp_min(STD_FLOOR).float())

    def score(self, x: Tensor) -> Tensor:
        return ((x - self.mean.to(x.device)).abs() / self.std.to(x.device)).mean(1)


def baseline_maps(x: Tensor, gaussian: PixelGaussian) -> dict[str, Tensor]:
    """{baseline name: [N, H, W]} of images ``x`` [N, C, H, W] in [0, 1]."""
    intensity = x.mean(1)
    return {"intensity": intensity, "intensity_inverted": 1 - intensity,
            "gaussian": gaussian.score(x)}
