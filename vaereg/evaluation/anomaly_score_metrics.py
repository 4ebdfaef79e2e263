"""Registered anomaly scores beyond the ELBO: ``likelihood_regret`` (Xiao et al. 2020),
``likelihood_ratio`` (Ren et al. 2019), ``combined`` (the negative ELBO and the
complexity-corrected score, standardized on validation images, their maximum) and
``combined_latent`` (the same with the latent nearest-neighbour distance). Formulas,
references and costs: docs/metrics.md."""
from __future__ import annotations

from typing import Callable

import attrs
from torch import Tensor

from vaereg.core.model import model_contract as contract
from vaereg.core.data.batch import Batch
from vaereg.core.common.options import in_range, option, positive
from vaereg.evaluation.input_complexity import complexity_corrected, png_bits
from vaereg.evaluation.latent_distance import NEIGHBOURS, nearest_distance
from vaereg.evaluation.latent_score_metrics import posterior_means
from vaereg.evaluation.likelihood_metrics import negative_elbo_terms
from vaereg.evaluation.likelihood_ratio import fit_background, likelihood_ratio_score
from vaereg.evaluation.likelihood_regret import likelihood_regret
from vaereg.evaluation.metric import Metric, MetricContext, MetricResult
from vaereg.evaluation.score_combination import max_of_standardized


@attrs.frozen
class RegretOptions:
    steps: int = option(10, "Adam steps fitting each image's posterior", check=positive)
    lr: float = option(0.1, "Adam's learning rate on the posterior's mean and log std",
                       check=positive)
    samples: int = option(8, "draws of z per image in each ELBO estimate (fixed per image)",
                          check=positive)


class LikelihoodRegret(Metric):
    """Per-example ``likelihood_regret``: the ELBO gained by fitting each image's
    posterior to it alone (nats, >= 0)."""

    Options = RegretOptions
    requires = (contract.POSTERIOR, contract.POSTERIOR_DENSITY, contract.PER_ELEMENT_LIKELIHOOD)

    def compute(self, context: MetricContext) -> MetricResult:
        options = self.options
        return context.result(context.per_example(lambda b: {
            "likelihood_regret": likelihood_regret(
                context.model, b.x, b.y, steps=options.steps, lr=options.lr,
                samples=options.samples, generator=context.generator)}))


@attrs.frozen
class RatioOptions:
    mutation_rate: float = option(0.2, "share of the background model's training pixels "
                                  "replaced by uniform noise", check=in_range(0, 1, low_open=True, high_open=True))
    epochs: int = option(1, "passes of the background model over the training images",
                         check=positive)
    images: int = option(0, "training images the background model sees (0 = all)",
                         check=in_range(0))
    lr: float = option(1e-3, "the background model's Adam learning rate", check=positive)
    weight_decay: float = option(1e-4, "the background model's L2 weight decay",
                                 check=in_range(0))


class LikelihoodRatio(Metric):
    """Per-example ``background_neg_elbo`` (the background model's) and
    ``likelihood_ratio`` = neg_elbo - background_neg_elbo, in nats."""

    Options = RatioOptions
    requires = (contract.ELBO,)

    def compute(self, context: MetricContext) -> MetricResult:
        options = self.options
        train = context.required("train", "likelihood_ratio")
        neg_elbo = _neg_elbo(context, context.model)  # first: drawn as the elbo metric draws it
        background = fit_background(
            context.model, train, rate=options.mutation_rate, epochs=options.epochs,
            images=options.images, lr=options.lr, weight_decay=options.weight_decay,
            batch_size=context.batch_size, generator=context.generator)
        other = _neg_elbo(context, background)
        return context.result({"background_neg_elbo": other,
                               "likelihood_ratio": likelihood_ratio_score(neg_elbo, other)})


def _neg_elbo(context: MetricContext, model) -> Tensor:
    return context.per_example(lambda b: negative_elbo_terms(model, b))["neg_elbo"]


def elbo_and_complexity(model, batch: Batch) -> dict[str, Tensor]:
    """``neg_elbo`` (nats) and ``complexity_corrected`` (bits) of each image of ``batch``."""
    neg_elbo = negative_elbo_terms(model, batch)["neg_elbo"]
    return {"neg_elbo": neg_elbo.double().cpu(),
            "complexity_corrected": complexity_corrected(neg_elbo, png_bits(batch.x))}


class StandardizedMaximum(Metric):
    """Base of a combination fixed in advance: the scores ``scorer`` gives each image of
    the split and of the validation split, each standardized on the validation ones, their
    maximum under ``name``. The split is scored before the validation split."""

    name = ""

    def scorer(self, context: MetricContext) -> Callable[[Batch], dict[str, Tensor]]:
        raise NotImplementedError

    def compute(self, context: MetricContext) -> MetricResult:
        val = context.required("val", self.name)
        score = self.scorer(context)
        scores = context.per_example(score)
        reference = context.on(val).per_example(score)
        return context.result({self.name: max_of_standardized(scores, reference)})


class Combined(StandardizedMaximum):
    """Per-example ``combined``: the maximum of ``neg_elbo`` and ``complexity_corrected``,
    each standardized on the validation split. The split's ELBO is drawn first, as the
    ``elbo`` metric draws it."""

    name = "combined"
    requires = (contract.ELBO,)

    def scorer(self, context: MetricContext) -> Callable[[Batch], dict[str, Tensor]]:
        return lambda b: elbo_and_complexity(context.model, b)


class CombinedLatent(StandardizedMaximum):
    """Per-example ``combined_latent``: the maximum of ``neg_elbo``, ``complexity_corrected``
    and ``latent_knn`` (k = 5), each standardized on the validation split."""

    name = "combined_latent"
    requires = (contract.ELBO, contract.POSTERIOR)

    def scorer(self, context: MetricContext) -> Callable[[Batch], dict[str, Tensor]]:
        reference = posterior_means(context.on(context.required("train", self.name)))["mean"]

        def score(batch: Batch) -> dict[str, Tensor]:
            means = context.model.encode(batch.x, batch.y).mean
            return {**elbo_and_complexity(context.model, batch),
                    "latent_knn": nearest_distance(means, reference, NEIGHBOURS).cpu()}
        return score
