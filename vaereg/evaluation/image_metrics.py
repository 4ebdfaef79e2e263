"""Registered metrics on images: ``reconstruction``, ``diversity``, ``memorization`` and
``classifier_frechet`` (see docs/metrics.md). Samples are drawn from the context's
generator, so metrics run with one seed score the same samples."""
from __future__ import annotations

import attrs
from torch import Tensor

from vaereg.core.common.errors import VaeregError
from vaereg.core.common.options import in_range, option, positive
from vaereg.evaluation.feature_classifier import (classifier_frechet_distance,
                                                  load_feature_classifier)
from vaereg.evaluation.metric import Metric, MetricContext, MetricResult
from vaereg.evaluation.reconstruction import reconstruction_errors
from vaereg.evaluation.sample_distances import nearest_distances, sample_diversity


class Reconstruction(Metric):
    """Per-example ``mse``, ``psnr``, ``ssim`` of ``model.reconstruct`` against the target."""

    def compute(self, context: MetricContext) -> MetricResult:
        model = context.model
        return context.result(context.per_example(
            lambda b: reconstruction_errors(model.reconstruct(b.x, b.y), b.target)))


@attrs.frozen
class SampleOptions:
    samples: int = option(1000, "images drawn from the model", check=in_range(2))


def _samples(context: MetricContext, n: int) -> Tensor:
    return context.model.sample(n, generator=context.generator)


class Diversity(Metric):
    """``diversity``: mean pairwise distance of samples / that of as many split images."""

    Options = SampleOptions

    def compute(self, context: MetricContext) -> MetricResult:
        n = self.options.samples
        reference, _ = context.images(n)
        return context.result(summary={"diversity": sample_diversity(_samples(context, n),
                                                                      reference)})


class Memorization(Metric):
    """``memorization/nearest_mean`` and ``_min``: L2 distance from each sample to its
    nearest training image; ``_ratio``: the mean over that of as many split images."""

    Options = SampleOptions

    def compute(self, context: MetricContext) -> MetricResult:
        train = context.required("train", "memorization")
        n = self.options.samples

        def training_images():  # streamed, a batch at a time: never all in memory
            return (batch.x for batch in train.batches(context.batch_size))

        distances = nearest_distances(_samples(context, n), training_images())
        unseen = nearest_distances(context.images(n)[0], training_images())
        return context.result(summary={
            "memorization/nearest_mean": distances.mean().item(),
            "memorization/nearest_min": distances.min().item(),
            "memorization/nearest_ratio": (distances.mean() / unseen.mean()).item()})


def _path(value: str) -> str | None:
    return None if value else "the path of the classifier's cache file"


@attrs.frozen
class ClassifierFrechetOptions:
    classifier: str = option("", "cache file of the feature classifier (trained there on the "
                             "training split when missing)", check=_path)
    samples: int = option(5000, "images drawn from the model", check=in_range(2))
    epochs: int = option(3, "training epochs of the feature classifier", check=positive)


class ClassifierFrechet(Metric):
    """``classifier_frechet_distance`` between samples and as many split images."""

    Options = ClassifierFrechetOptions

    def compute(self, context: MetricContext) -> MetricResult:
        train = context.required("train", "classifier_frechet")
        if train.y is None:
            raise VaeregError("metric 'classifier_frechet' trains a classifier on the "
                              "training split's labels, but this dataset has none")
        classifier = load_feature_classifier(self.options.classifier, train,
                                             epochs=self.options.epochs, seed=0)
        n = self.options.samples
        distance = classifier_frechet_distance(_samples(context, n), context.images(n)[0],
                                               classifier)
        return context.result(summary={"classifier_frechet_distance": distance})
