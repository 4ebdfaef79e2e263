"""The ``[scheduler]`` section: learning-rate decay per epoch, an optional linear warm-up
per step, or a reduction on a validation plateau.

Every schedule but "plateau" is a closed form of (step, epoch), applied to each parameter
group's base rate (the rate it had when the optimizer was built, so per-group rates set by
plugins keep their ratios). A resumed run therefore continues the same rates exactly;
"plateau" keeps its counters in the checkpoint, and "cosine" its length T: fixed when the
run starts (``total_epochs``, else ``run.epochs``), so a run resumed with more epochs
keeps the curve it was on (epochs past T run at the final rate) instead of restarting it.

    lr = base * warmup(step) * decay(epoch)
    warmup(step) = min(1, (step + 1) / warmup_steps)      (1 when warmup_steps = 0)
    exponential: gamma^epoch        step: gamma^(epoch // step_size)
    cosine: eta + (1 - eta) * (1 + cos(pi * min(epoch, T) / T)) / 2,  eta = min_factor
    plateau: factor^k after k validations that each ended `patience` validations without
             improving the monitor by more than min_delta
"""
from __future__ import annotations

import math
from typing import Any, Literal

import attrs
import torch

from vaereg.core.common.options import in_range, option, positive
from vaereg.core.recipes.plateau import Plateau


@attrs.frozen
class SchedulerOptions:
    name: Literal["none", "exponential", "step", "cosine", "plateau"] = option(
        "none", "learning-rate schedule; 'none' keeps the optimizer's rate")
    gamma: float = option(0.95, "'exponential' and 'step': decay factor per epoch (or per "
                          "step_size epochs)", check=in_range(0, 1, low_open=True))
    step_size: int = option(10, "'step': epochs between decays", check=positive)
    total_epochs: int = option(0, "'cosine': epochs T of the half cosine; 0 = run.epochs "
                               "when the run starts (a resume with more epochs keeps T)",
                               check=in_range(0))
    min_factor: float = option(0.0, "'cosine': final rate as a fraction of the base rate",
                               check=in_range(0, 1))
    factor: float = option(0.5, "'plateau': rate multiplier on a plateau",
                           check=in_range(0, 1, low_open=True, high_open=True))
    patience: int = option(5, "'plateau': validations without improvement before reducing",
                           check=in_range(0))
    min_delta: float = option(0.0, "'plateau': smallest decrease of the monitor that counts",
                              check=in_range(0))
    warmup_steps: int = option(0, "linear warm-up over this many optimizer steps, combined "
                               "with any schedule; 0 = none", check=in_range(0))


class LRSchedule:
    """Sets every group's ``lr`` from its base rate before each optimizer step."""

    def __init__(self, options: SchedulerOptions, optimizer: torch.optim.Optimizer,
                 run_epochs: int):
        self.options = options
        self.optimizer = optimizer
        self.base = [group["lr"] for group in optimizer.param_groups]
        self.total_epochs = (options.total_epochs or max(run_epochs, 1)  # T, checkpointed
                             if options.name == "cosine" else None)
        self.plateau_factor = 1.0
        self.plateau = Plateau(options.patience, options.min_delta)

    @property
    def active(self) -> bool:
        return self.options.name != "none" or self.options.warmup_steps > 0

    def decay(self, epoch: int) -> float:
        o = self.options
        if o.name == "exponential":
            return o.gamma ** epoch
        if o.name == "step":
            return o.gamma ** (epoch // o.step_size)
        if o.name == "cosine":
            progress = min(epoch, self.total_epochs) / self.total_epochs
            return o.min_factor + (1 - o.min_factor) * (1 + math.cos(math.pi * progress)) / 2
        if o.name == "plateau":
            return self.plateau_factor
        return 1.0

    def factor(self, step: int, epoch: int) -> float:
        warmup = self.options.warmup_steps
        ramp = 1.0 if warmup == 0 else min(1.0, (step + 1) / warmup)
        return ramp * self.decay(epoch)

    def apply(self, step: int, epoch: int) -> float:
        """Set the rates for the step about to be taken; returns the factor."""
        factor = self.factor(step, epoch)
        for group, base in zip(self.optimizer.param_groups, self.base):
            group["lr"] = base * factor
        return factor

    def on_validation(self, value: float) -> None:
        """'plateau': multiply the rate by ``factor`` when the monitor plateaued."""
        if self.options.name == "plateau" and self.plateau.update(value):
            self.plateau_factor *= self.options.factor

    def state_dict(self) -> dict[str, Any]:
        return {"plateau_factor": self.plateau_factor, "total_epochs": self.total_epochs,
                **self.plateau.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.plateau_factor = float(state["plateau_factor"])
        if state.get("total_epochs") is not None:  # (absent from older runs' checkpoints)
            self.total_epochs = int(state["total_epochs"])
        self.plateau.load_state_dict(state)
