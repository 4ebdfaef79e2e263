"""Seeds and the random streams a checkpoint must capture for an exact resume."""
from __future__ import annotations

import random
from contextlib import contextmanager
from typing import Iterator

import torch

#: the seed every evaluation pass starts from (the trainer's and ``vaereg eval``'s), so the
#: same weights give the same figures whichever of them computes them
EVALUATION_SEED = 0


def seed_everything(seed: int) -> None:
    """Seed Python's and torch's global generators (CPU and every CUDA device)."""
    random.seed(seed)
    torch.manual_seed(seed)


@contextmanager
def seeded(seed: int, device: torch.device | str = "cpu") -> Iterator[None]:
    """Run the block with torch's generators (CPU, and ``device`` when it is CUDA) seeded
    with ``seed``, then put back the random state the block found."""
    device = torch.device(device)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        yield


def rng_state() -> dict:
    """Global random streams, in a form ``torch.load(weights_only=True)`` accepts."""
    state = {"python": list(_flatten(random.getstate())), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    version, internal, gauss = state["python"][0], state["python"][1:-1], state["python"][-1]
    random.setstate((version, tuple(internal), gauss))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _flatten(python_state: tuple) -> list:
    version, internal, gauss = python_state
    return [version, *internal, gauss]
