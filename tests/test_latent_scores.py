"""Latent-space anomaly scores: the Mahalanobis and nearest-neighbour distances of a
posterior mean to the training posterior means, on synthetic latents (known geometry) and
through `evaluate` on a tiny VAE trained here."""
import pytest
import torch
from torch import nn

from test_anomaly_scores import bars, trained_vae
from vaereg.core.common.errors import VaeregError
from vaereg.data.tensor_split import TensorSplit
from vaereg.evaluation import anomaly_metrics, evaluate
from vaereg.evaluation.latent_distance import (RIDGE, fit_class_gaussians, fit_latent_gaussian,
                                              nearest_distance)
from vaereg.evaluation.run_evaluation import metric_list
from vaereg.evaluation.anomaly_score_metrics import StandardizedCombination
from vaereg.evaluation.score_combination import mean_of_standardized, standardized


def elongated_cloud(n=3000, seed=0):
    """Latents with standard deviations 4 and 0.25 along the two axes, centred at (1, -2)."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, 2, generator=generator) * torch.tensor([4.0, 0.25]) + torch.tensor([1.0, -2.0])


def test_the_streamed_gaussian_is_the_whole_one_and_weighs_offsets_by_their_spread():
    means = elongated_cloud()
    gaussian = fit_latent_gaussian(means.split(700))  # five uneven batches
    covariance = torch.cov(means.double().T)
    covariance += RIDGE * covariance.diagonal().mean() * torch.eye(2, dtype=torch.float64)
    torch.testing.assert_close(gaussian.center, means.double().mean(0))
    torch.testing.assert_close(gaussian.precision, torch.linalg.inv(covariance))
    center = gaussian.center.float()
    along_wide = gaussian.distance(center + torch.tensor([[2.0, 0.0]]))
    along_narrow = gaussian.distance(center + torch.tensor([[0.0, 2.0]]))
    assert 0.4 < along_wide.item() < 0.6  # 2 / 4 standard deviations
    assert along_narrow.item() > 6  # 2 / 0.25 = 8, less the ridge's share
    assert gaussian.distance(center[None]).item() == pytest.approx(0, abs=1e-6)


def test_a_far_cluster_scores_higher_in_both_distances():
    train = elongated_cloud(seed=0)
    normal, far = elongated_cloud(200, seed=1), elongated_cloud(200, seed=2) + torch.tensor([0.0, 3.0])
    labels = torch.cat([torch.zeros(200), torch.ones(200)])
    latents = torch.cat([normal, far])
    gaussian = fit_latent_gaussian([train])
    assert anomaly_metrics(gaussian.distance(latents), labels)["auroc"] > 0.99
    assert anomaly_metrics(nearest_distance(latents, train, k=5), labels)["auroc"] > 0.99


def test_a_collapsed_unit_gives_finite_distances():
    train = torch.cat([elongated_cloud(500), torch.zeros(500, 1)], dim=1)  # unit 3 never varies
    gaussian = fit_latent_gaussian([train])
    scored = torch.tensor([[1.0, -2.0, 0.0], [1.0, -2.0, 1e-3], [50.0, 50.0, 50.0]])
    distances = gaussian.distance(scored)
    assert torch.isfinite(distances).all() and distances[1] > distances[0]
    with pytest.raises(VaeregError, match="at least 2 training images, got 1"):
        fit_latent_gaussian([train[:1]])


def two_classes(n=1500, seed=0):
    """Two elongated clouds 3 apart along the narrow axis (12 of its sd), labels 3 and 7."""
    means = torch.cat([elongated_cloud(n, seed), elongated_cloud(n, seed + 1) + torch.tensor([0.0, 3.0])])
    return means, torch.cat([torch.full((n,), 3), torch.full((n,), 7)])


def test_the_class_gaussians_are_the_pooled_within_class_fit_streamed_in_batches():
    means, labels = two_classes()
    order = torch.randperm(len(means), generator=torch.Generator().manual_seed(0))
    means, labels = means[order], labels[order]
    gaussians = fit_class_gaussians(zip(means.split(700), labels.split(700)))
    centers = torch.stack([means[labels == c].double().mean(0) for c in (3, 7)])
    offsets = means.double() - torch.where((labels == 3)[:, None], centers[0], centers[1])
    within = offsets.T @ offsets / (len(means) - 2)
    within += RIDGE * within.diagonal().mean() * torch.eye(2, dtype=torch.float64)
    torch.testing.assert_close(gaussians.centers, centers)
    torch.testing.assert_close(gaussians.precision, torch.linalg.inv(within))
    # distances to the nearest class: zero at each centre, 2/4 sd along the wide axis
    scored = torch.cat([centers, centers[:1] + torch.tensor([[-2.0, 0.0]], dtype=torch.float64)])
    torch.testing.assert_close(gaussians.distance(scored)[:2], torch.zeros(2, dtype=torch.float64))
    assert 0.4 < gaussians.distance(scored)[2].item() < 0.6
    with pytest.raises(VaeregError, match="more training images than classes, got 2 images"):
        one_each = torch.cat([(labels == 3).nonzero()[0], (labels == 7).nonzero()[0]])
        fit_class_gaussians([(means[one_each], labels[one_each])])


def test_the_class_distance_flags_the_gap_between_classes_that_one_gaussian_calls_central():
    """Halfway between two classes lies the mean of their union: one Gaussian calls it the
    most normal point, the class Gaussians call it 6 of the narrow axis's sd from both."""
    means, labels = two_classes()
    centre = torch.tensor([1.0, -2.0])
    between = (elongated_cloud(200, seed=5) - centre) * torch.tensor([1.0, 0.1]) + centre + torch.tensor([0.0, 1.5])
    normal = two_classes(100, seed=7)[0]
    scored, is_anomaly = torch.cat([normal, between]), torch.cat([torch.zeros(200), torch.ones(200)])
    one = fit_latent_gaussian([means]).distance(scored)
    per_class = fit_class_gaussians([(means, labels)]).distance(scored)
    assert anomaly_metrics(one, is_anomaly)["auroc"] < 0.3
    assert anomaly_metrics(per_class, is_anomaly)["auroc"] > 0.9


