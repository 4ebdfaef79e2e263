from vaereg.evaluation.iwae import iwae_nll
from vaereg.evaluation.active_units import active_units
from vaereg.evaluation.mutual_information import mutual_information
from vaereg.evaluation.reconstruction import reconstruction_errors
from vaereg.evaluation.sample_distances import (mean_pairwise_distance, nearest_distances,
                                                sample_diversity)
from vaereg.evaluation.anomaly import anomaly_metrics, roc_curve
from vaereg.evaluation.feature_classifier import (FeatureClassifier, classifier_frechet_distance,
                                                  load_feature_classifier,
                                                  train_feature_classifier)
from vaereg.evaluation.frechet import frechet_distance
from vaereg.evaluation.metric import (MetricContext, MetricResult, NoOptions, evaluate,
                                      make_metric)
from vaereg.core.registry import METRICS
