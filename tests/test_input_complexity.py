"""The input-complexity score (Serrà et al. 2020) on fixed images."""
import math

import pytest
import torch

from vaereg.evaluation.input_complexity import complexity_corrected, png_bits


def images():
    """A constant image, a smooth gradient and uniform noise, 28x28 grey."""
    constant = torch.full((1, 28, 28), 0.5)
    gradient = torch.linspace(0, 1, 28).expand(1, 28, 28)
    noise = torch.randint(0, 256, (1, 28, 28), generator=torch.Generator().manual_seed(0)) / 255
    return torch.stack([constant, gradient, noise])


def test_simpler_images_compress_to_fewer_bits():
    constant, gradient, noise = png_bits(images()).tolist()
    assert constant < gradient < noise
    assert noise >= 28 * 28 * 8  # uniform 8-bit noise does not compress
    assert constant < 0.1 * noise


def test_rgb_images_and_bad_shapes():
    rgb = images().expand(3, 3, 28, 28).transpose(0, 1).contiguous()  # same grey, 3 channels
    assert (png_bits(rgb) > png_bits(images())).all()
    with pytest.raises(ValueError, match=r"expected images \[N, 1 or 3, H, W\]"):
        png_bits(torch.zeros(2, 28, 28))


def test_at_equal_likelihood_the_complex_image_is_the_less_anomalous():
    """S(x) = -log2 p(x) - L(x): the same -log p(x) explains noise better than a constant
    image (the compressor needs many more bits for it), so the constant one scores higher."""
    nll_nats = torch.full((3,), 500.0)
    bits = png_bits(images())
    scores = complexity_corrected(nll_nats, bits)
    assert scores.tolist() == pytest.approx((500 / math.log(2) - bits).tolist())
    assert scores[0] > scores[1] > scores[2]