def test_the_class_distance_needs_training_labels():
    model = trained_vae(bars(64, vertical=True, seed=0), steps=5)
    images = bars(64, vertical=True, seed=1)
    with pytest.raises(VaeregError, match="needs class labels on the training split"):
        evaluate(model, TensorSplit(images, None), ["latent_class_mahalanobis"],
                 train=TensorSplit(images, None))
    labels = torch.arange(64) % 2
    scores = evaluate(model, TensorSplit(images, None), ["latent_class_mahalanobis"],
                      train=TensorSplit(images, labels)).per_example["latent_class_mahalanobis"]
    expected = fit_class_gaussians([(model.encode(images).mean.detach(), labels)]).distance(
        model.encode(images).mean.detach())
    torch.testing.assert_close(scores, expected)


def test_the_latent_classifier_minimizes_its_stated_objective_and_separates_the_classes():
    from vaereg.evaluation.latent_classifier import WEIGHT_DECAY, fit_linear_softmax

    means, labels = two_classes()
    classifier = fit_linear_softmax(means, labels)
    assert torch.equal(classifier.classes, torch.tensor([3, 7]))
    weight = classifier.weight.clone().requires_grad_()
    bias = classifier.bias.clone().requires_grad_()
    inputs = (means.double() - classifier.center) / classifier.scale
    objective = (nn.functional.cross_entropy(inputs @ weight + bias, (labels == 7).long())
                 + WEIGHT_DECAY * weight.square().sum())
    objective.backward()  # the fit is at the objective's minimum: no gradient left
    assert weight.grad.abs().max() < 1e-5 and bias.grad.abs().max() < 1e-5
    predicted = classifier.classes[classifier.logits(means).argmax(1)]
    assert (predicted == labels).double().mean() > 0.99
    refit = fit_linear_softmax(means, labels)
    assert torch.equal(refit.weight, classifier.weight)  # the same fit every time
    with pytest.raises(VaeregError, match="at least 2 classes in the training labels, got 1"):
        fit_linear_softmax(means[labels == 3], labels[labels == 3])


