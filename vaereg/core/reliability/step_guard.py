"""One decision per training step: take the update, skip it, or stop the run.

Made once, after ``on_after_backward`` (gradients unscaled) and before the learning-rate
schedule and every hook that may write weights (``on_before_optimizer_step``: decoupled
weight decay; the optimizer; ``on_batch_end``), so an update that is not taken changes
nothing, in every precision. Three sources, one verdict:

* ``run.on_nonfinite``'s check (:mod:`vaereg.core.reliability.nonfinite`): the loss under "stop";
  the loss and every gradient under "skip";
* fp16: the overflow the gradient scaler found when it unscaled the gradients (the
  check its own ``step`` would skip on). While the scale is above 1 and the loss is
  finite, that is the scaler's to skip (it halves the scale); else a real non-finite step
  that the policy decides (the scale is kept);
* in a torchrun job: the most severe verdict of any process, so every process takes the
  same branch (one that did not would wait in a collective for ever).
"""
from __future__ import annotations

import enum
import warnings
from pathlib import Path
from typing import Iterable

import torch
from torch import Tensor

from vaereg.core.common.errors import NonFiniteError
from vaereg.core.reliability.nonfinite import loss_is_finite, step_is_finite
from vaereg.core.run_folder.resume import resume_command
from vaereg.core.scale.distributed import Job
from vaereg.core.scale.precision import Precision


class Verdict(enum.IntEnum):
    """Ordered by severity: a job takes the largest of its processes' verdicts."""
    TAKE = 0
    OVERFLOW = 1  # fp16: the scaler skips the update and halves its scale
    SKIP = 2  # run.on_nonfinite = "skip"
    STOP = 3  # run.on_nonfinite = "stop": NonFiniteError


class StepGuard:
    def __init__(self, policy: str, precision: Precision, job: Job):
        self.policy, self.precision, self.job = policy, precision, job

    def decide(self, loss: Tensor, parameters: Iterable[Tensor],
               optimizer: torch.optim.Optimizer) -> Verdict:
        """The verdict on the step whose loss and (unscaled) gradients these are."""
        finite = (step_is_finite(loss, parameters) if self.policy == "skip"
                  else loss_is_finite(loss))
        overflow = self.precision.found_overflow(optimizer)
        if finite and not overflow:
            local = Verdict.TAKE
        elif overflow and self.precision.scaler_owns_overflow and loss_is_finite(loss):
            local = Verdict.OVERFLOW
        else:
            local = Verdict.SKIP if self.policy == "skip" else Verdict.STOP
        return Verdict(self.job.largest(local))


def step_place(step: int, epoch: int, epochs: int, batch_idx: int) -> str:
    """Where the step being decided is, for a message: its 1-based step, epoch, batch."""
    return f"step {step + 1} (epoch {epoch + 1}/{epochs}, batch {batch_idx + 1})"


def warn_skipped(where: str, what: str) -> None:
    warnings.warn(f"skipped {where}: non-finite {what}", RuntimeWarning, stacklevel=3)


def stop_error(where: str, what: str, run_dir: Path) -> NonFiniteError:
    """The run stops: what went wrong where, what was kept, how to go on."""
    folder = run_dir / "checkpoints"
    advice = (f"the checkpoints written before (last.pt, best.pt in {folder}) are kept. "
              f"Lower the learning rate, or go on skipping such steps: "
              f"{resume_command(run_dir)} --set run.on_nonfinite=skip"
              if (folder / "last.pt").is_file() else
              "no checkpoint had been written yet. Lower the learning rate, or set "
              "run.on_nonfinite = \"skip\"")
    return NonFiniteError(f"non-finite value at {where}: {what}. The run stopped; {advice}")
