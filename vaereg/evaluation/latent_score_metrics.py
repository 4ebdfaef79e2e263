"""Registered anomaly scores in latent space, each fitted on the training images'
posteriors: ``latent_mahalanobis``, ``latent_class_mahalanobis`` and ``latent_knn``,
distances of each image's posterior mean to the training ones (``latent_distance``), and
``latent_class_energy``, the free energy of a classifier of the training labels on the
posterior (``latent_classifier``). Formulas, references and costs: docs/metrics.md."""
from __future__ import annotations

from typing import Callable

import attrs
import torch
from torch import Tensor
from torch.distributions import Distribution

from vaereg.core.common.errors import VaeregError
from vaereg.core.common.options import option, positive
from vaereg.core.model import model_contract as contract
from vaereg.evaluation.latent_classifier import fit_linear_softmax, posterior_features
from vaereg.evaluation.latent_distance import (NEIGHBOURS, fit_class_gaussians,
                                              fit_latent_gaussian, nearest_distance)
from vaereg.evaluation.metric import Metric, MetricContext, MetricResult

#: a latent score of each image's posterior q(z|x), fitted on the training images
LatentScore = Callable[[Distribution], Tensor]


def posterior_means(context: MetricContext) -> dict[str, Tensor]:
    """``mean``: the posterior mean E[z|x] of each image of the context's split, [N, d]."""
    return context.per_example(lambda b: {"mean": context.model.encode(b.x, b.y).mean})


def _labelled_posteriors(train: MetricContext, metric: str, features: LatentScore
                         ) -> tuple[Tensor, Tensor]:
    """(``features`` of each training posterior, its label); ``VaeregError`` when the
    training split has no labels."""
    if train.split.y is None:
        raise VaeregError(f"metric '{metric}' needs class labels on the training split, and "
                          f"this run's data has none; latent_mahalanobis and latent_knn need "
                          f"none")
    found = train.per_example(lambda b: {"features": features(train.model.encode(b.x, b.y)),
                                         "labels": b.y})
    return found["features"], found["labels"]


def nearest_fit(k: int) -> Callable[[MetricContext], LatentScore]:
    """``latent_knn`` with ``k`` neighbours: the training means kept, N x latent_dim."""
    def fit(train: MetricContext) -> LatentScore:
        reference = posterior_means(train)["mean"]
        return lambda posterior: nearest_distance(posterior.mean, reference, k)
    return fit


def mahalanobis_fit(train: MetricContext) -> LatentScore:
    """``latent_mahalanobis``: one Gaussian of the training means."""
    with torch.no_grad():  # else the fit holds every training batch's encoder graph
        gaussian = fit_latent_gaussian(train.model.encode(b.x, b.y).mean for b in train.batches())
    return lambda posterior: gaussian.distance(posterior.mean)


def class_mahalanobis_fit(train: MetricContext) -> LatentScore:
    """``latent_class_mahalanobis``: a Gaussian per training class, pooled covariance."""
    means, labels = _labelled_posteriors(train, "latent_class_mahalanobis",
                                         lambda posterior: posterior.mean)
    gaussians = fit_class_gaussians([(means, labels)])
    return lambda posterior: gaussians.distance(posterior.mean)


def class_energy_fit(train: MetricContext) -> LatentScore:
    """``latent_class_energy``: a linear softmax classifier of the training labels."""
    features, labels = _labelled_posteriors(train, "latent_class_energy", posterior_features)
    classifier = fit_linear_softmax(features, labels)
    return lambda posterior: classifier.energy(posterior_features(posterior))


#: each latent score's fit, by name (``latent_knn`` with its default k)
LATENT_FITS: dict[str, Callable[[MetricContext], LatentScore]] = {
    "latent_knn": nearest_fit(NEIGHBOURS), "latent_mahalanobis": mahalanobis_fit,
    "latent_class_mahalanobis": class_mahalanobis_fit, "latent_class_energy": class_energy_fit}


def fit_on_training(context: MetricContext, name: str, metric: str) -> LatentScore:
    """The latent score ``name`` fitted on the context's training split (``metric`` is the
    one that needs it)."""
    return LATENT_FITS[name](context.on(context.required("train", metric)))


class LatentMetric(Metric):
    """Base of a latent score metric: ``name``'s score of each image's posterior."""

    name = ""
    requires = (contract.POSTERIOR,)

    def fit(self, context: MetricContext) -> LatentScore:
        return fit_on_training(context, self.name, self.name)

    def compute(self, context: MetricContext) -> MetricResult:
        score = self.fit(context)
        return context.result(context.per_example(lambda b: {
            self.name: score(context.model.encode(b.x, b.y)).cpu()}))


class LatentMahalanobis(LatentMetric):
    """Per-example ``latent_mahalanobis``: the Mahalanobis distance of the posterior mean
    to the Gaussian of the training images' posterior means."""

    name = "latent_mahalanobis"


class LatentClassMahalanobis(LatentMetric):
    """Per-example ``latent_class_mahalanobis``: the Mahalanobis distance of the posterior
    mean to the nearest training class's Gaussian (pooled covariance)."""

    name = "latent_class_mahalanobis"
    needs_labels = True


class LatentClassEnergy(LatentMetric):
    """Per-example ``latent_class_energy``: the free energy of a linear classifier of the
    training labels on the posterior's mean and log standard deviation."""

    name = "latent_class_energy"
    needs_labels = True
    requires = (contract.POSTERIOR, contract.POSTERIOR_DENSITY)


@attrs.frozen
class NearestOptions:
    k: int = option(NEIGHBOURS, "training images whose posterior means are averaged over",
                    check=positive)


class LatentKnn(LatentMetric):
    """Per-example ``latent_knn``: the mean distance of the posterior mean to the k nearest
    training posterior means (the training means kept, N x latent_dim)."""

    Options = NearestOptions
    name = "latent_knn"

    def fit(self, context: MetricContext) -> LatentScore:
        return nearest_fit(self.options.k)(context.on(context.required("train", self.name)))