def test_the_class_energy_is_high_where_no_trained_class_claims_the_image():
    """Between the two classes neither logit is large: the free energy ranks those points
    above every class's own."""
    from vaereg.evaluation.latent_classifier import fit_linear_softmax

    means, labels = two_classes()
    centre = torch.tensor([1.0, -2.0])
    between = (elongated_cloud(200, seed=5) - centre) * torch.tensor([1.0, 0.1]) + centre + torch.tensor([0.0, 1.5])
    scored = torch.cat([two_classes(100, seed=7)[0], between])
    is_anomaly = torch.cat([torch.zeros(200), torch.ones(200)])
    energy = fit_linear_softmax(means, labels).energy(scored)
    assert anomaly_metrics(energy, is_anomaly)["auroc"] > 0.9


def test_the_class_energy_metric_fits_on_the_training_posteriors_and_needs_labels():
    from vaereg.evaluation.latent_classifier import fit_linear_softmax, posterior_features

    model = trained_vae(bars(64, vertical=True, seed=0), steps=5)
    images, labels = bars(64, vertical=True, seed=1), torch.arange(64) % 2
    with pytest.raises(VaeregError, match="'latent_class_energy' needs class labels"):
        evaluate(model, TensorSplit(images, None), ["latent_class_energy"],
                 train=TensorSplit(images, None))
    scores = evaluate(model, TensorSplit(images, None), ["latent_class_energy"],
                      train=TensorSplit(images, labels)).per_example["latent_class_energy"]
    with torch.no_grad():
        features = posterior_features(model.encode(images))
    torch.testing.assert_close(scores, fit_linear_softmax(features, labels).energy(features))


def test_the_nearest_distance_averages_the_k_nearest_reference_points():
    reference = torch.tensor([[0.0], [1.0], [3.0], [10.0]])
    scored = torch.tensor([[0.5], [9.0]])
    torch.testing.assert_close(nearest_distance(scored, reference, k=2),
                               torch.tensor([0.5, (1.0 + 6.0) / 2], dtype=torch.float64))
    torch.testing.assert_close(nearest_distance(scored, reference, k=9),  # all four
                               torch.tensor([(0.5 + 0.5 + 2.5 + 9.5) / 4, (9 + 8 + 6 + 1) / 4],
                                            dtype=torch.float64))
    with pytest.raises(VaeregError, match="at least 1 training image"):
        nearest_distance(scored, reference[:0], k=2)


def test_the_nearest_distance_flags_images_the_encoder_maps_inside_the_training_cloud():
    """A VAE trained on vertical bars puts horizontal ones among the vertical ones' means,
    near their centre: the Mahalanobis distance (one Gaussian) calls them central, below
    every normal; the nearest training means are still far from them."""
    model = trained_vae(bars(256, vertical=True, seed=0))
    train = TensorSplit(bars(256, vertical=True, seed=0), None)
    test = TensorSplit(torch.cat([bars(64, vertical=True, seed=1),
                                  bars(64, vertical=False, seed=2)]), None)
    labels = torch.cat([torch.zeros(64), torch.ones(64)])
    for metric in ("latent_mahalanobis", "latent_knn"):
        with pytest.raises(VaeregError, match=f"'{metric}' needs the training split"):
            evaluate(model, test, [metric])
    scores = evaluate(model, test, ["latent_mahalanobis", "latent_knn"], train=train).per_example
    for values in scores.values():
        assert values.shape == (128,) and torch.isfinite(values).all()
    assert anomaly_metrics(scores["latent_knn"], labels)["auroc"] > 0.9
    assert anomaly_metrics(scores["latent_mahalanobis"], labels)["auroc"] < 0.5


