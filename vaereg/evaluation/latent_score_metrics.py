"""Registered anomaly scores of what the encoder makes of an image, each fitted on the
training images: in latent space, ``latent_mahalanobis``, ``latent_class_mahalanobis`` and
``latent_knn``, distances of each image's posterior mean to the training ones
(``latent_distance``), and ``latent_class_energy``, the free energy of a classifier of the
training labels on the posterior (``latent_classifier``); in the encoder's feature space
(the body's output, which the latent heads read), ``feature_knn`` and
``feature_class_energy``, the same two on those features, and ``feature_cosine_knn``, the
distance on the features scaled to unit length. Formulas, references and costs:
docs/metrics.md."""
from __future__ import annotations

from functools import cached_property
from typing import Any, Callable

import attrs
import torch
from torch import Tensor
from torch.nn import functional
from torch.distributions import Distribution

from vaereg.core.common.errors import VaeregError
from vaereg.core.common.options import option, positive
from vaereg.core.data.batch import Batch
from vaereg.core.model import model_contract as contract
from vaereg.evaluation.latent_classifier import fit_linear_softmax, posterior_features
from vaereg.evaluation.latent_distance import (NEIGHBOURS, fit_class_gaussians,
                                              fit_latent_gaussian, nearest_distance)
from vaereg.evaluation.metric import Metric, MetricContext, MetricResult

class Encoding:
    """What the encoder makes of one batch, each part computed once, when first read: the
    posterior q(z|x) and the encoder features (so the scores of a combination share one
    encoder pass per part)."""

    def __init__(self, model: Any, batch: Batch):
        self.model, self.batch = model, batch

    @cached_property
    def posterior(self) -> Distribution:
        return self.model.encode(self.batch.x, self.batch.y)

    @cached_property
    def features(self) -> Tensor:
        return self.model.features(self.batch.x, self.batch.y).flatten(1)


#: a score of each image of a batch from its encoding, fitted on the training images
LatentScore = Callable[[Encoding], Tensor]
#: what a score reads of an encoding: the posterior mean, the classifier's inputs, ...
View = Callable[[Encoding], Tensor]


def posterior_mean(encoding: Encoding) -> Tensor:
    return encoding.posterior.mean


def posterior_parameters(encoding: Encoding) -> Tensor:
    return posterior_features(encoding.posterior)


def encoder_features(encoding: Encoding) -> Tensor:
    return encoding.features


def unit_features(encoding: Encoding) -> Tensor:
    """The encoder features scaled to unit length: their distances order pairs of images
    as the cosine of their angle does, whatever the features' norm."""
    return functional.normalize(encoding.features, dim=1)


def training_views(train: MetricContext, view: View, metric: str | None = None
                   ) -> dict[str, Tensor]:
    """``view`` of each training image (``views``) and, when ``metric`` needs them, its
    label (``labels``; ``VaeregError`` when the training split has none)."""
    if metric is not None and train.split.y is None:
        raise VaeregError(f"metric '{metric}' needs class labels on the training split, and "
                          f"this run's data has none; latent_mahalanobis, latent_knn, "
                          f"feature_knn and feature_cosine_knn need none")

    def read(batch: Batch) -> dict[str, Tensor]:
        found = {"views": view(Encoding(train.model, batch))}
        return found if metric is None else {**found, "labels": batch.y}
    return train.per_example(read)


def nearest_fit(k: int, view: View = posterior_mean) -> Callable[[MetricContext], LatentScore]:
    """A nearest-neighbour distance with ``k`` neighbours on ``view``: the training views
    kept, N x their width."""
    def fit(train: MetricContext) -> LatentScore:
        reference = training_views(train, view)["views"].double()  # converted once
        return lambda encoding: nearest_distance(view(encoding), reference, k)
    return fit


