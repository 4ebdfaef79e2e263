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
from vaereg.evaluation.latent_distance import RIDGE, fit_latent_gaussian, nearest_distance
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
    assert skipped["combined_latent"].startswith("metric 'combined_latent' needs an ELBO")


class EveryPart(StandardizedCombination):
    """Every part a combination can hold; keeps what it combined."""
    name = "every_part"
    parts = ("neg_elbo", "complexity_corrected", "mse", "latent_knn", "latent_mahalanobis")
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
    splits = {"train": TensorSplit(bars(256, vertical=True, seed=0), None),
              "val": TensorSplit(bars(48, vertical=True, seed=3), None)}
    test = TensorSplit(torch.cat([bars(32, vertical=True, seed=1),
                                  bars(32, vertical=False, seed=2)]), None)
    own = ["elbo", "complexity", "reconstruction", "latent_knn", "latent_mahalanobis"]
    scores = evaluate(model, test, own, **splits).per_example
    reference = evaluate(model, splits["val"], own, **splits).per_example
    combination = evaluate(model, test, [EveryPart(None)], **splits).per_example["every_part"]
    seen = EveryPart.seen
    for part in EveryPart.parts:
        torch.testing.assert_close(seen["scores"][part].double(), scores[part].double())
    for part in ("mse", "latent_knn", "latent_mahalanobis"):  # no draws
        torch.testing.assert_close(seen["reference"][part].double(), reference[part].double())
    expected = sum((seen["scores"][part].double() - seen["reference"][part].double().mean())
                   / seen["reference"][part].double().std() for part in EveryPart.parts) / 5
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
