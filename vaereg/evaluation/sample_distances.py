"""Distances between images, flattened, in the Euclidean (L2) norm of pixel space.

- Diversity: mean pairwise distance among generated samples divided by the same for real
  images (1 = as varied as the data, 0 = every sample identical).
- Memorization: the distance from each sample to its nearest training image; a model
  that copies training images has nearest distances far below those of unseen test
  images (cf. the nearest-neighbour checks of Theis, van den Oord & Bethge 2016).
"""
from __future__ import annotations

from typing import Iterable

import torch
from torch import Tensor


def mean_pairwise_distance(images: Tensor) -> float:
    """Mean L2 distance over all pairs i < j of ``images`` [N, ...], N >= 2."""
    if len(images) < 2:
        raise ValueError("the mean pairwise distance needs at least two images")
    return torch.pdist(images.flatten(1).double()).mean().item()


def sample_diversity(samples: Tensor, reference: Tensor) -> float:
    """Mean pairwise distance of ``samples`` relative to that of ``reference`` images."""
    return mean_pairwise_distance(samples) / mean_pairwise_distance(reference)


def nearest_distances(queries: Tensor, images: Tensor | Iterable[Tensor],
                      chunk: int = 4096) -> Tensor:
    """For each query, the L2 distance to its nearest image among ``images``: [N_queries].

    ``images`` is a tensor [M, ...] (read ``chunk`` at a time) or an iterable of such
    blocks, e.g. a streamed split's batches, so the images need never all be in memory.
    Neighbours are found with the fast (matrix-product) form; the distance to the
    neighbour found is then recomputed directly, so an exact copy gives exactly 0.
    """
    blocks = images.split(chunk) if isinstance(images, Tensor) else images
    flat = queries.flatten(1)
    best = torch.full((len(flat),), float("inf"), device=flat.device)
    nearest = torch.zeros_like(flat)
    for block in blocks:
        block = block.flatten(1).to(flat)
        distance, index = torch.cdist(flat, block).min(dim=1)
        closer = distance < best
        best = torch.where(closer, distance, best)
        nearest = torch.where(closer[:, None], block[index], nearest)
    return (flat - nearest).norm(dim=1)