def test_the_training_gaussian_is_fitted_without_an_autograd_graph(monkeypatch):
    """With a graph, the fitted Gaussian would keep the encoder's activations of every
    training batch alive at once: memory that grows with the training split."""
    from vaereg.evaluation import latent_score_metrics

    fitted = []

    def recording(means):
        fitted.append(fit_latent_gaussian(means))
        return fitted[-1]

    monkeypatch.setattr(latent_score_metrics, "fit_latent_gaussian", recording)
    model = trained_vae(bars(64, vertical=True, seed=0), steps=5)
    split = TensorSplit(bars(64, vertical=True, seed=1), None)
    evaluate(model, split, ["latent_mahalanobis"], train=split)
    assert len(fitted) == 1
    assert not fitted[0].center.requires_grad and not fitted[0].precision.requires_grad


def test_combined_latent_is_the_maximum_of_combined_and_the_standardized_knn_distance():
    """Standardized on the validation split: `combined` (the same ELBO draws) or the
    nearest-neighbour distance in validation standard deviations, whichever is larger."""
    model = trained_vae(bars(256, vertical=True, seed=0), steps=100)
    splits = {"train": TensorSplit(bars(256, vertical=True, seed=0), None),
              "val": TensorSplit(bars(48, vertical=True, seed=3), None)}
    test = TensorSplit(torch.cat([bars(32, vertical=True, seed=1),
                                  bars(32, vertical=False, seed=2)]), None)
    with pytest.raises(VaeregError, match="'combined_latent' needs the validation split"):
        evaluate(model, test, ["combined_latent"], train=splits["train"])
    with pytest.raises(VaeregError, match="'combined_latent' needs the training split"):
        evaluate(model, test, ["combined_latent"], val=splits["val"])
    scores = evaluate(model, test, ["combined_latent", "combined", "latent_knn"], **splits).per_example
    knn_val = evaluate(model, splits["val"], ["latent_knn"], train=splits["train"]).per_example
    expected = torch.maximum(scores["combined"],
                             standardized(scores["latent_knn"], knn_val["latent_knn"]))
    torch.testing.assert_close(scores["combined_latent"], expected)
    assert torch.isfinite(scores["combined_latent"]).all()
    assert (scores["combined_latent"] > scores["combined"]).any()  # the distance decided some


class NoPosterior(nn.Module):
    capabilities = frozenset()
    loss_terms = ("loss",)


def test_the_anomaly_protocols_skip_latent_scores_for_a_model_without_a_posterior():
    _, skipped = metric_list(None, None, anomaly=True, model=NoPosterior(), model_name="plain")
    for name in ("latent_mahalanobis", "latent_knn", "mean_mse_latent_knn"):
        assert skipped[name].startswith(f"metric '{name}' needs a posterior q(z|x)")
    for name in ("feature_knn", "feature_cosine_knn", "feature_class_energy",
                 "mean_mse_feature_knn_class_energy"):
        assert skipped[name].startswith(f"metric '{name}' needs encoder features")
    assert skipped["combined_latent"].startswith("metric 'combined_latent' needs an ELBO")


def test_the_anomaly_protocols_skip_the_class_scores_where_training_has_no_two_classes():
    model = trained_vae(bars(64, vertical=True, seed=0), steps=5)
    images = bars(64, vertical=True, seed=1)
    class_scores = ("latent_class_mahalanobis", "latent_class_energy", "feature_class_energy",
                    "mean_mse_feature_knn_class_energy")
    for labels, found in ((None, "no labels"), (torch.zeros(64, dtype=torch.long), "1 class")):
        chosen, skipped = metric_list(None, None, anomaly=True, model=model,
                                      train=TensorSplit(images, labels))
        for name in class_scores:
            assert skipped[name] == (f"metric '{name}' needs class labels of at least 2 "
                                     f"classes on the training split, and this run's has {found}")
        assert not {"latent_knn", "feature_knn", "feature_cosine_knn",
                    "mean_elbo_complexity_feature_knn",
                    "mean_elbo_latent_knn_feature_cosine_knn",
                    "mean_mse_feature_knn_feature_cosine_knn"} & set(skipped)
        with pytest.raises(VaeregError, match="'latent_class_energy' needs class labels"):
            metric_list(["latent_class_energy"], None, model=model, train=TensorSplit(images, labels))
    chosen, skipped = metric_list(None, None, anomaly=True, model=model,
                                  train=TensorSplit(images, torch.arange(64) % 2))
    assert not set(class_scores) & set(skipped)
    assert {"LatentClassMahalanobis", "LatentClassEnergy", "FeatureClassEnergy"} <= {
        type(m).__name__ for m in chosen}


