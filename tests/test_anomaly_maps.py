"""Anomaly maps of a model whose reconstruction is known, and the baseline maps."""
from __future__ import annotations

import attrs
import pytest
import torch
from torch.nn import functional as F
from torchvision.transforms import functional as TF

from vaereg.core.common.errors import VaeregError
from vaereg.data.tensor_split import TensorSplit
from vaereg.evaluation.anomaly_maps import MapOptions, check_model, model_maps, smooth
from vaereg.evaluation.baseline_maps import PixelGaussian, baseline_maps
from vaereg.models.vanilla import VanillaOptions, VanillaVAE
from vaereg.models.wae import WAE, WAEOptions

SHAPE = (2, 4, 4)


def fixed_reconstruction_vae(logits: torch.Tensor, likelihood: str = "bernoulli") -> VanillaVAE:
    """A VAE whose decoder outputs ``logits`` whatever z is, and whose posterior ignores
    x: E[x|z] = sigmoid(logits) for every image, and -ELBO(x) = NLL(x) + a constant."""
    model = VanillaVAE(VanillaOptions(hidden_dims=(8,), latent_dim=2, likelihood=likelihood),
                       SHAPE)
    last = model.decoder[-2]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.copy_(logits.reshape(-1))
        for head in (model.mu_head, model.logvar_head):
            head.weight.zero_()
    return model.eval()


def test_maps_of_a_known_reconstruction_are_its_residual_nll_and_gradient():
    torch.manual_seed(0)
    logits = torch.randn(SHAPE) * 2
    x = torch.rand(3, *SHAPE)
    maps = model_maps(fixed_reconstruction_vae(logits), x,
                      options=MapOptions(samples=3, restoration_steps=0))
    mean = torch.sigmoid(logits)
    nll = F.binary_cross_entropy_with_logits(logits.expand_as(x), x, reduction="none")
    assert torch.allclose(maps["residual"], (x - mean).abs().mean(1), atol=1e-6)
    assert torch.allclose(maps["nll"], nll.sum(1), atol=1e-5)
    # d BCE(l, x) / dx = -l, the encoder ignores x: the gradient is the logits
    assert torch.allclose(maps["gradient"], logits.abs().sum(0).expand(3, 4, 4), atol=1e-5)
    assert torch.allclose(maps["combi"], maps["residual"] * maps["gradient"])
    assert "restoration" not in maps


