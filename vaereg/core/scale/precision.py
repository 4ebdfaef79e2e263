"""Mixed precision: autocast for the forward pass, a gradient scaler for fp16.

``run.precision = "bf16"`` runs the forward pass and the loss under
``torch.autocast(dtype=bfloat16)``; bf16 has fp32's range, so gradients need no scaling.
``"fp16"`` adds torch's ``GradScaler``: the loss is multiplied by the scale before
``backward`` and the gradients divided by it (``unscale``) right after, before any hook
reads them, so gradient clipping, coupled weight decay and the finiteness check see true
gradients. Weights, optimizer state and metrics stay fp32 in every mode.

An fp16 step whose scaled gradients overflow (:meth:`found_overflow`) while its loss is
finite is skipped, and
the scale halved: that is the scaler's normal work, counted as ``scaler_skipped_steps``,
not a non-finite failure, and ``trainer.step`` does not advance (no update was made).
Only while the scale is above 1 can scaling be the cause; once it has fallen to 1 or
below, a non-finite step is a real one and ``run.on_nonfinite`` decides
(:attr:`scaler_owns_overflow`). The decision is
:class:`vaereg.core.reliability.step_guard.StepGuard`'s, made before any hook writes
weights; :meth:`step` is called only for an update it took. A step that policy skips
leaves the scaler as it was (scale and growth count): it says nothing about the scale, and
halving it there would push an already low scale lower at each bad batch.
"""
from __future__ import annotations

import contextlib
from typing import Any, ContextManager

import torch
from torch import Tensor

DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


class Precision:
    def __init__(self, name: str, device: torch.device):
        self.name = name
        self.device_type = device.type
        self.dtype = DTYPES[name]
        self.scaler = torch.amp.GradScaler(device.type) if name == "fp16" else None
        self._scale = self.scaler.get_scale() if self.scaler else 1.0
        self._unscaled = False
        self.skipped_steps = 0

    def autocast(self) -> ContextManager:
        """Autocast to the recipe's dtype (nothing for fp32)."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device_type, dtype=self.dtype)

    @property
    def scaler_owns_overflow(self) -> bool:
        """Whether a non-finite gradient now is the scaler's to skip (fp16, scale > 1)."""
        return self.scaler is not None and self._scale > 1.0

    def scale(self, loss: Tensor) -> Tensor:
        return self.scaler.scale(loss) if self.scaler else loss

    def unscale(self, optimizer: torch.optim.Optimizer) -> None:
        """Divide the gradients by the scale (in place), once per step."""
        if self.scaler:
            self.scaler.unscale_(optimizer)
            self._unscaled = True

    def found_overflow(self, optimizer: torch.optim.Optimizer) -> bool:
        """Whether ``unscale`` found an infinite or NaN gradient: the check the scaler's
        own ``step`` skips on (False without a scaler)."""
        return self._unscaled and scaler_found_inf(self.scaler, optimizer)

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        """The optimizer step of an update the step guard took."""
        if self.scaler is None:
            optimizer.step()
            return
        self.scaler.step(optimizer)
        self._update()

    def skip(self, overflow: bool) -> None:
        """End a step that makes no update: after the scaler's overflow the scale is backed
        off, its growth count reset and the skip counted; after the policy's skip the
        scaler keeps its scale and growth count (``update(new_scale=)`` sets the scale and
        leaves the growth count alone). ``overflow`` is the job's verdict, so a torchrun
        process whose own gradients were finite backs off as the one that overflowed did
        (the scaler's own ``update`` would read its local record and grow instead), and
        the processes' scales stay equal."""
        self.skipped_steps += overflow
        if self.scaler and self._unscaled:
            scale = self.scaler.get_scale()
            self._update(scale * self.scaler.get_backoff_factor() if overflow else scale)
            if overflow:
                self._reset_growth_count()

    def _reset_growth_count(self) -> None:
        """What the scaler's own update does on an overflow, through its public state."""
        state = self.scaler.state_dict()
        self.scaler.load_state_dict({**state, "_growth_tracker": 0})

    def _update(self, new_scale: float | None = None) -> None:
        self.scaler.update(new_scale)
        self._scale = self.scaler.get_scale()
        self._unscaled = False

    def state_dict(self) -> dict[str, Any]:
        return {"scaler": self.scaler.state_dict() if self.scaler else None,
                "scaler_skipped_steps": self.skipped_steps}

    def load_state_dict(self, state: dict[str, Any] | None) -> None:
        """A checkpoint of another precision fits too: a scaler state it lacks starts
        fresh, one this run does not use is ignored."""
        state = state or {}
        self.skipped_steps = int(state.get("scaler_skipped_steps", 0))
        if self.scaler and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
            self._scale = self.scaler.get_scale()


def scaler_found_inf(scaler: torch.amp.GradScaler, optimizer: torch.optim.Optimizer) -> bool:
    """Whether ``scaler.unscale_(optimizer)`` found an infinite or NaN gradient.

    Torch (2.14) has no public accessor for this: the record ``unscale_`` keeps, which
    ``scaler.step`` skips on, is read through the private ``_found_inf_per_device``. Reading
    that record, not checking the gradients again, keeps the step guard's verdict the
    scaler's own (and costs nothing). Only here; tests/test_precision.py fails at once if a
    torch release renames or changes it.
    """
    found = scaler._found_inf_per_device(optimizer)
    return bool(sum(value.item() for value in found.values()))