class EveryPart(StandardizedCombination):
    """Every part a combination can hold; keeps what it combined."""
    name = "every_part"
    parts = ("neg_elbo", "complexity_corrected", "mse", "latent_knn", "latent_mahalanobis",
             "latent_class_mahalanobis", "latent_class_energy", "feature_knn",
             "feature_cosine_knn", "feature_class_energy")
    seen: dict = {}

    @staticmethod
    def combine(scores, reference):
        EveryPart.seen.update(scores=scores, reference=reference)
        return mean_of_standardized(scores, reference)


def test_a_combination_scores_each_part_as_its_own_metric_does():
    """The parts a combination standardizes are the registered metrics' scores (the split's
    ELBO drawn first, as the elbo metric draws it; the validation split's after it), and
    the mean combination averages them in validation standard deviations."""
    model = trained_vae(bars(256, vertical=True, seed=0), steps=100)
    splits = {"train": TensorSplit(bars(256, vertical=True, seed=0), torch.arange(256) % 3),
              "val": TensorSplit(bars(48, vertical=True, seed=3), None)}
    test = TensorSplit(torch.cat([bars(32, vertical=True, seed=1),
                                  bars(32, vertical=False, seed=2)]), None)
    own = ["elbo", "complexity", "reconstruction", "latent_knn", "latent_mahalanobis",
           "latent_class_mahalanobis", "latent_class_energy", "feature_knn",
           "feature_cosine_knn", "feature_class_energy"]
    scores = evaluate(model, test, own, **splits).per_example
    reference = evaluate(model, splits["val"], own, **splits).per_example
    combination = evaluate(model, test, [EveryPart(None)], **splits).per_example["every_part"]
    seen = EveryPart.seen
    for part in EveryPart.parts:
        torch.testing.assert_close(seen["scores"][part].double(), scores[part].double())
    for part in EveryPart.parts[2:]:  # no draws
        torch.testing.assert_close(seen["reference"][part].double(), reference[part].double())
    expected = sum((seen["scores"][part].double() - seen["reference"][part].double().mean())
                   / seen["reference"][part].double().std() for part in EveryPart.parts)
    expected /= len(EveryPart.parts)
    torch.testing.assert_close(combination, expected)
    assert anomaly_metrics(combination, torch.arange(64) >= 32)["auroc"] > 0.9


def test_the_headline_is_the_mean_of_the_standardized_error_and_knn_distance():
    model = trained_vae(bars(256, vertical=True, seed=0), steps=100)
    splits = {"train": TensorSplit(bars(256, vertical=True, seed=0), None),
              "val": TensorSplit(bars(48, vertical=True, seed=3), None)}
    test = TensorSplit(torch.cat([bars(32, vertical=True, seed=1),
                                  bars(32, vertical=False, seed=2)]), None)
    own = ["reconstruction", "latent_knn"]
    scores = evaluate(model, test, own + ["mean_mse_latent_knn"], **splits).per_example
    reference = evaluate(model, splits["val"], own, **splits).per_example
    expected = (standardized(scores["mse"], reference["mse"])
                + standardized(scores["latent_knn"], reference["latent_knn"])) / 2
    torch.testing.assert_close(scores["mean_mse_latent_knn"], expected)
    assert anomaly_metrics(scores["mean_mse_latent_knn"], torch.arange(64) >= 32)["auroc"] > 0.9


@pytest.mark.parametrize("name, parts", [
    ("mean_mse_latent_knn_class_energy", ("mse", "latent_knn", "latent_class_energy")),
    ("mean_mse_feature_knn_class_energy", ("mse", "feature_knn", "feature_class_energy"))])
