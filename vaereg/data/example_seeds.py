"""Seeds for random data transforms (binarization, flips), derived from the run.

A transform's randomness must not depend on which process draws it or in what order, or
the number of DataLoader workers (and a resume) would change results. So each epoch
draws one seed from the run's data generator, right after the batch order, and each
example (or batch, on the one-tensor path) gets its own seed mixed from that and its
index: the same run gives the same pixels, whatever the workers.
"""
from __future__ import annotations

import torch

MASK = (1 << 63) - 1


def draw_seed(generator: torch.Generator) -> int:
    """One epoch seed from the run's data generator (a checkpointed stream)."""
    return int(torch.randint(0, MASK, (), generator=generator))


def mix(seed: int, index: int) -> int:
    """A seed for item ``index`` of the stream ``seed`` (SplitMix64's finalizer: nearby
    indices give unrelated seeds)."""
    z = (seed + (index + 1) * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return (z ^ (z >> 31)) & MASK


def generator_for(seed: int, index: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A fresh generator for item ``index`` of the stream ``seed``."""
    return torch.Generator(device=device).manual_seed(mix(seed, index))
