"""The models' loss terms are the textbook quantities, in nats per image, and every
model keeps the uniform API and survives train -> checkpoint -> resume."""
import math

import pytest
import torch
from torch.distributions import Normal, kl_divergence
from torch.nn import functional as F

from vaereg import MODELS
from vaereg.models.vanilla import VanillaOptions, VanillaVAE
from vaereg.testing import check_conformance, tiny_recipe

#: every built-in model with a tiny setting (and WAE's second encoder)
MODEL_TABLES = {
    "vanilla": {"name": "vanilla"},
    "infovae": {"name": "infovae", "alpha": 0.5, "lam": 10.0},
    "wae_mmd": {"name": "wae_mmd", "lam": 10.0},
    "wae_mmd_gaussian": {"name": "wae_mmd", "lam": 10.0, "deterministic": False},
    "cvae": {"name": "cvae"},
}


def model(**options):
    torch.manual_seed(0)
    return VanillaVAE(VanillaOptions(**options), (1, 28, 28))


def test_bernoulli_terms_match_closed_forms_per_example():
    vae = model(hidden_dims=(32,), latent_dim=4)
    x = torch.rand(5, 1, 28, 28)
    outputs = vae(x)
    terms = vae.loss(outputs, x)
    recon = F.binary_cross_entropy_with_logits(outputs["output"], x, reduction="none")
    q = outputs["posterior"].base_dist
    kl = kl_divergence(Normal(q.loc, q.scale), Normal(0.0, 1.0))
    assert terms["recon"].shape == (5,) and terms["kl"].shape == (5, 4)
    assert torch.allclose(terms["recon"], recon.flatten(1).sum(1))
    assert torch.allclose(terms["kl"], kl, atol=1e-6)
    assert vae.elbo_terms == ("recon", "kl") and vae.term_weights == {"recon": 1.0, "kl": 1.0}


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 8, 8), (1, 2, 5), (3, 64, 64)])
def test_bernoulli_nll_without_grad_matches_float64_bce(shape):
    """Evaluation's one logarithm per 64 pixels: within 1e-4 nats per image (and float32's
    rounding of the sum) of float64 BCE, for confident and uncertain logits, binary and grey targets, any pixel count
    (groups of 64 and a remainder); training keeps PyTorch's differentiable BCE."""
    from vaereg.models.likelihoods import Bernoulli

    torch.manual_seed(0)
    logits = torch.randn(6, *shape) * torch.tensor([0.1, 1.0, 8.0, 30.0, 80.0, 3.0]).view(6, 1, 1, 1)
    target = torch.cat([torch.bernoulli(torch.rand(3, *shape)), torch.rand(3, *shape)])
    exact = F.binary_cross_entropy_with_logits(logits.double(), target.double(),
                                               reduction="none").flatten(1).sum(1)
    with torch.no_grad():
        fast = Bernoulli().nll(logits, target)
    assert fast.dtype == torch.float32
    torch.testing.assert_close(fast.double(), exact, rtol=1e-6, atol=1e-4)  # float32 sums
    logits.requires_grad_(True)
    trained = Bernoulli().nll(logits, target)
    trained.sum().backward()
    torch.testing.assert_close(logits.grad, torch.sigmoid(logits.detach()) - target)
    with torch.no_grad():
        assert Bernoulli().nll(torch.full((1, *shape), float("nan")), target[:1]).isnan().all()


def test_gaussian_likelihood_is_a_normal_log_density():
    vae = model(hidden_dims=(32,), latent_dim=4, likelihood="gaussian")
    with torch.no_grad():
        vae.likelihood.log_scale.fill_(math.log(0.3))
    x = torch.rand(3, 1, 28, 28)
    out = torch.randn(3, 1, 28, 28)
    expected = -Normal(torch.sigmoid(out), 0.3).log_prob(x).flatten(1).sum(1)
    assert torch.allclose(vae.likelihood.nll(out, x), expected, rtol=1e-5)


@pytest.mark.parametrize("name", sorted(MODEL_TABLES))
def test_uniform_api(name):
    table = dict(MODEL_TABLES[name])
    cls = MODELS.load(table.pop("name"))
    torch.manual_seed(0)
    vae = cls(cls.Options(hidden_dims=(32, 16), latent_dim=4, **table), (1, 28, 28), 10)
    x, y = torch.rand(4, 1, 28, 28), torch.arange(4)
    outputs = vae(x, y)
    assert outputs["output"].shape == x.shape and outputs["z"].shape == (4, 4)
    assert outputs["posterior"].mean.shape == (4, 4)
    terms = vae.loss(outputs, x)
    assert set(vae.term_weights) == set(terms) and set(vae.elbo_terms) <= set(terms)
    assert all(values.shape[0] == 4 for values in terms.values())
    assert vae.sample(6, y=3).shape == (6, 1, 28, 28)
    images = vae.reconstruct(x, y)
    assert images.shape == x.shape and images.min() >= 0 and images.max() <= 1
    assert len(vae.hidden_blocks()) == 4 and vae.latent_dim == 4
    assert vae.likelihood_name == "bernoulli" and vae.prior().sample().shape == (4,)
    owned = {n.split(".")[0] for n, _ in vae.named_parameters()} - {"likelihood"}
    assert owned == {m for part in vae.parts.values() for m in part if getattr(vae, m) is not None}


@pytest.mark.parametrize("name", sorted(MODEL_TABLES))
def test_conformance(tmp_path, name):
    table = dict(MODEL_TABLES[name], hidden_dims=[32, 16], latent_dim=4)
    metrics = check_conformance(tiny_recipe(model=table), tmp_path)
    assert math.isfinite(metrics["test/loss"])
    assert ("test/neg_elbo" in metrics) == (table["name"] != "wae_mmd")


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
@pytest.mark.parametrize("shape", [(1, 28, 28), (2, 4, 6, 5)])
def test_likelihood_per_element_values_sum_to_the_per_image_figure(likelihood, shape):
    """Per-element NLL keeps the data's shape (images and volumes) and each element is that
    pixel's own -log p(x_i|z): the anomaly maps' seam."""
    from vaereg.models.likelihoods import LIKELIHOODS

    torch.manual_seed(1)
    lik = LIKELIHOODS[likelihood]()
    out, x = torch.randn(3, *shape), torch.rand(3, *shape)
    elements = lik.nll_per_element(out, x)
    assert elements.shape == (3, *shape)
    mean = torch.sigmoid(out)
    if likelihood == "bernoulli":
        expected = -(x * mean.log() + (1 - x) * (1 - mean).log())
    else:
        expected = -Normal(mean, 1.0).log_prob(x)
    torch.testing.assert_close(elements, expected, rtol=1e-4, atol=1e-5)
    with torch.no_grad():
        torch.testing.assert_close(lik.nll(out, x), elements.flatten(1).sum(1),
                                   rtol=1e-5, atol=1e-3)
