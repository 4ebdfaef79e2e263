"""Evaluation: metric functions on tensors and models, and the metric registry.

The functions take a model that follows the evaluation's model contract (docs/api.md);
``evaluate`` runs registered metrics (entry-point group ``vaereg.metrics``) over a split.
Definitions, formulas and references: docs/metrics.md.
"""
from vaereg.core.recipes.registry import METRICS
from vaereg.evaluation.active_units import active_units
from vaereg.evaluation.anomaly import anomaly_metrics, roc_curve
from vaereg.evaluation.feature_classifier import (FeatureClassifier, classifier_frechet_distance,
                                                  load_feature_classifier, train_feature_classifier)
from vaereg.evaluation.frechet import frechet_distance
from vaereg.evaluation.input_complexity import complexity_corrected, png_bits
from vaereg.evaluation.iwae import iwae_nll
from vaereg.evaluation.likelihood_regret import likelihood_regret
from vaereg.evaluation.metric import (Metric, MetricContext, MetricResult, NoOptions, evaluate,
                                      make_metric)
from vaereg.evaluation.mutual_information import mutual_information
from vaereg.evaluation.reconstruction import reconstruction_errors
from vaereg.evaluation.sample_distances import (mean_pairwise_distance, nearest_distances,
                                                sample_diversity)

__all__ = [
    "METRICS", "FeatureClassifier", "Metric", "MetricContext", "MetricResult", "NoOptions",
    "active_units", "anomaly_metrics", "classifier_frechet_distance", "complexity_corrected",
    "evaluate",
    "frechet_distance", "iwae_nll", "likelihood_regret", "load_feature_classifier",
    "make_metric",
    "mean_pairwise_distance", "mutual_information", "nearest_distances", "png_bits",
    "reconstruction_errors", "roc_curve", "sample_diversity", "train_feature_classifier",
]
