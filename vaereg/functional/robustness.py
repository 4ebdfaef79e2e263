"""How far an L-inf PGD attack moves a trained VAE: works on any model with the uniform
model API, inside or outside the trainer."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from vaereg.core.common.eval_mode import eval_mode
from vaereg.functional.attacks import example_loss, is_point_mass, latent_shift, pgd


def robustness(model: nn.Module, x: Tensor, y: Tensor | None = None, *, eps: float,
               steps: int = 20, alpha: float | None = None, batch_size: int = 500
               ) -> dict[str, float]:
    """Mean attacked quantities over ``x``, model in eval mode:

    * ``neg_elbo``: negative ELBO of the clean image given the input attacked by PGD with
      the "elbo" objective (compare with the clean negative ELBO);
    * ``latent_skl``: symmetric KL between q(z|x+d) and q(z|x), d found by PGD with the
      "latent" objective (0 for a perfectly robust encoder); for a deterministic
      encoder, whose point-mass posterior has no finite KL, ``latent_sq_distance``
      instead: ||z(x+d) - z(x)||^2.

    Both attacks start at a random point of the eps-ball.
    """
    sums: dict[str, float] = {}
    with eval_mode(model):
        for begin in range(0, len(x), batch_size):
            xb = x[begin:begin + batch_size]
            yb = None if y is None else y[begin:begin + batch_size]
            attack = dict(eps=eps, steps=steps, alpha=alpha, random_start=True, y=yb)
            x_elbo = pgd(model, xb, objective="elbo", **attack)
            x_latent = pgd(model, xb, objective="latent", **attack)
            with torch.no_grad():
                neg_elbo = example_loss(model, x_elbo, xb, yb).mean()
                clean = model.encode(xb, yb)
                shift = latent_shift(model.encode(x_latent, yb), clean).mean()
            latent = "latent_sq_distance" if is_point_mass(clean) else "latent_skl"
            sums["neg_elbo"] = sums.get("neg_elbo", 0.0) + float(neg_elbo) * len(xb)
            sums[latent] = sums.get(latent, 0.0) + float(shift) * len(xb)
    return {name: total / len(x) for name, total in sums.items()}
