"""A combination of anomaly scores fixed in advance: each score standardized on the
validation images (normal ones, in the anomaly protocols), then the maximum

    z_s(x) = (s(x) - mean_V s) / std_V s,      C(x) = max_s z_s(x)

over s in {neg_elbo, complexity_corrected} (the ``combined`` metric).

Why these two and why the maximum: the negative ELBO flags images more complex than
the training ones and calls simpler ones normal (Nalisnick et al. 2019); the
complexity-corrected score (Serrà et al. 2020) subtracts the complexity, flags the
simple ones and misses the complex ones. Each fails where the other works, so an image
is called anomalous when *either* is extreme. Standardizing on normal images puts nats
and bits in one unit, "standard deviations above normal", so neither score dominates by
its scale; the maximum, not the sum, keeps an image that only one of them flags (a sum
would average a strong signal with the other's weak one). No test label is used: the
choice was fixed before any held-out-class measurement of it, the standardization sees
validation images only.
"""
from __future__ import annotations

import torch
from torch import Tensor

from vaereg.core.common.errors import VaeregError


def standardized(scores: Tensor, reference: Tensor) -> Tensor:
    """(scores - mean) / standard deviation of ``reference`` (float64)."""
    reference = reference.double()
    spread = reference.std()
    if reference.numel() < 2 or not torch.isfinite(spread) or spread == 0:
        raise VaeregError(f"cannot standardize on {reference.numel()} validation scores of "
                          f"spread {float(spread) if reference.numel() > 1 else 0.0}; "
                          f"the validation split needs at least two distinct images")
    return (scores.double() - reference.mean()) / spread


def max_of_standardized(scores: dict[str, Tensor], reference: dict[str, Tensor]) -> Tensor:
    """C(x) = max over the named scores of each one standardized on ``reference``'s."""
    return _standardized_rows(scores, reference).amax(0)


def mean_of_standardized(scores: dict[str, Tensor], reference: dict[str, Tensor]) -> Tensor:
    """M(x) = mean over the named scores of each one standardized on ``reference``'s."""
    return _standardized_rows(scores, reference).mean(0)


def _standardized_rows(scores: dict[str, Tensor], reference: dict[str, Tensor]) -> Tensor:
    return torch.stack([standardized(scores[name], reference[name]) for name in scores])
