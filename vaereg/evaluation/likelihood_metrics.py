"""Registered metrics ``elbo``, ``iwae`` and ``complexity``: the negative ELBO with its
terms and the importance-weighted bound, per example in nats, and the
complexity-corrected ELBO for out-of-distribution detection (see docs/metrics.md)."""
from __future__ import annotations

from typing import Any

import attrs
from torch import Tensor

from vaereg.core.common.options import in_range, option, positive
from vaereg.core.data.batch import Batch
from vaereg.core.model.objective import Objective, per_example
from vaereg.evaluation.input_complexity import complexity_corrected, png_bits
from vaereg.evaluation.iwae import iwae_nll
from vaereg.evaluation.metric import Metric, MetricContext, MetricResult


def negative_elbo_terms(model, batch: Batch) -> dict[str, Tensor]:
    """The model's ELBO terms (``model.elbo_terms``) per example, summed over any trailing
    dimension (a per-latent KL), and ``neg_elbo``, their sum; z is sampled once. The
    trainer's figures come from the same :class:`Objective`."""
    objective = Objective.from_model(model, model(batch.x, batch.y), batch.target)
    return named_elbo_terms(model, objective.terms)


def elbo_terms_of(model, outputs: dict[str, Any], target: Tensor) -> dict[str, Tensor]:
    """As :func:`negative_elbo_terms` for given forward ``outputs`` (z at the posterior
    mean, for one), computing only the ELBO's terms where the model offers
    ``elbo_loss`` (no batch-level term: an image scored alone gets its score)."""
    terms = (model.elbo_loss(outputs, target) if hasattr(model, "elbo_loss")
             else model.loss(outputs, target))
    return named_elbo_terms(model, terms)


def named_elbo_terms(model, terms: dict[str, Tensor]) -> dict[str, Tensor]:
    """Each of ``model.elbo_terms`` per example and ``neg_elbo``, their sum (as
    :meth:`Objective.neg_elbo` sums them)."""
    named = {name: per_example(terms[name]) for name in model.elbo_terms}
    named["neg_elbo"] = sum(named[name] for name in model.elbo_terms)
    return named


class ELBO(Metric):
    """Per-example ``neg_elbo`` and each ELBO term (``recon``, ``kl``, ...)."""

    requires = ("elbo",)

    def compute(self, context: MetricContext) -> MetricResult:
        return context.result(context.per_example(lambda b: negative_elbo_terms(context.model, b)))


@attrs.frozen
class IWAEOptions:
    k: int = option(1000, "importance samples per example", check=positive)
    chunk: int = option(0, "samples per decoder pass (memory: chunk x batch images); 0: as "
                        "many as make 1,024 images on a CPU, 16,384 on a GPU",
                        check=in_range(0))


class IWAE(Metric):
    """Per-example ``iwae_nll``: the K-sample importance-weighted bound on -log p(x)."""

    Options = IWAEOptions
    requires = ("posterior_density", "per_element_likelihood")

    def compute(self, context: MetricContext) -> MetricResult:
        k, chunk = self.options.k, self.options.chunk
        return context.result(context.per_example(lambda b: {
            "iwae_nll": iwae_nll(context.model, b.x, b.y, k=k, chunk=chunk)}),
            summary={"iwae_k": float(k)})


class Complexity(Metric):
    """Per-example ``png_bits`` (L(x), a lossless PNG's length) and
    ``complexity_corrected`` (S(x) = neg_elbo in bits - L(x); Serrà et al. 2020).

    The negative ELBO is drawn as the ``elbo`` metric draws it (same seed, same order),
    so with both in one evaluation S(x) is that column's value in bits minus L(x)."""

    requires = ("elbo",)

    def compute(self, context: MetricContext) -> MetricResult:
        def score(batch: Batch) -> dict[str, Tensor]:
            neg_elbo = negative_elbo_terms(context.model, batch)["neg_elbo"]
            bits = png_bits(batch.x)
            return {"png_bits": bits, "complexity_corrected": complexity_corrected(neg_elbo, bits)}
        return context.result(context.per_example(score))
