"""The likelihood ratio against a background model (Ren et al. 2019, "Likelihood ratios
for out-of-distribution detection", NeurIPS).

An image's log-likelihood is mostly its background: the pixel statistics every image
shares (a black surround, smooth grey areas), which a model trained on anything rates
alike, and which dwarf the semantic part that tells a held-out class apart. Ren et al.
train a second, *background* model on inputs whose pixels were replaced at random with
probability mu (the mutation destroys the semantics and keeps the population's pixel
statistics) and score by the difference

    LLR(x) = log p_theta(x) - log p_theta0(x)

in which the shared background term cancels. Here both log-likelihoods are bounded by
ELBOs, and the anomaly score is -LLR(x) = neg_elbo_theta(x) - neg_elbo_theta0(x) (higher
= more anomalous).

The background model is fitted by the metric itself, from the evaluated model: a copy of
it with every submodule's parameters re-initialized (``reset_parameters``), trained with
Adam and L2 weight decay (Ren et al.'s regularization) on mutated training images. So any
model with an ELBO gets it, with the same architecture and likelihood as Ren et al. ask,
and ``vaereg eval --anomaly`` needs no second run.
"""
from __future__ import annotations

import copy
from typing import Any

import torch
from torch import Tensor

from vaereg.core.model.objective import Objective
from vaereg.evaluation.metric import device_of


def mutate(x: Tensor, rate: float, generator: torch.Generator) -> Tensor:
    """``x`` with each element replaced, with probability ``rate``, by a value drawn
    uniformly from the 256 levels of an 8-bit pixel in [0, 1] (Ren et al.'s mutation)."""
    replaced = torch.rand(x.shape, generator=generator, device=x.device) < rate
    noise = torch.randint(0, 256, x.shape, generator=generator, device=x.device) / 255
    return torch.where(replaced, noise.to(x.dtype), x)


def reinitialized(model: Any, seed: int) -> Any:
    """A copy of ``model`` with every submodule that has ``reset_parameters`` drawn afresh
    (torch's global generator seeded with ``seed``, then restored)."""
    background = copy.deepcopy(model)
    devices = [device_of(model)] if device_of(model).type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        for module in background.modules():
            if module is not background and hasattr(module, "reset_parameters"):
                module.reset_parameters()
    return background


def fit_background(model: Any, train: Any, *, rate: float, epochs: int, images: int,
                   lr: float, weight_decay: float, batch_size: int,
                   generator: torch.Generator) -> Any:
    """The background model: ``model`` re-initialized, trained for ``epochs`` passes over
    the first ``images`` images of ``train`` (0 = all) on their mutations (input and
    target alike: it models mutated images), minimizing the mean negative ELBO. Returned
    in eval mode."""
    seed = int(torch.randint(2 ** 31, (1,), generator=generator, device=generator.device))
    background = reinitialized(model, seed)
    background.train()
    optimizer = torch.optim.Adam(background.parameters(), lr=lr, weight_decay=weight_decay)
    limit = images or len(train)
    with torch.enable_grad():
        for _ in range(epochs):
            seen = 0
            for batch in train.batches(batch_size):
                if seen >= limit:
                    break
                x = mutate(batch.x[:limit - seen], rate, generator)
                y = None if batch.y is None else batch.y[:limit - seen]
                seen += len(x)
                loss = Objective.from_model(background, background(x, y), x).neg_elbo().mean()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
    return background.eval()


def likelihood_ratio_score(neg_elbo: Tensor, background_neg_elbo: Tensor) -> Tensor:
    """-LLR(x) = neg_elbo_theta(x) - neg_elbo_theta0(x), in nats (higher = more anomalous)."""
    return neg_elbo - background_neg_elbo
