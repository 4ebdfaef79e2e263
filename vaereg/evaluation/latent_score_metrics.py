"""Registered anomaly scores in latent space: ``latent_mahalanobis`` and ``latent_knn``,
distances of each image's posterior mean to the training images' posterior means
(``latent_distance``). Formulas, references and costs: docs/metrics.md."""
from __future__ import annotations

import attrs
import torch
from torch import Tensor

from vaereg.core.common.options import option, positive
from vaereg.core.model import model_contract as contract
from vaereg.evaluation.latent_distance import (NEIGHBOURS, LatentGaussian, fit_latent_gaussian,
                                              nearest_distance)
from vaereg.evaluation.metric import Metric, MetricContext, MetricResult


def posterior_means(context: MetricContext) -> dict[str, Tensor]:
    """``mean``: the posterior mean E[z|x] of each image of the context's split, [N, d]."""
    return context.per_example(lambda b: {"mean": context.model.encode(b.x, b.y).mean})


def training_gaussian(context: MetricContext, train) -> LatentGaussian:
    """The Gaussian of the posterior means of ``train`` (a split on the context's device)."""
    with torch.no_grad():  # else the fit holds every training batch's encoder graph
        return fit_latent_gaussian(context.model.encode(b.x, b.y).mean for b in train.batches())


class LatentMahalanobis(Metric):
    """Per-example ``latent_mahalanobis``: the Mahalanobis distance of the posterior mean
    to the Gaussian of the training images' posterior means."""

    requires = (contract.POSTERIOR,)

    def compute(self, context: MetricContext) -> MetricResult:
        train = context.on(context.required("train", "latent_mahalanobis"))
        gaussian = training_gaussian(context, train)
        return context.result(context.per_example(lambda b: {
            "latent_mahalanobis": gaussian.distance(context.model.encode(b.x, b.y).mean).cpu()}))


@attrs.frozen
class NearestOptions:
    k: int = option(NEIGHBOURS, "training images whose posterior means are averaged over",
                    check=positive)


class LatentKnn(Metric):
    """Per-example ``latent_knn``: the mean distance of the posterior mean to the k nearest
    training posterior means (the training means kept, N x latent_dim)."""

    Options = NearestOptions
    requires = (contract.POSTERIOR,)

    def compute(self, context: MetricContext) -> MetricResult:
        train = context.on(context.required("train", "latent_knn"))
        reference = posterior_means(train)["mean"]
        return context.result(context.per_example(lambda b: {
            "latent_knn": nearest_distance(context.model.encode(b.x, b.y).mean, reference,
                                           self.options.k).cpu()}))