def test_the_class_energy_combinations_are_the_mean_of_their_standardized_parts(name, parts):
    model = trained_vae(bars(256, vertical=True, seed=0), steps=100)
    splits = {"train": TensorSplit(bars(256, vertical=True, seed=0), torch.arange(256) % 2),
              "val": TensorSplit(bars(48, vertical=True, seed=3), None)}
    test = TensorSplit(torch.cat([bars(32, vertical=True, seed=1),
                                  bars(32, vertical=False, seed=2)]), None)
    own = ["reconstruction", *parts[1:]]
    scores = evaluate(model, test, own + [name], **splits).per_example
    reference = evaluate(model, splits["val"], own, **splits).per_example
    expected = sum(standardized(scores[part], reference[part]) for part in parts) / 3
    torch.testing.assert_close(scores[name], expected)


def test_the_headline_needs_labels_and_falls_back_to_the_unlabelled_one_without_them():
    """The unlabelled headline is the mean of the standardized reconstruction error and
    euclidean and cosine feature distances (how a combination scores its parts: the test
    above with every part)."""
    from vaereg.evaluation.anomaly_score_metrics import MeanMseFeatureKnnFeatureCosineKnn
    from vaereg.evaluation.run_evaluation import headline_score

    model = trained_vae(bars(256, vertical=True, seed=0), steps=100)
    splits = {"train": TensorSplit(bars(256, vertical=True, seed=0), None),
              "val": TensorSplit(bars(48, vertical=True, seed=3), None)}
    test = TensorSplit(torch.cat([bars(32, vertical=True, seed=1),
                                  bars(32, vertical=False, seed=2)]), None)
    headline, unlabelled = ("mean_mse_feature_knn_class_energy",
                            "mean_mse_feature_knn_feature_cosine_knn")
    chosen, skipped = metric_list(None, None, anomaly=True, model=model, train=splits["train"])
    assert headline in skipped and unlabelled not in skipped
    assert MeanMseFeatureKnnFeatureCosineKnn.parts == ("mse", "feature_knn",
                                                        "feature_cosine_knn")
    assert MeanMseFeatureKnnFeatureCosineKnn.combine is mean_of_standardized
    combined = evaluate(model, test, [unlabelled], **splits).per_example[unlabelled]
    assert anomaly_metrics(combined, torch.arange(64) >= 32)["auroc"] > 0.9
    assert headline_score({headline: 1, unlabelled: 1, "neg_elbo": 1}) == headline
    assert headline_score({unlabelled: 1, "mean_mse_latent_knn": 1}) == unlabelled
    assert headline_score({"mean_mse_latent_knn": 1, "neg_elbo": 1}) == "neg_elbo"


def test_the_encoder_features_are_what_the_latent_heads_read():
    model = trained_vae(bars(64, vertical=True, seed=0), steps=5)
    images = bars(16, vertical=True, seed=1)
    with torch.no_grad():
        features = model.features(images)
        assert features.shape == (16, 32)  # hidden_dims = (32,)
        direct = model.posterior(model.encoder(images))
        torch.testing.assert_close(model.encode(images).mean, model.posterior(features).mean)
        torch.testing.assert_close(direct.mean, model.posterior(features).mean)


def test_the_feature_scores_are_their_fits_on_the_training_features():
    """feature_knn: the mean distance to the 5 nearest training feature rows;
    feature_class_energy: the free energy of the classifier fitted on the training
    features and labels; both refuse what they lack."""
    from vaereg.evaluation.latent_classifier import fit_linear_softmax

    model = trained_vae(bars(64, vertical=True, seed=0), steps=5)
    train_images, labels = bars(64, vertical=True, seed=0), torch.arange(64) % 2
    test = TensorSplit(torch.cat([bars(16, vertical=True, seed=1),
                                  bars(16, vertical=False, seed=2)]), None)
    with pytest.raises(VaeregError, match="'feature_knn' needs the training split"):
        evaluate(model, test, ["feature_knn"])
    with pytest.raises(VaeregError, match="'feature_class_energy' needs class labels"):
        evaluate(model, test, ["feature_class_energy"], train=TensorSplit(train_images, None))
    scores = evaluate(model, test, ["feature_knn", "feature_class_energy"],
                      train=TensorSplit(train_images, labels)).per_example
    with torch.no_grad():
        reference, scored = model.features(train_images), model.features(test.x)
    torch.testing.assert_close(scores["feature_knn"], nearest_distance(scored, reference, 5))
    torch.testing.assert_close(scores["feature_class_energy"],
                               fit_linear_softmax(reference, labels).energy(scored))


