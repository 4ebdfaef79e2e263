"""The metric registry and evaluate(): names, merging, alignment, seeding, labelling.

On the device ``VAEREG_TEST_DEVICE`` names (the CPU by default), so a GPU check covers
the device paths (generators, index draws, chunked distances)."""
import os

import pytest
import torch
from torch.distributions import kl_divergence

from contract_models import LinearGaussianVAE
from vaereg import RecipeError, TensorSplit, VaeregError
from vaereg.evaluation import METRICS, evaluate, make_metric

BUILT_INS = {"elbo", "iwae", "active_units", "mutual_information", "reconstruction",
             "diversity", "memorization", "classifier_frechet", "complexity", "combined",
             "likelihood_regret", "likelihood_ratio", "latent_mahalanobis", "latent_knn",
             "latent_class_mahalanobis", "latent_class_energy", "combined_latent",
             "mean_mse_latent_knn", "mean_mse_latent_knn_class_energy", "feature_knn",
             "feature_cosine_knn",
             "feature_class_energy", "mean_mse_feature_knn_class_energy",
             "mean_elbo_complexity_feature_knn", "mean_elbo_latent_knn_feature_cosine_knn",
             "mean_mse_feature_knn_feature_cosine_knn"}
FAST = ["elbo", make_metric("iwae", {"k": 20}), "active_units", "mutual_information",
        "reconstruction", make_metric("diversity", {"samples": 30}),
        make_metric("memorization", {"samples": 30})]
SHAPE = (1, 12, 12)  # SSIM's 11x11 window needs at least this
DEVICE = torch.device(os.environ.get("VAEREG_TEST_DEVICE", "cpu"))


def model_and_splits(seed=0):
    torch.manual_seed(seed)
    model = LinearGaussianVAE(SHAPE, latent_dim=3, sigma=0.3).exact_posterior().to(DEVICE)
    x, y = torch.rand(40, *SHAPE, device=DEVICE), torch.arange(40, device=DEVICE) % 3
    return model, TensorSplit(x[:25], y[:25]), TensorSplit(x[25:], y[25:])


def test_built_ins_are_registered_by_entry_point():
    assert BUILT_INS <= set(METRICS.names())
    assert all(METRICS.entries()[name].distribution == "vaereg" for name in BUILT_INS)


def test_evaluate_merges_prefixed_figures_and_bare_per_example_scores():
    model, train, test = model_and_splits()
    result = evaluate(model, test, FAST, train=train, batch_size=4)
    assert {"test/neg_elbo", "test/recon", "test/kl", "test/iwae_nll", "test/active_units",
            "test/mutual_information", "test/mse", "test/psnr", "test/ssim", "test/diversity",
            "test/memorization/nearest_mean", "test/memorization/nearest_ratio"} <= set(result.summary)
    assert set(result.per_example) == {"neg_elbo", "recon", "kl", "iwae_nll", "mse", "psnr", "ssim"}
    assert all(v.shape == (len(test),) for v in result.per_example.values())
    assert result.summary["test/active_units"] == 3
    torch.testing.assert_close(torch.tensor(result.summary["test/iwae_nll"]),
                               result.per_example["iwae_nll"].double().mean().float())
    assert (result.likelihood, result.binarization, result.is_log_likelihood) == \
        ("gaussian", "none", True)


def test_per_example_scores_follow_the_split_order():
    model, _, test = model_and_splits()
    result = evaluate(model, test, ["elbo", "reconstruction"], batch_size=4, prefix="")
    expected_kl = kl_divergence(model.encode(test.x), model.prior()).detach()
    torch.testing.assert_close(result.per_example["kl"], expected_kl)  # kl [B, D] summed
    per = result.per_example
    torch.testing.assert_close(per["neg_elbo"], per["recon"] + per["kl"])
    expected_mse = (model.reconstruct(test.x) - test.x).pow(2).flatten(1).mean(1)
    torch.testing.assert_close(per["mse"], expected_mse)
    assert "neg_elbo" in result.summary  # no prefix


def test_each_metric_is_seeded_alone_and_leaves_global_state_alone():
    model, train, test = model_and_splits()
    model.train()
    state = torch.get_rng_state()
    one = evaluate(model, test, ["elbo", "iwae"], batch_size=8, seed=3)
    other = evaluate(model, test, ["iwae", make_metric("diversity", {"samples": 5}), "elbo"],
                     batch_size=8, seed=3)
    assert torch.equal(torch.get_rng_state(), state) and model.training
    for name in ("neg_elbo", "iwae_nll"):
        assert torch.equal(one.per_example[name], other.per_example[name])
    reseeded = evaluate(model, test, ["elbo"], batch_size=8, seed=4)
    assert not torch.equal(one.per_example["neg_elbo"], reseeded.per_example["neg_elbo"])


@pytest.mark.parametrize("binarize,pixels,expected", [
    (False, "grey", ("none", False)), (False, "binary", ("binary", True)),
    (True, "grey", ("dynamic", True))])
def test_bernoulli_figures_on_grey_pixels_are_not_log_likelihoods(binarize, pixels, expected):
    model, _, test = model_and_splits()
    model.likelihood_name = "bernoulli"  # only the label matters here
    x = test.x.round() if pixels == "binary" else test.x
    result = evaluate(model, TensorSplit(x, test.y, binarize=binarize), ["elbo"])
    assert (result.binarization, result.is_log_likelihood) == expected


def test_samples_that_copy_a_training_image():
    model, train, test = model_and_splits()
    with torch.no_grad():
        model.weight.zero_()  # every sample is the decoder bias ...
        model.bias.copy_(train.x[7].flatten())  # ... which is training image 7
    result = evaluate(model, test, FAST[-2:], train=train, prefix="")
    assert result.summary["diversity"] == 0
    assert result.summary["memorization/nearest_min"] == 0
    assert result.summary["memorization/nearest_ratio"] == 0


def test_classifier_frechet_trains_and_caches_its_classifier(tmp_path, monkeypatch):
    from vaereg.evaluation import feature_classifier

    model, train, test = model_and_splits()
    metric = make_metric("classifier_frechet", {"classifier": str(tmp_path / "c.pt"),
                                                "samples": 15, "epochs": 1})
    first = evaluate(model, test, [metric], train=train, prefix="")
    assert (tmp_path / "c.pt").exists()
    monkeypatch.setattr(feature_classifier, "train_feature_classifier",
                        lambda *args, **kwargs: pytest.fail("trained again despite the cache"))
    again = evaluate(model, test, [metric], train=train, prefix="")
    assert first.summary == again.summary and first.summary["classifier_frechet_distance"] > 0


def test_bad_names_options_and_missing_inputs_are_user_errors():
    with pytest.raises(VaeregError, match="did you mean 'iwae'"):
        make_metric("iwea")
    with pytest.raises(RecipeError, match="metrics.iwae.k"):
        make_metric("iwae", {"k": 0})
    with pytest.raises(RecipeError, match="metrics.classifier_frechet.classifier"):
        make_metric("classifier_frechet", {"classifier": ""})
    model, _, test = model_and_splits()
    with pytest.raises(VaeregError, match="needs the training split"):
        evaluate(model, test, ["memorization"])
    with pytest.raises(VaeregError, match="already reported"):
        evaluate(model, test, ["elbo", "elbo"])
