"""Schedules for the KL term of the ELBO, the knob that trades reconstruction against a
used latent space (posterior collapse on one side, a blurry prior match on the other).

Every schedule is a pure function of the optimizer step ``step`` (0-based: the number of
steps taken before the one being computed). The objective they feed is

    loss = recon + weight(step) * | KL' - capacity(step) |

where KL' is the KL term, optionally with free bits, and capacity is 0 except under
capacity annealing (then the absolute value matters; otherwise KL' >= 0 makes it a plain
weighted KL).
"""
from __future__ import annotations

import math

from torch import Tensor


def linear_ramp(step: int, ramp_steps: int) -> float:
    """min(1, step / ramp_steps): 0 at the first step, 1 from step ``ramp_steps`` on."""
    return 1.0 if ramp_steps <= 0 else min(1.0, step / ramp_steps)


def cyclical_ramp(step: int, total_steps: int, cycles: int, ratio: float) -> float:
    """Fu et al. 2019, eq. 4: tau = mod(t - 1, ceil(T / M)) / (T / M) with t = step + 1;
    f(tau) = tau / R while tau <= R, then 1. M cycles over the run's T steps."""
    period = total_steps / cycles
    tau = (step % math.ceil(period)) / period
    return min(1.0, tau / ratio)


def kl_weight(step: int, schedule: str, *, beta: float = 1.0, ramp_steps: int = 0,
              total_steps: int = 1, cycles: int = 4, ratio: float = 0.5) -> float:
    """The weight of the KL term at ``step``: ``beta`` times the schedule's ramp.

    "constant" and "capacity" keep ``beta``; "linear" warms up over ``ramp_steps``
    (Bowman et al. 2016); "cyclical" repeats the warm-up ``cycles`` times over
    ``total_steps``, rising during the first ``ratio`` of each cycle (Fu et al. 2019).
    """
    if schedule == "linear":
        return beta * linear_ramp(step, ramp_steps)
    if schedule == "cyclical":
        return beta * cyclical_ramp(step, total_steps, cycles, ratio)
    if schedule in ("constant", "capacity"):
        return beta
    raise ValueError(f"unknown KL schedule {schedule!r}")


def kl_capacity(step: int, capacity_max: float, ramp_steps: int) -> float:
    """Burgess et al. 2018: C rises linearly from 0 to ``capacity_max`` nats over
    ``ramp_steps``, then stays there."""
    return capacity_max * linear_ramp(step, ramp_steps)


def free_bits_kl(kl_per_dim: Tensor, floor: float) -> Tensor:
    """Kingma et al. 2016: sum over latent dimensions of max(floor, KL_j), KL_j averaged
    over the batch. A dimension below the floor contributes a constant, so the KL term
    gives it no gradient: the optimizer may use those nats for free."""
    return kl_per_dim.clamp(min=floor).sum()


def scheduled_kl(kl: Tensor, weight: float, capacity_now: float = 0.0) -> Tensor:
    """weight * |kl - capacity|, the KL part of the objective."""
    return weight * (kl - capacity_now).abs()
