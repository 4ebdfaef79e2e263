"""The importance-weighted bound against the exact marginal of factor analysis, and
against the formula computed by hand for a Bernoulli MLP VAE."""
import math

import torch
from torch.distributions import Normal
from torch.nn import functional as F

from contract_models import LinearGaussianVAE
from vaereg.evaluation import iwae_nll
from vaereg.evaluation.iwae import IMAGES_PER_PASS, log_weights, samples_per_pass
from vaereg.models.vanilla import VanillaOptions, VanillaVAE


def data(model, n=64, seed=1):
    generator = torch.Generator().manual_seed(seed)
    z = torch.randn(n, model.latent_dim, generator=generator)
    x = model.decode(z) + model.likelihood.sigma * torch.randn(n, *model.image_shape,
                                                                generator=generator)
    return x.detach()


def wrong_posterior_model():
    """A model whose encoder is the true posterior, shifted and widened."""
    model = LinearGaussianVAE((1, 2, 3), latent_dim=2).exact_posterior()
    with torch.no_grad():
        model.encoder_mean.bias.add_(0.3)
        model.encoder_std.mul_(1.6)
    return model


def test_exact_posterior_gives_the_exact_marginal_for_any_k():
    torch.manual_seed(0)
    model = LinearGaussianVAE((1, 2, 3), latent_dim=2).exact_posterior()
    x = data(model)
    for k, chunk in ((1, 50), (7, 3)):  # 3 + 3 + 1 draws: a short last chunk counts right
        torch.testing.assert_close(iwae_nll(model, x, k=k, chunk=chunk),
                                   -model.log_marginal(x), rtol=0, atol=1e-4)


def test_converges_to_the_exact_marginal_as_k_grows():
    torch.manual_seed(0)
    model = wrong_posterior_model()
    x = data(model)
    exact = -model.log_marginal(x)
    gaps = [(iwae_nll(model, x, k=k, chunk=97) - exact).mean().item() for k in (1, 10, 100, 3000)]
    assert gaps[0] > 0.2, gaps  # the wrong posterior leaves a real gap at K = 1
    assert all(later < earlier + 0.02 for earlier, later in zip(gaps, gaps[1:])), gaps
    assert abs(gaps[-1]) < 0.01, gaps


def test_k1_is_the_elbo_estimator_and_never_above_the_negative_elbo():
    torch.manual_seed(0)
    model = wrong_posterior_model()
    x = data(model, n=16)
    posterior = model.encode(x)
    recon = model.likelihood.nll(model.decode(posterior.mean), x)  # Gaussian: E_q in closed form
    trace = (model.weight.detach().T @ model.weight.detach()).diagonal() @ posterior.variance.T
    expected_recon = recon + 0.5 * trace / model.likelihood.sigma ** 2
    neg_elbo = expected_recon + torch.distributions.kl_divergence(posterior, model.prior())
    torch.manual_seed(1)
    one_draw = iwae_nll(model, x, k=1)
    torch.manual_seed(1)
    torch.testing.assert_close(one_draw, -log_weights(model, x, None, 1)[0])  # K = 1: -log w
    k1_mean = -log_weights(model, x, None, 4000).mean(0)  # E[-L_1] over 4000 draws
    torch.testing.assert_close(k1_mean, neg_elbo, rtol=0, atol=0.1)
    assert (iwae_nll(model, x, k=500) < neg_elbo).all()


def bernoulli_iwae_by_hand(model, x, draws):
    """-L_K(x) in float64 from PyTorch's per-pixel BCE and Normal densities, z drawn as
    ``draws`` successive samples of q(z|x) (the sizes of iwae_nll's decoder passes)."""
    posterior = model.encode(x)
    mu, sigma = posterior.mean.double(), posterior.stddev.double()
    z = torch.cat([posterior.sample((n,)) for n in draws]).double()
    logits = model.decode(z.flatten(0, 1).float()).double().view(len(z), *x.shape)
    log_px = -F.binary_cross_entropy_with_logits(logits, x.double().expand_as(logits),
                                                 reduction="none").flatten(2).sum(2)
    log_pz = Normal(0.0, 1.0).log_prob(z).sum(2)
    log_q = Normal(mu, sigma).log_prob(z).sum(2)
    return math.log(len(z)) - torch.logsumexp(log_px + log_pz - log_q, dim=0)


def test_bernoulli_bound_equals_the_formula_computed_by_hand():
    """The fast path (encoder once, cache-sized passes, the grouped Bernoulli sum) gives
    the bound of the formula for the same draws, by default and with a given chunk."""
    torch.manual_seed(0)
    model = VanillaVAE(VanillaOptions(hidden_dims=(32, 16), latent_dim=4), (1, 28, 28)).eval()
    x = torch.rand(16, 1, 28, 28)  # grey pixels: BCE is not the 0/1 special case
    per_pass = samples_per_pass(x)
    assert per_pass == IMAGES_PER_PASS["cpu"] // 16
    for k, chunk, draws in ((150, 0, (per_pass, per_pass, 150 - 2 * per_pass)),
                            (7, 3, (3, 3, 1))):
        torch.manual_seed(1)
        fast = iwae_nll(model, x, k=k, chunk=chunk)
        torch.manual_seed(1)
        with torch.no_grad():
            expected = bernoulli_iwae_by_hand(model, x, draws)
        torch.testing.assert_close(fast.double(), expected, rtol=0, atol=2e-3)