def bernoulli_deviance(x: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """x log(x/p) + (1-x) log((1-x)/(1-p)), 0 log 0 = 0: written out, not the library's."""
    def term(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.where(a > 0, a * torch.log(a / b), torch.zeros_like(a))
    return term(x, p) + term(1 - x, 1 - p)


def test_hyperintensity_is_the_intensity_times_the_pooled_deviance_of_brighter_pixels():
    torch.manual_seed(0)
    logits = torch.randn(SHAPE)
    x = torch.rand(3, *SHAPE)
    x[0, :, 0, 0] = 0.0  # 0 log 0 = 0
    mean = torch.sigmoid(logits)
    deviance = bernoulli_deviance(x, mean) * (x > mean)
    sigma = 1.0
    pooled = TF.gaussian_blur(deviance.mean(1, keepdim=True), [7, 7], [sigma, sigma])
    expected = x.mean(1) * pooled.squeeze(1)
    for options in (MapOptions(samples=2, restoration_steps=0, hyperintensity_sigma=sigma),
                    MapOptions(posterior_mean=True, restoration_steps=0,
                               hyperintensity_sigma=sigma)):
        maps = model_maps(fixed_reconstruction_vae(logits), x, options=options)
        assert torch.allclose(maps["hyperintensity"], expected, atol=1e-5)


def test_hyperintensity_finds_a_brighter_patch_and_ignores_darker_pixels():
    logits = torch.full(SHAPE, -1.0)  # the model expects sigmoid(-1) = 0.27 everywhere
    mean = torch.sigmoid(logits)
    darker = (mean - 0.2).expand(1, *SHAPE).clone()
    model = fixed_reconstruction_vae(logits)
    options = MapOptions(samples=1, restoration_steps=0)
    assert torch.equal(model_maps(model, darker, options=options)["hyperintensity"],
                       torch.zeros(1, 4, 4))
    patched = darker.clone()
    patched[0, :, :2, :2] = 0.9
    hyper = model_maps(model, patched, options=options)["hyperintensity"][0]
    assert float(hyper[:2, :2].min()) > float(hyper[2:, 2:].max())
    unpooled = model_maps(model, patched, options=attrs.evolve(options,
                                                               hyperintensity_sigma=0.0))
    assert torch.equal(unpooled["hyperintensity"][0, 2:, 2:], torch.zeros(2, 2))


def test_the_perfect_fit_nll_is_the_nll_at_the_output_that_fits_each_element():
    from vaereg.models.likelihoods import Bernoulli, Gaussian

    logits = torch.randn(2, 3, 5)
    x = torch.rand(2, 3, 5).clamp(0.01, 0.99)
    bernoulli = Bernoulli()
    deviance = bernoulli.nll_per_element(logits, x) - bernoulli.perfect_fit_nll(x)
    assert torch.allclose(deviance, bernoulli_deviance(x, torch.sigmoid(logits)), atol=1e-5)
    assert torch.allclose(bernoulli.perfect_fit_nll(x),
                          bernoulli.nll_per_element(torch.logit(x), x), atol=1e-5)
    assert torch.equal(bernoulli.perfect_fit_nll(torch.tensor([0.0, 1.0])), torch.zeros(2))
    gaussian = Gaussian()
    with torch.no_grad():
        gaussian.log_scale.fill_(-1.0)
    deviance = gaussian.nll_per_element(logits, x) - gaussian.perfect_fit_nll(x)
    expected = 0.5 * ((x - torch.sigmoid(logits)) / torch.exp(torch.tensor(-1.0))).pow(2)
    assert torch.allclose(deviance, expected, atol=1e-4)
    assert torch.allclose(gaussian.perfect_fit_nll(x),
                          gaussian.nll_per_element(torch.logit(x), x), atol=1e-5)


def test_restoration_moves_each_pixel_down_the_elbo_gradient_and_stays_in_range():
    logits = torch.tensor([-3.0, 3.0]).repeat_interleave(16).reshape(SHAPE)
    x = torch.full((1, *SHAPE), 0.5)
    options = MapOptions(samples=1, restoration_steps=4, restoration_step=0.05,
                         restoration_weight=0.0)
    maps = model_maps(fixed_reconstruction_vae(logits), x, options=options)
    # each step moves x by 0.05 * 3 towards the decoder's mean: 0.5 -> clamped at 0 and 1
    assert torch.allclose(maps["restoration"], torch.full((1, 4, 4), 0.5))
    short = model_maps(fixed_reconstruction_vae(logits), x,
                       options=attrs.evolve(options, restoration_steps=1))
    assert torch.allclose(short["restoration"], torch.full((1, 4, 4), 0.15))


def test_an_l1_weight_above_the_gradient_keeps_the_restoration_near_the_image():
    logits = torch.full(SHAPE, 0.5)
    x = torch.rand(2, *SHAPE) * 0.5
    model = fixed_reconstruction_vae(logits)

    def restoration(weight: float) -> torch.Tensor:
        options = MapOptions(samples=1, restoration_steps=6, restoration_weight=weight,
                             restoration_step=0.01)
        return model_maps(model, x, options=options)["restoration"]

    # each step moves by 0.01 * 0.5 up the decoder's logits; a pull of 1 back to x wins
    assert torch.allclose(restoration(0.0), torch.full((2, 4, 4), 0.03), atol=1e-6)
    assert float(restoration(1.0).max()) <= 0.01 + 1e-6


def test_the_gaussian_likelihood_gives_its_per_pixel_nll():
    logits = torch.zeros(SHAPE)
    x = torch.rand(2, *SHAPE)
    model = fixed_reconstruction_vae(logits, "gaussian")
    maps = model_maps(model, x, options=MapOptions(samples=2, restoration_steps=0))
    expected = (0.5 * (x - 0.5).pow(2) + 0.5 * torch.log(torch.tensor(2 * torch.pi))).sum(1)
    assert torch.allclose(maps["nll"], expected, atol=1e-5)


def test_smoothing_is_off_by_default_and_blurs_when_asked():
    x = torch.rand(2, *SHAPE)
    model = fixed_reconstruction_vae(torch.zeros(SHAPE))
    plain = model_maps(model, x, options=MapOptions(samples=1, restoration_steps=0))
    blurred = model_maps(model, x, options=MapOptions(samples=1, restoration_steps=0,
                                                      smoothing=1.0))
    assert torch.allclose(blurred["residual"], smooth(plain["residual"], 1.0), atol=1e-6)
    assert not torch.allclose(blurred["residual"], plain["residual"])
    spike = torch.zeros(1, 9, 9)
    spike[0, 4, 4] = 1
    assert float(smooth(spike, 1.0).sum()) == pytest.approx(1.0, abs=1e-5)
    assert float(smooth(spike, 1.0)[0, 4, 4]) < 0.2


def test_smoothing_is_torchvisions_blur_in_2d_and_separable_in_3d():
    images = torch.rand(3, 28, 28)
    for sigma in (0.5, 1.0, 2.0):
        width = 2 * int(torch.tensor(3 * sigma).ceil()) + 1
        reference = TF.gaussian_blur(images.unsqueeze(1), [width, width], [sigma, sigma])
        assert torch.allclose(smooth(images, sigma), reference.squeeze(1), atol=1e-6)
    voxel = torch.zeros(1, 9, 9, 9)
    voxel[0, 4, 4, 4] = 1
    blurred = smooth(voxel, 1.0)
    assert float(blurred.sum()) == pytest.approx(1.0, abs=1e-5)
    assert torch.allclose(blurred, blurred.permute(0, 3, 1, 2))  # the same on every axis
    plane = smooth(torch.zeros(1, 9, 9).index_put_((torch.tensor([0]), torch.tensor([4]),
                                                      torch.tensor([4])), torch.tensor(1.0)),
                   1.0)
    assert torch.allclose(blurred[0, 4], plane[0] * blurred[0, 4, 4, 4] / plane[0, 4, 4])
    narrow = torch.rand(2, 3, 5)  # narrower than the kernel: the edge is repeated
    assert smooth(narrow, 2.0).shape == narrow.shape
    assert torch.allclose(smooth(torch.ones(2, 3, 5), 2.0), torch.ones(2, 3, 5))


def test_baselines_are_the_intensity_its_inverse_and_a_per_pixel_gaussian_of_training():
    torch.manual_seed(0)
    train = torch.rand(50, *SHAPE)
    gaussian = PixelGaussian.fit(TensorSplit(train, None), batch_size=7)
    assert torch.allclose(gaussian.mean, train.mean(0), atol=1e-6)
    assert torch.allclose(gaussian.std, train.std(0, unbiased=False), atol=1e-6)
    x = torch.rand(4, *SHAPE)
    maps = baseline_maps(x, gaussian)
    assert torch.allclose(maps["intensity"], x.mean(1))
    assert torch.allclose(maps["intensity_inverted"], 1 - x.mean(1))
    expected = ((x - train.mean(0)).abs() / train.std(0, unbiased=False)).mean(1)
    assert torch.allclose(maps["gaussian"], expected, atol=1e-5)


def test_a_model_without_an_elbo_is_refused_saying_what_it_lacks():
    check_model(fixed_reconstruction_vae(torch.zeros(SHAPE)), "vanilla")
    with pytest.raises(VaeregError, match="anomaly maps need an ELBO .*, which model "
                                          "'wae_mmd' does not have"):
        check_model(WAE(WAEOptions(hidden_dims=(8,), latent_dim=2), SHAPE), "wae_mmd")
