"""I(x; z) under the aggregate posterior (Hoffman & Johnson 2016, "ELBO surgery").

    I(x; z) = E_x E_{q(z|x)} [log q(z|x) - log q(z)],   q(z) = (1/N) sum_j q(z|x_j)

estimated as in He et al. 2019 (lagging inference networks, ``calc_mi``): one z_i ~ q(z|x_i)
per example and q(z_i) by the mixture over all N examples evaluated (not only a
minibatch), so the estimate lies in [0, log N]. Equal to E_x[KL(q(z|x) || p(z))] -
KL(q(z) || p(z)), the decomposition of the KL term.
"""
from __future__ import annotations

import math
from typing import Iterable

import torch
from torch import Tensor


@torch.no_grad()
def mutual_information(model, x: Tensor, y: Tensor | None = None,
                       batch_size: int = 500) -> float:
    """I(x; z) in nats over the examples ``x``, encoded ``batch_size`` at a time."""
    return mutual_information_of_batches(
        model, ((x[start:start + batch_size], None if y is None else y[start:start + batch_size])
                for start in range(0, len(x), batch_size)))


@torch.no_grad()
def mutual_information_of_batches(model, batches: Iterable[tuple[Tensor, Tensor | None]]) -> float:
    """I(x; z) in nats over the examples of ``batches`` ((x, y) pairs), read once: only the
    posteriors and one draw per example are kept (N x latent numbers), never the images."""
    posteriors, draws, log_q_own = [], [], []
    for x, y in batches:
        posterior = model.encode(x, y)
        z = posterior.sample()
        posteriors.append(posterior)
        draws.append(z)
        log_q_own.append(posterior.log_prob(z))
    count = sum(len(z) for z in draws)
    log_q_aggregate = []
    for z in draws:  # log q(z_i) = logsumexp_j log q(z_i | x_j) - log N
        pairs = torch.cat([q.log_prob(z.unsqueeze(1)) for q in posteriors], dim=1)
        log_q_aggregate.append(torch.logsumexp(pairs, dim=1) - math.log(count))
    return (torch.cat(log_q_own) - torch.cat(log_q_aggregate)).mean().item()