def mahalanobis_fit(train: MetricContext) -> LatentScore:
    """``latent_mahalanobis``: one Gaussian of the training means."""
    with torch.no_grad():  # else the fit holds every training batch's encoder graph
        gaussian = fit_latent_gaussian(train.model.encode(b.x, b.y).mean for b in train.batches())
    return lambda encoding: gaussian.distance(encoding.posterior.mean)


def class_mahalanobis_fit(train: MetricContext) -> LatentScore:
    """``latent_class_mahalanobis``: a Gaussian per training class, pooled covariance."""
    found = training_views(train, posterior_mean, "latent_class_mahalanobis")
    gaussians = fit_class_gaussians([(found["views"], found["labels"])])
    return lambda encoding: gaussians.distance(encoding.posterior.mean)


def class_energy_fit(metric: str, view: View) -> Callable[[MetricContext], LatentScore]:
    """``metric``: the free energy of a linear softmax classifier of the training labels
    on ``view``."""
    def fit(train: MetricContext) -> LatentScore:
        found = training_views(train, view, metric)
        classifier = fit_linear_softmax(found["views"], found["labels"])
        return lambda encoding: classifier.energy(view(encoding))
    return fit


#: each score's fit, by name (the nearest-neighbour ones with their default k)
LATENT_FITS: dict[str, Callable[[MetricContext], LatentScore]] = {
    "latent_knn": nearest_fit(NEIGHBOURS), "latent_mahalanobis": mahalanobis_fit,
    "latent_class_mahalanobis": class_mahalanobis_fit,
    "latent_class_energy": class_energy_fit("latent_class_energy", posterior_parameters),
    "feature_knn": nearest_fit(NEIGHBOURS, encoder_features),
    "feature_cosine_knn": nearest_fit(NEIGHBOURS, unit_features),
    "feature_class_energy": class_energy_fit("feature_class_energy", encoder_features)}


def fit_on_training(context: MetricContext, name: str, metric: str) -> LatentScore:
    """The score ``name`` fitted on the context's training split (``metric`` is the one
    that needs it), once per evaluation: the fits draw nothing, so every metric that needs
    the same one shares it (``MetricContext.fitted``)."""
    train = context.required("train", metric)
    if name not in context.fitted:
        context.fitted[name] = LATENT_FITS[name](context.on(train))
    return context.fitted[name]


class LatentMetric(Metric):
    """Base of a latent score metric: ``name``'s score of each image's encoding."""

    name = ""
    requires = (contract.POSTERIOR,)

    def fit(self, context: MetricContext) -> LatentScore:
        return fit_on_training(context, self.name, self.name)

    def compute(self, context: MetricContext) -> MetricResult:
        score = self.fit(context)
        return context.result(context.per_example(lambda b: {
            self.name: score(Encoding(context.model, b)).cpu()}))


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
    view = staticmethod(posterior_mean)

    def fit(self, context: MetricContext) -> LatentScore:
        if self.options.k == NEIGHBOURS:  # the fit the combinations share
            return super().fit(context)
        return nearest_fit(self.options.k, self.view)(
            context.on(context.required("train", self.name)))


class FeatureKnn(LatentKnn):
    """Per-example ``feature_knn``: the mean distance of the image's encoder features to
    the k nearest training images' (the training features kept, N x the body's width)."""

    name = "feature_knn"
    requires = (contract.ENCODER_FEATURES,)
    view = staticmethod(encoder_features)


class FeatureCosineKnn(FeatureKnn):
    """Per-example ``feature_cosine_knn``: ``feature_knn`` on the features scaled to unit
    length (Sun et al. 2022), so an image is placed by the direction of its features, not
    by their norm."""

    name = "feature_cosine_knn"
    view = staticmethod(unit_features)


class FeatureClassEnergy(LatentMetric):
    """Per-example ``feature_class_energy``: the free energy of a linear classifier of the
    training labels on the encoder features."""

    name = "feature_class_energy"
    needs_labels = True
    requires = (contract.ENCODER_FEATURES,)
