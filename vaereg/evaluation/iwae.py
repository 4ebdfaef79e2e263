"""The importance-weighted bound on -log p(x) (Burda, Grosse & Salakhutdinov 2016).

    -L_K(x) = -log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x),   z_k ~ q(z|x)

L_1 is the ELBO; E[L_K] rises with K to log p(x), so the figure never exceeds the
negative ELBO in expectation and falls towards the true negative log-likelihood.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor


def log_weights(model, x: Tensor, y: Tensor | None, k: int) -> Tensor:
    """log p(x|z) + log p(z) - log q(z|x) for ``k`` draws of z per example: [k, batch]."""
    posterior = model.encode(x, y)
    z = posterior.sample((k,))
    log_prior = model.prior().log_prob(z)
    log_q = posterior.log_prob(z)
    flat_z = z.flatten(0, 1)
    repeated_y = None if y is None else y.repeat(k, *[1] * (y.dim() - 1))
    output = model.decode(flat_z, repeated_y)
    target = x.repeat(k, *[1] * (x.dim() - 1))
    log_likelihood = -model.likelihood.nll(output, target).view(k, -1)
    return log_likelihood + log_prior - log_q


@torch.no_grad()
def iwae_nll(model, x: Tensor, y: Tensor | None = None, k: int = 1000,
             chunk: int = 50) -> Tensor:
    """Per-example -L_K(x) in nats, [batch]; ``chunk`` draws of z per decoder pass.

    Memory grows with ``chunk * batch`` decoded images; the K log-weights are kept
    ([K, batch] numbers) and combined once with log-sum-exp.
    """
    if k < 1 or chunk < 1:
        raise ValueError(f"k and chunk must be positive, got k={k}, chunk={chunk}")
    pieces = [log_weights(model, x, y, min(chunk, k - start)) for start in range(0, k, chunk)]
    return -(torch.logsumexp(torch.cat(pieces), dim=0) - math.log(k))
