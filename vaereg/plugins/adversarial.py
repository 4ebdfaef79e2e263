"""Adversarial training on L-inf perturbed inputs (FGSM, PGD), and a robustness report.

Each training step replaces the first ``ratio`` of the (shuffled) batch by adversarial
examples; ``batch.target`` stays the clean image, so the model learns to reconstruct the
true image from a perturbed input. At the end of the run, ``robust/neg_elbo`` and
``robust/latent_skl`` (PGD at the same ``eps`` on the test set; ``robust/latent_sq_distance``
for a deterministic encoder) go into metrics.json.
See ``vaereg.functional.attacks`` for the attacks and the model's mode during them.
"""
from __future__ import annotations

from typing import Literal

import attrs
import torch

from vaereg import (Batch, fgsm, hookimpl, in_range, option, pgd, positive, robustness,
                    split_images)


def _step_size(value: float | None) -> str | None:
    return None if value is None or positive(value) is None else \
        "a positive finite number (or leave it unset)"


@attrs.frozen
class AdversarialOptions:
    attack: Literal["fgsm", "pgd"] = option("fgsm", "training attack: one FGSM step, or PGD")
    eps: float = option(0.1, "L-inf radius of the perturbation, in data units ([0, 1] pixels)",
                        check=in_range(0, 1, low_open=True))
    alpha: float | None = option(None, "PGD step size; default 2.5 * eps / steps",
                                 check=_step_size)
    steps: int = option(7, "PGD steps in training (FGSM takes one step of size eps)",
                        check=positive)
    random_start: bool = option(True, "start from a uniform point of the eps-ball")
    objective: Literal["elbo", "latent"] = option(
        "elbo", "'elbo': maximize the negative ELBO; 'latent': maximize the symmetric KL "
        "between q(z|x+d) and q(z|x) (Kuzina et al. 2022)")
    ratio: float = option(0.5, "fraction of each batch replaced by adversarial examples",
                          check=in_range(0, 1, low_open=True))
    eval_steps: int = option(20, "PGD steps of the final robustness evaluation", check=positive)
    eval_size: int = option(0, "test images attacked in the final evaluation; 0 = all",
                            check=in_range(0))

    def __attrs_post_init__(self) -> None:
        if self.objective == "latent" and not self.random_start:
            raise ValueError("objective 'latent' needs random_start = true: the symmetric KL "
                             "has zero gradient at the clean input")


def adversarial_batch(model: torch.nn.Module, batch: Batch,
                      options: AdversarialOptions) -> Batch:
    """Replace the first ``ratio`` of ``batch.x`` by attacked inputs, in place."""
    k = round(options.ratio * len(batch))
    if k == 0:
        return batch
    y = None if batch.y is None else batch.y[:k]
    common = dict(eps=options.eps, random_start=options.random_start,
                  objective=options.objective, y=y, target=batch.target[:k])
    if options.attack == "fgsm":
        attacked = fgsm(model, batch.x[:k], **common)
    else:
        attacked = pgd(model, batch.x[:k], alpha=options.alpha, steps=options.steps, **common)
    batch.x = torch.cat([attacked, batch.x[k:]])
    return batch


@attrs.define(eq=False)  # identity equality: a recipe may run two equal instances
class Adversarial:
    Options = AdversarialOptions
    requires = ("posterior",)  # the latent objective and robust/latent_* read q(z|x)
    options: AdversarialOptions

    @hookimpl
    def transform_batch(self, trainer, batch: Batch) -> None:
        adversarial_batch(trainer.model, batch, self.options)

    @hookimpl
    def on_test_end(self, trainer, metrics: dict) -> None:
        x, y = split_images(trainer.splits.test, self.options.eval_size or None)
        scores = robustness(trainer.model, x, y, eps=self.options.eps,
                            steps=self.options.eval_steps)
        metrics.update({f"robust/{name}": value for name, value in scores.items()})
