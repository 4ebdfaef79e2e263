"""Means and confidence intervals over seeds, pure Python (no scipy), so that a claimed
effect of a few percent can be told from seed noise.

The t quantile comes from the exact Student-t distribution for integer degrees of
freedom (Abramowitz & Stegun 26.7.3-4), inverted by bisection: seeds are counted, so the
degrees of freedom are always whole.
"""
from __future__ import annotations

import math
from typing import Sequence

import attrs


def t_central_probability(t: float, df: int) -> float:
    """P(|T| < t) for T ~ Student-t with ``df`` degrees of freedom (A & S 26.7.3-4)."""
    theta = math.atan(t / math.sqrt(df))
    cos2, total, term = math.cos(theta) ** 2, 1.0, 1.0
    if df % 2 == 0:
        for k in range(1, df // 2):
            term *= cos2 * (2 * k - 1) / (2 * k)
            total += term
        return math.sin(theta) * total
    if df == 1:
        return 2 * theta / math.pi
    for k in range(1, (df - 1) // 2):
        term *= cos2 * (2 * k) / (2 * k + 1)
        total += term
    return 2 / math.pi * (theta + math.sin(theta) * math.cos(theta) * total)


def t_quantile(level: float, df: int) -> float:
    """The t with P(|T| < t) = ``level``: the multiplier of a two-sided interval."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be at least 1, not {df}")
    low, high = 0.0, 1.0
    while t_central_probability(high, df) < level:
        high *= 2
    for _ in range(200):
        middle = (low + high) / 2
        low, high = (middle, high) if t_central_probability(middle, df) < level else (low, middle)
    return (low + high) / 2


@attrs.frozen
class Estimate:
    """A mean over ``n`` values with its two-sided confidence interval [low, high];
    both bounds are NaN for a single value (no spread to estimate)."""

    mean: float
    low: float
    high: float
    n: int

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2


def mean_interval(values: Sequence[float], level: float = 0.95) -> Estimate:
    """The mean and its t-interval, mean ± t(level, n-1) · s / √n."""
    n = len(values)
    if n == 0:
        raise ValueError("no values")
    mean = math.fsum(values) / n
    if n == 1:
        return Estimate(mean, math.nan, math.nan, 1)
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    half = t_quantile(level, n - 1) * sd / math.sqrt(n)
    return Estimate(mean, mean - half, mean + half, n)


def paired_difference(values: Sequence[float], baseline: Sequence[float],
                      level: float = 0.95) -> Estimate:
    """The mean of ``values[i] - baseline[i]`` (the same seed i) and its t-interval:
    seed-to-seed variation shared by both recipes cancels."""
    if len(values) != len(baseline):
        raise ValueError(f"paired values need equal lengths, not {len(values)} and {len(baseline)}")
    return mean_interval([a - b for a, b in zip(values, baseline)], level)
