"""Building the recipe's model, refusing first one that cannot fit in memory.

A mistyped size (``model.latent_dim = 100000000``) would otherwise end in an allocator
traceback, or in minutes of swapping. The model is built first on PyTorch's ``meta``
device, which allocates nothing, to count its parameters; when its weights and their
gradients (what any training holds, before the optimizer's state) exceed the memory
available on the device, the message names the key that made it so large: the model
option whose default value shrinks it most.
"""
from __future__ import annotations

import json
import os
from typing import Any

import attrs
import torch
from torch import nn

from vaereg.core.common.errors import VaeregError

#: the weights and their gradients
COPIES = 2


def construct_model(spec: Any, input_shape: tuple[int, ...], num_classes: int,
                    device: torch.device) -> nn.Module:
    """``spec.cls(spec.options, input_shape, num_classes)``, checked to fit ``device``'s
    memory; a ``ValueError`` it raises is bad input naming the model."""
    try:
        measured = measure(spec.cls, spec.options, input_shape, num_classes)
        available = available_memory(device)
        if measured is not None and available is not None and COPIES * measured[1] > available:
            raise VaeregError(too_large(spec, input_shape, num_classes, measured, available,
                                        device))
        return spec.cls(spec.options, input_shape, num_classes)
    except ValueError as error:
        raise VaeregError(f"model '{spec.name}': {error}") from None


def measure(cls: type, options: Any, input_shape: tuple[int, ...],
            num_classes: int) -> tuple[int, int] | None:
    """The model's parameter count and the bytes of its parameters and buffers, or None
    when it cannot be built on the meta device (one that computes with its weights while
    it is built)."""
    try:
        with torch.device("meta"):
            model = cls(options, input_shape, num_classes)
    except ValueError:
        raise
    except Exception:
        return None
    tensors = [*model.parameters(), *model.buffers()]
    return (sum(p.numel() for p in model.parameters()),
            sum(t.numel() * t.element_size() for t in tensors))


def available_memory(device: torch.device) -> int | None:
    """Free memory on ``device`` in bytes (the CPU's: MemAvailable), or None if unknown."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    if device.type != "cpu":
        return None
    try:
        with open("/proc/meminfo") as meminfo:
            line = next(line for line in meminfo if line.startswith("MemAvailable:"))
        return int(line.split()[1]) * 1024
    except (OSError, StopIteration, ValueError):
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def too_large(spec: Any, input_shape: tuple[int, ...], num_classes: int,
              measured: tuple[int, int], available: int, device: torch.device) -> str:
    count, size = measured
    key = culprit(spec, input_shape, num_classes, size)
    value = getattr(spec.options, key) if key else None
    shown = json.dumps(list(value) if isinstance(value, tuple) else value)  # as TOML writes it
    why = (f"model.{key} = {shown} makes model '{spec.name}' too large"
           if key else f"model '{spec.name}' is too large for inputs of shape {input_shape}")
    return (f"{why}: {count:,} parameters, {gigabytes(size)} of weights, "
            f"{gigabytes(COPIES * size)} with their gradients (more with the optimizer's "
            f"state), but {gigabytes(available)} of memory is available on {device}")


def culprit(spec: Any, input_shape: tuple[int, ...], num_classes: int, size: int) -> str | None:
    """The model option, set away from its default, whose default shrinks the model most."""
    options, best, smallest = spec.options, None, size
    for field in attrs.fields(type(options)):
        default = field.default
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            default = default.factory()
        if default is attrs.NOTHING or getattr(options, field.name) == default:
            continue
        try:
            shrunk = measure(spec.cls, attrs.evolve(options, **{field.alias: default}),
                             input_shape, num_classes)
        except (TypeError, ValueError):  # the default does not go with the other options
            continue
        if shrunk is not None and shrunk[1] < smallest:
            best, smallest = field.name, shrunk[1]
    return best


def gigabytes(size: int) -> str:
    return f"{size / 1e9:,.1f} GB"
