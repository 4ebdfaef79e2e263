"""Registered anomaly scores beyond the ELBO: ``likelihood_regret`` (Xiao et al. 2020),
``likelihood_ratio`` (Ren et al. 2019), ``combined`` (the negative ELBO and the
complexity-corrected score, standardized on validation images, their maximum) and
``combined_latent`` (the same with the latent nearest-neighbour distance),
``mean_mse_latent_knn`` (the mean of the standardized reconstruction error and latent
nearest-neighbour distance), ``mean_mse_latent_knn_class_energy`` (the same with the
latent classifier's free energy), ``mean_mse_feature_knn_class_energy`` (the headline: the
reconstruction error with the nearest-neighbour distance and the classifier's free energy
in the encoder's feature space), ``mean_elbo_complexity_feature_knn`` and
``mean_elbo_latent_knn_feature_cosine_knn`` (the likelihood with the latent and the
cosine feature distances), ``mean_mse_feature_knn_feature_cosine_knn`` (the headline for
data without class labels: the reconstruction error with the euclidean and the cosine
feature distances). Formulas, references and costs: docs/metrics.md."""
from __future__ import annotations

from typing import Callable

import attrs
from torch import Tensor

from vaereg.core.model import model_contract as contract
from vaereg.core.data.batch import Batch
from vaereg.core.common.options import in_range, option, positive
from vaereg.evaluation.input_complexity import complexity_corrected, png_bits
from vaereg.evaluation.latent_score_metrics import LATENT_FITS, Encoding, fit_on_training
from vaereg.evaluation.likelihood_metrics import negative_elbo_terms
from vaereg.evaluation.likelihood_ratio import fit_background, likelihood_ratio_score
from vaereg.evaluation.likelihood_regret import likelihood_regret
from vaereg.evaluation.metric import Metric, MetricContext, MetricResult
from vaereg.evaluation.reconstruction import squared_error
from vaereg.evaluation.score_combination import max_of_standardized, mean_of_standardized


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


def part_scorer(context: MetricContext, parts: tuple[str, ...],
                name: str) -> Callable[[Batch], dict[str, Tensor]]:
    """Each image's scores named in ``parts`` (of ``neg_elbo``, ``complexity_corrected``,
    ``mse`` and the encoder's scores of ``LATENT_FITS``), a batch at a time; the ELBO is
    drawn first, as the ``elbo`` metric draws it. The encoder's scores fit on the
    training split (``name`` is the metric that needs it)."""
    latent = {part: fit_on_training(context, part, name) for part in parts if part in LATENT_FITS}
    model = context.model

    def score(batch: Batch) -> dict[str, Tensor]:
        found = {}
        if {"neg_elbo", "complexity_corrected"} & set(parts):
            found.update(elbo_and_complexity(model, batch))
        if "mse" in parts:
            found["mse"] = squared_error(model.reconstruct(batch.x, batch.y), batch.target)
        if latent:
            encoding = Encoding(model, batch)
            found.update({part: fitted(encoding).cpu() for part, fitted in latent.items()})
        return {part: found[part] for part in parts}
    return score


class StandardizedCombination(Metric):
    """Base of a combination fixed in advance: the scores ``parts`` of each image of the
    split and of the validation split, each standardized on the validation ones, combined
    by ``combine`` (their maximum or mean) under ``name``. The split is scored before the
    validation split."""

    name = ""
    parts: tuple[str, ...] = ()
    combine = staticmethod(max_of_standardized)

    def compute(self, context: MetricContext) -> MetricResult:
        val = context.required("val", self.name)
        score = part_scorer(context, self.parts, self.name)
        scores = context.per_example(score)
        reference = context.on(val).per_example(score)
        return context.result({self.name: self.combine(scores, reference)})


class Combined(StandardizedCombination):
    """Per-example ``combined``: the maximum of ``neg_elbo`` and ``complexity_corrected``,
    each standardized on the validation split."""

    name = "combined"
    parts = ("neg_elbo", "complexity_corrected")
    requires = (contract.ELBO,)


class CombinedLatent(StandardizedCombination):
    """Per-example ``combined_latent``: the maximum of ``neg_elbo``, ``complexity_corrected``
    and ``latent_knn`` (k = 5), each standardized on the validation split."""

    name = "combined_latent"
    parts = ("neg_elbo", "complexity_corrected", "latent_knn")
    requires = (contract.ELBO, contract.POSTERIOR)


class MeanMseLatentKnn(StandardizedCombination):
    """Per-example ``mean_mse_latent_knn``: the mean of ``mse`` and ``latent_knn`` (k = 5),
    each standardized on the validation split."""

    name = "mean_mse_latent_knn"
    parts = ("mse", "latent_knn")
    combine = staticmethod(mean_of_standardized)
    requires = (contract.POSTERIOR,)


class MeanMseLatentKnnClassEnergy(StandardizedCombination):
    """Per-example ``mean_mse_latent_knn_class_energy``: the mean of ``mse``,
    ``latent_knn`` (k = 5) and ``latent_class_energy``, each standardized on the
    validation split."""

    name = "mean_mse_latent_knn_class_energy"
    parts = ("mse", "latent_knn", "latent_class_energy")
    combine = staticmethod(mean_of_standardized)
    requires = (contract.POSTERIOR, contract.POSTERIOR_DENSITY)
    needs_labels = True


class MeanMseFeatureKnnClassEnergy(StandardizedCombination):
    """Per-example ``mean_mse_feature_knn_class_energy``: the mean of ``mse``,
    ``feature_knn`` (k = 5) and ``feature_class_energy``, each standardized on the
    validation split; the headline score (docs/metrics.md)."""

    name = "mean_mse_feature_knn_class_energy"
    parts = ("mse", "feature_knn", "feature_class_energy")
    combine = staticmethod(mean_of_standardized)
    requires = (contract.ENCODER_FEATURES,)
    needs_labels = True


class MeanElboComplexityFeatureKnn(StandardizedCombination):
    """Per-example ``mean_elbo_complexity_feature_knn``: the mean of ``neg_elbo``,
    ``complexity_corrected`` and ``feature_knn`` (k = 5), each standardized on the
    validation split."""

    name = "mean_elbo_complexity_feature_knn"
    parts = ("neg_elbo", "complexity_corrected", "feature_knn")
    combine = staticmethod(mean_of_standardized)
    requires = (contract.ELBO, contract.ENCODER_FEATURES)


class MeanElboLatentKnnFeatureCosineKnn(StandardizedCombination):
    """Per-example ``mean_elbo_latent_knn_feature_cosine_knn``: the mean of ``neg_elbo``,
    ``latent_knn`` and ``feature_cosine_knn`` (k = 5), each standardized on the
    validation split."""

    name = "mean_elbo_latent_knn_feature_cosine_knn"
    parts = ("neg_elbo", "latent_knn", "feature_cosine_knn")
    combine = staticmethod(mean_of_standardized)
    requires = (contract.ELBO, contract.POSTERIOR, contract.ENCODER_FEATURES)


class MeanMseFeatureKnnFeatureCosineKnn(StandardizedCombination):
    """Per-example ``mean_mse_feature_knn_feature_cosine_knn``: the mean of ``mse``,
    ``feature_knn`` and ``feature_cosine_knn`` (k = 5), each standardized on the
    validation split; the headline where the training images have no class labels
    (docs/metrics.md)."""

    name = "mean_mse_feature_knn_feature_cosine_knn"
    parts = ("mse", "feature_knn", "feature_cosine_knn")
    combine = staticmethod(mean_of_standardized)
    requires = (contract.ENCODER_FEATURES,)