class IdentityFeatures(nn.Module):
    """A model whose encoder features are the pixels themselves: known geometry."""

    capabilities = frozenset({"encoder_features"})
    loss_terms = ()
    likelihood_name = "gaussian"

    def features(self, x, y=None):
        return x.flatten(1)


def test_the_cosine_feature_distance_reads_the_direction_of_the_features_not_their_norm():
    """feature_cosine_knn is the 5-neighbour distance on unit-length features: an image
    whose features point along a training image's is at distance 0 whatever their norm,
    where the Euclidean feature_knn grows with the norm; one at right angles to every
    training image's is at sqrt(2)."""
    directions = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    train = TensorSplit((directions.repeat(5, 1) * torch.arange(1.0, 11.0)[:, None]), None)
    test = TensorSplit(torch.tensor([[30.0, 0.0, 0.0], [0.0, 0.5, 0.0], [0.0, 0.0, 2.0]]), None)
    scores = evaluate(IdentityFeatures(), test, ["feature_knn", "feature_cosine_knn"],
                      train=train).per_example
    torch.testing.assert_close(scores["feature_cosine_knn"],
                               torch.tensor([0.0, 0.0, 2 ** 0.5], dtype=torch.float64))
    assert scores["feature_knn"][0] > 20 and scores["feature_knn"][1] > 1
    with pytest.raises(VaeregError, match="'feature_cosine_knn' needs the training split"):
        evaluate(IdentityFeatures(), test, ["feature_cosine_knn"])


@pytest.mark.parametrize("score", ["feature_knn", "feature_cosine_knn"])
def test_the_feature_distance_flags_images_the_encoder_features_set_apart(score):
    """Horizontal bars, never trained on, lie away from every vertical bar's features."""
    model = trained_vae(bars(256, vertical=True, seed=0))
    train = TensorSplit(bars(256, vertical=True, seed=0), None)
    test = TensorSplit(torch.cat([bars(64, vertical=True, seed=1),
                                  bars(64, vertical=False, seed=2)]), None)
    scores = evaluate(model, test, [score], train=train).per_example[score]
    assert anomaly_metrics(scores, torch.arange(128) >= 64)["auroc"] > 0.9


def test_each_training_fit_is_done_once_per_evaluation_and_changes_no_score(monkeypatch):
    """The feature distance serves its metric and the two combinations that hold it from
    one fit; each score is what it is when evaluated alone."""
    from vaereg.evaluation import latent_score_metrics

    model = trained_vae(bars(64, vertical=True, seed=0), steps=5)
    splits = {"train": TensorSplit(bars(64, vertical=True, seed=0), torch.arange(64) % 2),
              "val": TensorSplit(bars(24, vertical=True, seed=3), None)}
    test = TensorSplit(torch.cat([bars(16, vertical=True, seed=1),
                                  bars(16, vertical=False, seed=2)]), None)
    fits = []
    original = latent_score_metrics.LATENT_FITS["feature_knn"]

    def counted(train):
        fits.append(train.split)
        return original(train)

    monkeypatch.setitem(latent_score_metrics.LATENT_FITS, "feature_knn", counted)
    names = ["feature_knn", "mean_mse_feature_knn_class_energy",
             "mean_elbo_complexity_feature_knn"]
    together = evaluate(model, test, names, **splits).per_example
    assert len(fits) == 1 and fits[0] is splits["train"]
    for name in names:
        alone = evaluate(model, test, [name], **splits).per_example[name]
        torch.testing.assert_close(together[name], alone)
    assert len(fits) == 4  # one per evaluate call
