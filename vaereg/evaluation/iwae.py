"""The importance-weighted bound on -log p(x) (Burda, Grosse & Salakhutdinov 2016).

    -L_K(x) = -log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x),   z_k ~ q(z|x)

L_1 is the ELBO; E[L_K] rises with K to log p(x), so the figure never exceeds the
negative ELBO in expectation and falls towards the true negative log-likelihood.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.distributions import Distribution

#: images decoded per pass when ``chunk`` is 0, by device type. On a CPU the decoder's
#: output (3 MB for 1,024 Fashion-MNIST images) then stays in cache while the likelihood
#: reads it several times: the likelihood cost 1.7 us per image against 8 us for 6,400
#: images per pass (``benchmarks/iwae_cost.py``). A GPU wants large passes instead.
IMAGES_PER_PASS = {"cpu": 1024, "cuda": 16384}


def samples_per_pass(x: Tensor, chunk: int = 0) -> int:
    """``chunk``, or when 0 as many draws as make ``IMAGES_PER_PASS`` images of ``x``."""
    if chunk:
        return chunk
    return max(1, IMAGES_PER_PASS.get(x.device.type, IMAGES_PER_PASS["cuda"]) // len(x))


def log_weights(model, x: Tensor, y: Tensor | None, k: int,
                posterior: Distribution | None = None) -> Tensor:
    """log p(x|z) + log p(z) - log q(z|x) for ``k`` draws of z per example: [k, batch].
    ``posterior`` is q(z|x) when already encoded."""
    posterior = model.encode(x, y) if posterior is None else posterior
    z = posterior.sample((k,))
    log_prior = model.prior().log_prob(z)
    log_q = posterior.log_prob(z)
    repeated_y = None if y is None else y.repeat(k, *[1] * (y.dim() - 1))
    output = model.decode(z.flatten(0, 1), repeated_y)
    target = x.repeat(k, *[1] * (x.dim() - 1))
    log_likelihood = -model.likelihood.nll(output, target).view(k, -1)
    return log_likelihood.add_(log_prior).sub_(log_q)


@torch.inference_mode()
def iwae_nll(model, x: Tensor, y: Tensor | None = None, k: int = 1000,
             chunk: int = 0) -> Tensor:
    """Per-example -L_K(x) in nats, [batch]; ``chunk`` draws of z per decoder pass
    (0: see ``samples_per_pass``).

    x is encoded once; memory grows with ``chunk * batch`` decoded images; the K
    log-weights ([K, batch] numbers) are combined once with log-sum-exp.
    """
    if k < 1 or chunk < 0:
        raise ValueError(f"k must be positive and chunk not negative, got k={k}, chunk={chunk}")
    step = samples_per_pass(x, chunk)
    posterior = model.encode(x, y)
    weights = torch.cat([log_weights(model, x, y, min(step, k - start), posterior)
                         for start in range(0, k, step)])
    return torch.logsumexp(weights, dim=0).sub_(math.log(k)).neg_()
