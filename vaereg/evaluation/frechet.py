"""The Fréchet (2-Wasserstein) distance between Gaussians fitted to two feature sets
(Dowson & Landau 1982; the formula FID uses, Heusel et al. 2017):

    d^2 = ||mu_a - mu_b||^2 + tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2)
"""
from __future__ import annotations

import torch
from torch import Tensor


def _sqrt_psd(matrix: Tensor) -> Tensor:
    """Symmetric square root of a positive semi-definite matrix (negative rounding clipped)."""
    values, vectors = torch.linalg.eigh(matrix)
    return vectors @ torch.diag(values.clamp(min=0).sqrt()) @ vectors.T


def frechet_distance(a: Tensor, b: Tensor) -> float:
    """d^2 between the Gaussians fitted to features ``a`` [N, F] and ``b`` [M, F]
    (sample means and unbiased covariances, in float64)."""
    a, b = a.double(), b.double()
    cov_a, cov_b = torch.cov(a.T).reshape(a.shape[1], -1), torch.cov(b.T).reshape(b.shape[1], -1)
    root_a = _sqrt_psd(cov_a)
    cross = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp(min=0).sqrt().sum()
    mean_term = (a.mean(0) - b.mean(0)).pow(2).sum()
    return (mean_term + cov_a.trace() + cov_b.trace() - 2 * cross).item()
