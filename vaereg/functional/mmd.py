"""Maximum mean discrepancy between codes z ~ q(z) and prior draws p ~ p(z).

The unbiased estimator (Gretton et al. 2012), as WAE-MMD (Tolstikhin et al. 2018) and
InfoVAE (Zhao et al. 2019) use it:

    MMD^2 = 1/(n(n-1)) sum_{i!=j} k(z_i, z_j) + 1/(m(m-1)) sum_{i!=j} k(p_i, p_j)
            - 2/(nm) sum_{i,j} k(z_i, p_j)

Kernels, as in the WAE authors' code, are summed over ``scales`` s of C = 2 d sigma^2
(d the code size, sigma^2 the prior's variance): inverse multiquadric
``sC / (sC + |x - y|^2)`` (``"imq"``, the paper's choice: heavier tails than RBF, so
far-off codes still get a gradient) or ``exp(-|x - y|^2 / sC)`` (``"rbf"``).

The objective wants per-example terms, so :func:`mmd_per_example` splits the same
statistic exactly into one value per example (row means of the kernel matrices),
whose mean is :func:`mmd`.
"""
from __future__ import annotations

from typing import Literal

import attrs
import torch
from torch import Tensor
from torch.distributions import Distribution

from vaereg.core.common.options import each_positive, option

Kernel = Literal["imq", "rbf"]
#: the WAE authors' scales of C
SCALES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


def _scales(values: tuple[float, ...]) -> str | None:
    return each_positive(values) if values else "a non-empty list of positive numbers"


@attrs.frozen(slots=False)  # a mixin: a second slotted base would clash in the layout
class MMDKernelOptions:
    """The kernel keys every MMD user shares (InfoVAE, WAE, the ``mmd`` plugin)."""

    kernel: Kernel = option("imq", "'imq' inverse multiquadric C/(C+|x-y|^2) (Tolstikhin et "
                            "al.) or 'rbf' exp(-|x-y|^2/C); C = 2 d sigma^2 of the prior")
    kernel_scales: tuple[float, ...] = option(
        SCALES, "the kernel is summed over these multiples of C", check=_scales)


def kernel_matrix(a: Tensor, b: Tensor, kernel: Kernel = "imq",
                  scales: tuple[float, ...] = SCALES, sigma2: float = 1.0) -> Tensor:
    """k(a_i, b_j) for codes ``a`` [n, d] and ``b`` [m, d]: an [n, m] matrix."""
    distances = (a.unsqueeze(1) - b.unsqueeze(0)).pow(2).sum(-1)
    base = 2.0 * a.shape[1] * sigma2
    total = torch.zeros_like(distances)
    for scale in scales:
        c = scale * base
        total = total + (c / (c + distances) if kernel == "imq" else torch.exp(-distances / c))
    return total


def _off_diagonal_row_means(matrix: Tensor) -> Tensor:
    n = matrix.shape[0]
    return (matrix.sum(1) - matrix.diagonal()) / (n - 1)


def _require_pairs(n: int) -> None:
    if n < 2:
        raise ValueError(f"the unbiased MMD needs at least 2 codes per batch, got {n}")


def mmd(z: Tensor, p: Tensor, kernel: Kernel = "imq", scales: tuple[float, ...] = SCALES,
        sigma2: float = 1.0) -> Tensor:
    """The unbiased MMD^2 estimate between samples ``z`` [n, d] and ``p`` [m, d]."""
    n, m = z.shape[0], p.shape[0]
    _require_pairs(min(n, m))
    kzz = kernel_matrix(z, z, kernel, scales, sigma2)
    kpp = kernel_matrix(p, p, kernel, scales, sigma2)
    kzp = kernel_matrix(z, p, kernel, scales, sigma2)
    return ((kzz.sum() - kzz.diagonal().sum()) / (n * (n - 1))
            + (kpp.sum() - kpp.diagonal().sum()) / (m * (m - 1))
            - 2.0 * kzp.mean())


def mmd_per_example(z: Tensor, p: Tensor, kernel: Kernel = "imq",
                    scales: tuple[float, ...] = SCALES, sigma2: float = 1.0) -> Tensor:
    """Example i's share of :func:`mmd` for paired samples (n each), ``[n]``:
    1/(n-1) sum_{j!=i} k(z_i, z_j) + 1/(n-1) sum_{j!=i} k(p_i, p_j) - 2/n sum_j k(z_i, p_j).
    Their mean is the batch estimate exactly."""
    if z.shape != p.shape:
        raise ValueError(f"per-example MMD pairs each code with one prior draw: shapes "
                         f"{tuple(z.shape)} and {tuple(p.shape)} differ")
    _require_pairs(z.shape[0])
    return (_off_diagonal_row_means(kernel_matrix(z, z, kernel, scales, sigma2))
            + _off_diagonal_row_means(kernel_matrix(p, p, kernel, scales, sigma2))
            - 2.0 * kernel_matrix(z, p, kernel, scales, sigma2).mean(1))


def prior_mmd(z: Tensor, prior: Distribution, kernel: Kernel = "imq",
              scales: tuple[float, ...] = SCALES) -> Tensor:
    """Per-example MMD between codes ``z`` [n, d] and n fresh draws of ``prior``, whose
    (mean) variance sets the kernel's C: what InfoVAE, WAE and the ``mmd`` plugin add."""
    draws = prior.sample((z.shape[0],))
    return mmd_per_example(z, draws, kernel, scales, float(prior.variance.mean()))
