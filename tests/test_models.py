"""The vanilla VAE's loss terms are the textbook quantities, in nats per image."""
import math

import torch
from torch.distributions import Normal, kl_divergence
from torch.nn import functional as F

from vaereg import Objective
from vaereg.models.vanilla import VanillaOptions, VanillaVAE


def model(**options):
    torch.manual_seed(0)
    return VanillaVAE(VanillaOptions(**options), (1, 28, 28))


def test_bernoulli_terms_are_per_example_closed_forms_and_the_loss_is_the_neg_elbo():
    vae = model(hidden_dims=(32,), latent_dim=4)
    x = torch.rand(5, 1, 28, 28)
    outputs = vae(x)
    terms = vae.loss(outputs, x)
    recon = F.binary_cross_entropy_with_logits(outputs["output"], x,
                                               reduction="none").flatten(1).sum(1)
    posterior = outputs["posterior"]
    kl = kl_divergence(posterior.base_dist, Normal(0.0, 1.0))
    assert terms["recon"].shape == (5,) and terms["kl"].shape == (5, 4)
    assert torch.allclose(terms["recon"], recon)
    assert torch.allclose(terms["kl"], kl, atol=1e-5)
    objective = Objective.from_model(vae, outputs, x)
    assert torch.allclose(objective.neg_elbo(), recon + kl.sum(1), atol=1e-4)
    assert torch.allclose(objective.loss(), (recon + kl.sum(1)).mean(), atol=1e-4)


def test_the_posterior_is_a_distribution_whose_mean_reconstructs():
    vae = model(hidden_dims=(32,), latent_dim=4)
    x = torch.rand(3, 1, 28, 28)
    posterior = vae.encode(x)
    assert posterior.event_shape == (4,) and posterior.batch_shape == (3,)
    expected = vae.likelihood.mean(vae.decode(posterior.mean))
    assert torch.equal(vae.reconstruct(x), expected)
    assert vae.prior().event_shape == (4,)


def test_gaussian_likelihood_is_a_normal_log_density():
    vae = model(hidden_dims=(32,), latent_dim=4, likelihood="gaussian")
    with torch.no_grad():
        vae.likelihood.log_scale.fill_(math.log(0.3))
    x = torch.rand(3, 1, 28, 28)
    out = torch.randn(3, 1, 28, 28)
    expected = -Normal(torch.sigmoid(out), 0.3).log_prob(x).flatten(1).sum(1)
    assert torch.allclose(vae.likelihood.nll(out, x), expected, rtol=1e-5)


def test_shapes_and_api_for_both_backbones():
    for backbone in ("mlp", "conv"):
        vae = model(backbone=backbone)
        x = torch.rand(4, 1, 28, 28)
        assert vae(x)["output"].shape == x.shape
        assert vae.sample(6).shape == (6, 1, 28, 28)
        rec = vae.reconstruct(x)
        assert rec.shape == x.shape and rec.min() >= 0 and rec.max() <= 1
        assert len(vae.hidden_blocks()) == 4


def test_conv_backbone_rejects_sizes_it_cannot_halve():
    import pytest
    with pytest.raises(ValueError, match="multiples of 8"):
        VanillaVAE(VanillaOptions(backbone="conv", hidden_dims=(8, 8, 8)), (1, 28, 28))
