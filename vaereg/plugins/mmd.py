"""An MMD term on the aggregate posterior, for any model (the InfoVAE/WAE regularizer).

Adds ``weight * MMD(q(z) || p(z))`` to the objective as a per-example term (default name
``mmd``), between the codes ``z`` of the batch (the forward pass's ``outputs["z"]``) and
as many draws of the model's ``prior()``; the same function, ``vaereg.prior_mmd``, the
InfoVAE and WAE models use, so a vanilla VAE with this plugin at weight lambda is the
InfoVAE with alpha = 0. Training steps only: validation reports the model's own terms.
"""
from __future__ import annotations

import attrs

from vaereg import MMDKernelOptions, hookimpl, in_range, option, prior_mmd


def _term_name(value: str) -> str | None:
    return None if value.isidentifier() else "a plain name (letters, digits, _)"


@attrs.frozen
class MMDOptions(MMDKernelOptions):
    weight: float = option(100.0, "weight of the MMD term (nats-scale objective)",
                           check=in_range(0))
    term: str = option("mmd", "name of the term it adds (change it on a model that "
                       "already has an 'mmd' term, such as InfoVAE)", check=_term_name)


@attrs.define(eq=False)  # identity equality: a recipe may run two equal instances
class MMD:
    Options = MMDOptions
    requires = ("posterior",)  # the codes z and the prior
    options: MMDOptions

    @hookimpl
    def transform_objective(self, trainer, objective) -> None:
        o = self.options
        values = prior_mmd(objective.outputs["z"], trainer.model.prior(), o.kernel,
                           o.kernel_scales)
        objective.add_term(o.term, values, o.weight)
