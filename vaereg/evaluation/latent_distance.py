"""Distances in latent space from an image's posterior mean to the training images'
posterior means: semantic novelty, where pixel likelihoods rate simple images as normal
(Nalisnick et al. 2019).

- Mahalanobis: d_M(x) = sqrt((mu(x) - m)^T (S + eps I)^-1 (mu(x) - m)), with m and S the
  mean and covariance of the training posterior means and eps = 1e-3 * trace(S) / d, so a
  collapsed unit (a posterior mean that hardly varies) does not divide by zero
  (Lee et al. 2018, on a classifier's features).
- class-conditional Mahalanobis: d_C(x) = min over training classes c of
  sqrt((mu(x) - m_c)^T (S_W + eps I)^-1 (mu(x) - m_c)), with m_c the mean of class c's
  posterior means and S_W their pooled within-class covariance (Lee et al. 2018's
  tied-covariance score): an image far from every class the model was trained on.
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
    return LatentGaussian(center, _regularized_inverse(covariance))


@attrs.frozen
class ClassGaussians:
    """Per-class means ``centers`` [C, d] and the inverse ``precision`` [d, d] of their
    regularized pooled within-class covariance (float64)."""

    centers: Tensor
    precision: Tensor

    def distance(self, means: Tensor) -> Tensor:
        """d_C of each row of ``means`` [N, d]: float64 [N], >= 0."""
        offsets = means.double().to(self.centers.device)[:, None, :] - self.centers[None]
        squared = torch.einsum("ncd,de,nce->nc", offsets, self.precision, offsets)
        return squared.amin(1).clamp(min=0).sqrt()


def fit_class_gaussians(batches: Iterable[tuple[Tensor, Tensor]]) -> ClassGaussians:
    """The class Gaussians of the posterior means given batch by batch with their labels
    ([n, d] and [n] each), from running sums (C x d and d x d kept)."""
    totals: dict[int, Tensor] = {}
    counts: dict[int, int] = {}
    outer = None
    for means, labels in batches:
        means = means.double()
        outer = means.T @ means if outer is None else outer + means.T @ means
        for label in labels.unique().tolist():
            chosen = means[labels == label]
            totals[label] = totals.get(label, 0) + chosen.sum(0)
            counts[label] = counts.get(label, 0) + len(chosen)
    count = sum(counts.values())
    if count <= len(counts):
        raise VaeregError(f"the class Gaussians need more training images than classes, got "
                          f"{count} images of {len(counts)} classes")
    classes = sorted(totals)
    centers = torch.stack([totals[c] / counts[c] for c in classes])
    sizes = torch.tensor([counts[c] for c in classes], dtype=torch.float64,
                         device=centers.device)
    within = (outer - (centers.T * sizes) @ centers) / (count - len(classes))
    return ClassGaussians(centers, _regularized_inverse(within))


def _regularized_inverse(covariance: Tensor) -> Tensor:
    """(S + eps I)^-1 with eps = RIDGE * trace(S) / d."""
    ridge = RIDGE * covariance.diagonal().mean().clamp(min=torch.finfo(torch.float64).tiny)
    return torch.linalg.inv(covariance + ridge * torch.eye(len(covariance), dtype=torch.float64,
                                                           device=covariance.device))


def nearest_distance(means: Tensor, reference: Tensor, k: int) -> Tensor:
    """d_k of each row of ``means`` [N, d]: the mean Euclidean distance to its ``k`` nearest
    rows of ``reference`` [M, d] (all M when fewer), float64 [N]."""
    if len(reference) == 0:
        raise VaeregError("the nearest-neighbour distance needs at least 1 training image")
    distances = torch.cdist(means.double().to(reference.device), reference.double())
    return distances.topk(min(k, len(reference)), dim=1, largest=False).values.mean(1)
