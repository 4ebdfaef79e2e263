"""Likelihood regret, the likelihood ratio and the combined score: what each measures, on
factor analysis (exact posteriors and marginals) and on tiny VAEs trained here."""
import pytest
import torch

from contract_models import LinearGaussianVAE
from vaereg.core.common.errors import VaeregError
from vaereg.core.model.objective import per_example
from vaereg.data.tensor_split import TensorSplit
from vaereg.evaluation import anomaly_metrics, evaluate, make_metric
from vaereg.evaluation.likelihood_ratio import fit_background, mutate, reinitialized
from vaereg.evaluation.likelihood_regret import likelihood_regret, negative_elbo
from vaereg.evaluation.score_combination import max_of_standardized, standardized
from vaereg.models.vanilla import VanillaOptions, VanillaVAE


def factor_analysis_data(model, n=32, seed=1):
    generator = torch.Generator().manual_seed(seed)
    z = torch.randn(n, model.latent_dim, generator=generator)
    noise = model.likelihood.sigma * torch.randn(n, *model.image_shape, generator=generator)
    return (model.decode(z) + noise).detach()


def amortization_gap(model, x):
    """-ELBO(x; encoder's q) - (-log p(x)) = KL(q || p(z|x)), the ELBO a posterior fitted to
    x alone can gain; the expectation over z by 20,000 draws."""
    posterior = model.encode(x)
    eps = torch.randn(20_000, *posterior.mean.shape, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        neg_elbo = negative_elbo(model, x, None, posterior.mean, posterior.stddev.log(), eps)
    return neg_elbo + model.log_marginal(x)


def test_regret_is_the_amortization_gap_and_zero_for_the_exact_posterior():
    exact = LinearGaussianVAE((1, 2, 3), latent_dim=2).exact_posterior()
    wrong = LinearGaussianVAE((1, 2, 3), latent_dim=2).exact_posterior()
    with torch.no_grad():
        wrong.encoder_mean.bias.add_(0.5)
        wrong.encoder_std.mul_(1.8)
    x = factor_analysis_data(exact, n=8)
    generator = torch.Generator().manual_seed(0)
    options = dict(steps=100, lr=0.1, samples=2048)  # many draws: little noise to fit
    exact_regret = likelihood_regret(exact, x, generator=generator, **options)
    wrong_regret = likelihood_regret(wrong, x, generator=generator, **options)
    gap = amortization_gap(wrong, x)
    assert (exact_regret >= 0).all() and (wrong_regret >= 0).all()
    assert exact_regret.max() < 0.05, exact_regret  # only the draws' noise is fitted
    assert gap.min() > 2, gap
    torch.testing.assert_close(wrong_regret, gap, rtol=0.06, atol=0)


def bars(n, vertical, seed):
    """8x8 grey images of one bar (0.9 on 0.1) at a random column (or row), with noise."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.full((n, 1, 8, 8), 0.1)
    where = torch.randint(1, 7, (n,), generator=generator)
    for i, k in enumerate(where.tolist()):
        if vertical:
            images[i, 0, :, k] = 0.9
        else:
            images[i, 0, k, :] = 0.9
    return (images + 0.03 * torch.randn(images.shape, generator=generator)).clamp(0, 1)


def trained_vae(x, steps=400, seed=0):
    torch.manual_seed(seed)
    model = VanillaVAE(VanillaOptions(hidden_dims=(32,), latent_dim=2), (1, 8, 8))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(steps):
        outputs = model(x)
        loss = sum(per_example(value) for value in model.loss(outputs, x).values()).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


def test_regret_is_larger_for_images_unlike_the_training_ones():
    model = trained_vae(bars(256, vertical=True, seed=0))
    normal, unlike = bars(64, vertical=True, seed=1), bars(64, vertical=False, seed=2)
    generator = torch.Generator().manual_seed(0)
    regret = likelihood_regret(model, torch.cat([normal, unlike]), generator=generator)
    assert (regret >= 0).all()
    labels = torch.cat([torch.zeros(64), torch.ones(64)])
    assert anomaly_metrics(regret, labels)["auroc"] > 0.9


def cluttered(n, vertical, share, seed):
    """``bars`` with up to ``share`` of each image's pixels (a uniform draw per image)
    replaced by uniform noise: a background complexity unrelated to the bar."""
    generator = torch.Generator().manual_seed(seed + 100)
    x = bars(n, vertical, seed)
    shares = torch.rand(n, 1, 1, 1, generator=generator) * share
    replaced = torch.rand(x.shape, generator=generator) < shares
    return torch.where(replaced, torch.rand(x.shape, generator=generator), x)


def test_the_ratio_cancels_the_background_the_likelihood_ranks_by():
    """Trained on vertical bars in clutter, the negative ELBO mostly ranks images by their
    clutter, so clean horizontal bars look almost normal; the background model, trained
    on mutated training images, pays for the clutter alike, and the difference ranks by
    the bar."""
    train = cluttered(512, True, 0.5, seed=0)
    model = trained_vae(train, steps=600)
    x = torch.cat([cluttered(64, True, 0.5, seed=1), cluttered(64, False, 0.0, seed=2)])
    labels = torch.cat([torch.zeros(64), torch.ones(64)])
    split = TensorSplit(x, None)
    ratio_metric = make_metric("likelihood_ratio", {"epochs": 50, "lr": 3e-3})  # 8 steps a pass
    result = evaluate(model, split, ["elbo", ratio_metric], train=TensorSplit(train, None),
                      batch_size=64)
    neg_elbo, ratio = result.per_example["neg_elbo"], result.per_example["likelihood_ratio"]
    torch.testing.assert_close(ratio, neg_elbo - result.per_example["background_neg_elbo"])
    assert anomaly_metrics(neg_elbo, labels)["auroc"] < 0.7
    assert anomaly_metrics(ratio, labels)["auroc"] > 0.8


def test_the_background_model_is_a_fresh_copy_fitted_to_mutations():
    model = trained_vae(bars(64, vertical=True, seed=0), steps=50)
    model.zero_grad(set_to_none=True)
    x = bars(2000, vertical=True, seed=1)
    mutated = mutate(x, 0.2, torch.Generator().manual_seed(0))
    replaced = mutated != x
    assert 0.18 < replaced.float().mean() < 0.22
    assert ((mutated * 255).round() == mutated * 255).where(replaced, True).all()
    fresh = reinitialized(model, seed=3)
    assert not torch.equal(fresh.mu_head.weight, model.mu_head.weight)
    assert torch.equal(fresh.mu_head.weight, reinitialized(model, seed=3).mu_head.weight)
    background = fit_background(model, TensorSplit(x, None), rate=0.2, epochs=2, images=1000,
                                lr=3e-3, weight_decay=1e-4, batch_size=100,
                                generator=torch.Generator().manual_seed(0))
    assert not background.training and model.mu_head.weight.grad is None

    def neg_elbo(m):
        with torch.no_grad():
            outputs = m(mutated[:200])
            return sum(per_example(v) for v in m.loss(outputs, mutated[:200]).values())
    assert neg_elbo(background).mean() < neg_elbo(fresh.eval()).mean() - 5


def test_the_combination_flags_an_image_either_score_calls_extreme():
    """Anomalies of two kinds, each extreme in one score only: each score alone ranks
    half of them with the normals, their standardized maximum ranks all above."""
    generator = torch.Generator().manual_seed(0)
    normal = {"a": torch.randn(200, generator=generator) * 5 + 300,
              "b": torch.randn(200, generator=generator) * 100 - 40}
    reference = {"a": torch.randn(500, generator=generator) * 5 + 300,
                 "b": torch.randn(500, generator=generator) * 100 - 40}
    high_a = {"a": torch.full((50,), 340.0), "b": torch.full((50,), -40.0)}
    high_b = {"a": torch.full((50,), 300.0), "b": torch.full((50,), 760.0)}
    scores = {name: torch.cat([normal[name], high_a[name], high_b[name]]) for name in "ab"}
    labels = torch.cat([torch.zeros(200), torch.ones(100)])
    combined = max_of_standardized(scores, reference)
    assert anomaly_metrics(combined, labels)["auroc"] > 0.99
    for name in "ab":
        assert anomaly_metrics(scores[name], labels)["auroc"] < 0.8
    z = standardized(reference["a"], reference["a"])
    assert abs(z.mean()) < 1e-9 and abs(z.std() - 1) < 1e-9
    with pytest.raises(VaeregError, match="cannot standardize"):
        standardized(torch.ones(3), torch.ones(5))


def test_the_combined_metric_needs_validation_images():
    model = trained_vae(bars(64, vertical=True, seed=0), steps=1)
    split = TensorSplit(bars(16, vertical=True, seed=1), None)
    with pytest.raises(VaeregError, match="'combined' needs the validation split"):
        evaluate(model, split, ["combined"])
    result = evaluate(model, split, ["combined", "elbo"],
                      val=TensorSplit(bars(32, vertical=True, seed=2), None))
    assert result.per_example["combined"].shape == (16,)
