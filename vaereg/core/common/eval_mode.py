"""Eval mode for a block of code, with the previous mode restored however it ends."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from torch import nn


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put ``model`` in eval mode (dropout off, batch norm on its running statistics) for
    the block, then restore its previous mode, even when the block raises: a training
    run that goes on after a failed evaluation must not train in eval mode."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)
