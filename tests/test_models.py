"""The vanilla VAE's loss terms are the textbook quantities, in nats per image."""
import math

import torch
from torch.distributions import Normal, kl_divergence
from torch.nn import functional as F

from vaereg.models.vanilla import VanillaOptions, VanillaVAE


def model(**options):
    torch.manual_seed(0)
    return VanillaVAE(VanillaOptions(**options), (1, 28, 28))


def test_bernoulli_terms_match_closed_forms():
    vae = model(hidden_dims=(32,), latent_dim=4)
    x = torch.rand(5, 1, 28, 28)
    outputs = vae(x)
    terms = vae.loss(outputs, x)
    recon = F.binary_cross_entropy_with_logits(outputs["output"], x, reduction="sum") / 5
    q = Normal(outputs["mu"], torch.exp(0.5 * outputs["logvar"]))
    kl = kl_divergence(q, Normal(0.0, 1.0)).sum(1).mean()
    assert torch.allclose(terms["recon"], recon)
    assert torch.allclose(terms["kl"], kl, atol=1e-5)
    assert torch.allclose(terms["neg_elbo"], recon + kl)
    assert torch.allclose(terms["loss"], terms["neg_elbo"])
    assert terms["kl_per_dim"].shape == (4,)
    assert torch.allclose(terms["kl_per_dim"].sum(), kl, atol=1e-5)


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
