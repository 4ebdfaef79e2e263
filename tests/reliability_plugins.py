"""Plugins the reliability tests register in code (importing this module registers them;
subprocess tests import it before calling the CLI).

* ``test_schedule``: a KL warm-up with its own step counter and random generator, the
  kind of state a resume must restore exactly.
* ``test_signal``: sends signals to its own process after a given step: a real SIGINT or
  SIGTERM at a deterministic moment (raised in the main thread, so handled before the
  step after it, however loaded the machine: ``os.kill`` may let another thread take it).
* ``test_nonfinite``: makes a penalty or a gradient non-finite at a given step.
* ``test_overflow``: a penalty whose gradient is finite but overflows once multiplied by
  the fp16 gradient scaler's scale: an update the scaler must skip.
* ``test_pause``: holds the run at the start of an epoch until the test lets it go.
"""
from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Literal

import attrs
import torch

from vaereg import PLUGINS, hookimpl, in_range, option, positive


@attrs.frozen
class ScheduleOptions:
    warmup_steps: int = option(6, "steps over which the KL weight rises to 1", check=positive)


class WarmupSchedule:
    """loss = recon + beta * kl + tiny noise; beta and the noise come from plugin state."""

    Options = ScheduleOptions

    def __init__(self, options: ScheduleOptions):
        self.options = options
        self.calls = 0
        self.generator = torch.Generator().manual_seed(1234)

    @hookimpl
    def transform_objective(self, trainer, objective):
        self.calls += 1
        beta = min(1.0, self.calls / self.options.warmup_steps)
        objective.scale("kl", beta)
        objective.add_penalty("noise", 1e-3 * torch.rand((), generator=self.generator))
        trainer.log("beta", beta)

    @hookimpl
    def on_save_checkpoint(self):
        return {"calls": self.calls, "generator": self.generator.get_state()}

    @hookimpl
    def on_load_checkpoint(self, state):
        self.calls = state["calls"]
        self.generator.set_state(state["generator"])


@attrs.frozen
class SignalOptions:
    step: int = option(0, "send the signals right after this optimizer step; 0: never",
                       check=in_range(0))
    signals: tuple[str, ...] = option(("SIGINT",), "signal names, sent one after another")


class SendSignal:
    Options = SignalOptions

    def __init__(self, options: SignalOptions):
        self.options = options

    @hookimpl
    def on_batch_end(self, trainer):
        if trainer.step == self.options.step:
            for name in self.options.signals:
                signal.raise_signal(getattr(signal, name))  # this thread: handled at once


@attrs.frozen
class NonFiniteOptions:
    step: int = option(1, "the optimizer step (1-based) that goes wrong", check=positive)
    where: Literal["penalty", "gradient"] = option("penalty", "what becomes non-finite")


class MakeNonFinite:
    """Once only: a skipped step does not advance ``trainer.step``."""

    Options = NonFiniteOptions

    def __init__(self, options: NonFiniteOptions):
        self.options = options
        self.fired = False

    def _now(self, trainer) -> bool:
        if self.fired or trainer.step + 1 != self.options.step:
            return False
        self.fired = True
        return True

    @hookimpl
    def compute_penalties(self, trainer):
        bad = self.options.where == "penalty" and self._now(trainer)
        return {"boom": torch.tensor(float("nan") if bad else 0.0)}

    @hookimpl
    def on_after_backward(self, trainer):
        if self.options.where == "gradient" and self._now(trainer):
            trainer.model.mu_head.weight.grad[0, 0] = float("inf")


@attrs.frozen
class OverflowOptions:
    step: int = option(1, "the optimizer step (1-based) whose scaled gradient overflows",
                       check=positive)


class Overflow:
    """Once, under fp16: a penalty whose gradient (1e35 per weight) is finite in fp32 but
    overflows once multiplied by any scale above 4; its loss stays finite."""

    Options = OverflowOptions

    def __init__(self, options: OverflowOptions):
        self.options = options
        self.fired = False

    @hookimpl
    def compute_penalties(self, trainer, model):
        if self.fired or trainer.step + 1 != self.options.step \
                or trainer.recipe.run.precision != "fp16":
            return {}
        self.fired = True
        return {"overflow": 1e35 * sum(p.sum() for p in model.parameters())}


@attrs.frozen
class PauseOptions:
    epoch: int = option(1, "pause at the start of this epoch (0-based)", check=in_range(0))
    folder: str = option(".", "where the file 'paused' is written and 'go' awaited")


class Pause:
    """Writes ``paused`` at the start of an epoch, then waits for a file ``go`` (at most
    five minutes): the run is held where the test needs it, however loaded the machine."""

    Options = PauseOptions

    def __init__(self, options: PauseOptions):
        self.options = options

    @hookimpl
    def on_train_epoch_start(self, epoch):
        if epoch != self.options.epoch:
            return
        folder = Path(self.options.folder)
        (folder / "paused").touch()
        deadline = time.monotonic() + 300
        while not (folder / "go").exists() and time.monotonic() < deadline:
            time.sleep(0.05)


PLUGINS.register("test_schedule", WarmupSchedule)
PLUGINS.register("test_signal", SendSignal)
PLUGINS.register("test_nonfinite", MakeNonFinite)
PLUGINS.register("test_overflow", Overflow)
PLUGINS.register("test_pause", Pause)
