"""Active latent units (Burda, Grosse & Salakhutdinov 2016, section 5.2).

Unit u is active when A_u = Var_x( E_{q(z|x)}[z_u] ) > threshold (0.01 in the paper):
a unit whose posterior mean does not move with x carries no information about x.
"""
from __future__ import annotations

from torch import Tensor


def unit_activity(means: Tensor) -> Tensor:
    """A_u for each unit: the variance over examples of the posterior means [N, D] -> [D]."""
    return means.double().var(dim=0, unbiased=True).to(means.dtype)


def active_units(means: Tensor, threshold: float = 0.01) -> int:
    """How many units have A_u > ``threshold``; ``means`` are posterior means [N, D]."""
    return int((unit_activity(means) > threshold).sum())
