"""Distances in latent space from an image's posterior mean to the training images'
posterior means: semantic novelty, where pixel likelihoods rate simple images as normal
(Nalisnick et al. 2019).

- Mahalanobis: d_M(x) = sqrt((mu(x) - m)^T (S + eps I)^-1 (mu(x) - m)), with m and S the
  mean and covariance of the training posterior means and eps = 1e-3 * trace(S) / d, so a
  collapsed unit (a posterior mean that hardly varies) does not divide by zero
  (Lee et al. 2018, on a classifier's features).
- k nearest neighbours: d_k(x) = mean of the k smallest ||mu(x) - mu(x_i)||_2 over the
  training images x_i (Bergman, Cohen & Hoshen 2020).

Only the training means are kept (N x latent_dim); the scored images come a batch at a
time.
"""
from __future__ import annotations

from typing import Iterable

import attrs
import torch
from torch import Tensor

from vaereg.core.common.errors import VaeregError

#: the ridge added to the covariance, relative to its mean diagonal
RIDGE = 1e-3
#: k of the nearest-neighbour distance, where it is not an option
NEIGHBOURS = 5


@attrs.frozen
class LatentGaussian:
    """The mean ``center`` [d] and the inverse ``precision`` [d, d] of the regularized
    covariance of the training posterior means (float64)."""

    center: Tensor
    precision: Tensor

    def distance(self, means: Tensor) -> Tensor:
        """d_M of each row of ``means`` [N, d]: float64 [N], >= 0."""
        offset = means.double().to(self.center.device) - self.center
        squared = ((offset @ self.precision) * offset).sum(1)
        return squared.clamp(min=0).sqrt()


def fit_latent_gaussian(batches: Iterable[Tensor]) -> LatentGaussian:
    """The Gaussian of the posterior means given batch by batch ([n, d] each), from running
    sums (nothing but d x d kept)."""
    count, total, outer = 0, None, None
    for means in batches:
        means = means.double()
        count += len(means)
        total = means.sum(0) if total is None else total + means.sum(0)
        outer = means.T @ means if outer is None else outer + means.T @ means
    if count < 2:
        raise VaeregError(f"the latent Gaussian needs at least 2 training images, got {count}")
    center = total / count
    covariance = (outer - count * torch.outer(center, center)) / (count - 1)
    ridge = RIDGE * covariance.diagonal().mean().clamp(min=torch.finfo(torch.float64).tiny)
    precision = torch.linalg.inv(covariance + ridge * torch.eye(len(center), dtype=torch.float64,
                                                                device=center.device))
    return LatentGaussian(center, precision)


def nearest_distance(means: Tensor, reference: Tensor, k: int) -> Tensor:
    """d_k of each row of ``means`` [N, d]: the mean Euclidean distance to its ``k`` nearest
    rows of ``reference`` [M, d] (all M when fewer), float64 [N]."""
    if len(reference) == 0:
        raise VaeregError("the nearest-neighbour distance needs at least 1 training image")
    distances = torch.cdist(means.double().to(reference.device), reference.double())
    return distances.topk(min(k, len(reference)), dim=1, largest=False).values.mean(1)
