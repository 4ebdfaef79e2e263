"""How far an L-inf PGD attack moves a trained VAE: works on any model with the uniform
model API, inside or outside the trainer."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from vaereg.functional.attacks import eval_mode, example_loss, pgd, symmetric_kl


def robustness(model: nn.Module, x: Tensor, y: Tensor | None = None, *, eps: float,
               steps: int = 20, alpha: float | None = None, batch_size: int = 500
               ) -> dict[str, float]:
    """Mean attacked quantities over ``x``, model in eval mode:

    * ``neg_elbo``: negative ELBO of the clean image given the input attacked by PGD with
      the "elbo" objective (compare with the clean negative ELBO);
    * ``latent_skl``: symmetric KL between q(z|x+d) and q(z|x), d found by PGD with the
      "latent" objective (0 for a perfectly robust encoder).

    Both attacks start at a random point of the eps-ball.
    """
    sums = {"neg_elbo": 0.0, "latent_skl": 0.0}
    with eval_mode(model):
        for begin in range(0, len(x), batch_size):
            xb = x[begin:begin + batch_size]
            yb = None if y is None else y[begin:begin + batch_size]
            attack = dict(eps=eps, steps=steps, alpha=alpha, random_start=True, y=yb)
            x_elbo = pgd(model, xb, objective="elbo", **attack)
            x_latent = pgd(model, xb, objective="latent", **attack)
            with torch.no_grad():
                neg_elbo = example_loss(model, x_elbo, xb, yb).mean()
                skl = symmetric_kl(model.encode(x_latent, yb), model.encode(xb, yb)).mean()
            sums["neg_elbo"] += float(neg_elbo) * len(xb)
            sums["latent_skl"] += float(skl) * len(xb)
    return {name: total / len(x) for name, total in sums.items()}
