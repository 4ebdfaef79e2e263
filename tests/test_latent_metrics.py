"""Active units and mutual information on models with known answers."""
import math

import pytest
import torch

from contract_models import LinearGaussianVAE
from vaereg.evaluation import active_units, mutual_information
from vaereg.evaluation.active_units import unit_activity


def test_unit_activity_is_the_variance_of_each_posterior_mean():
    means = torch.tensor([[0.0, 1.0], [2.0, 1.0], [4.0, 1.0]])
    torch.testing.assert_close(unit_activity(means), torch.tensor([4.0, 0.0]))


def test_collapsed_dimensions_are_counted_inactive():
    torch.manual_seed(0)
    model = LinearGaussianVAE((1, 4, 4), latent_dim=6)
    with torch.no_grad():
        model.encoder_mean.weight[[1, 4]] = 0  # two units ignore x: collapsed
        model.encoder_mean.weight[2] *= 0.01   # one barely moves: Var ~ 1e-4 < 0.01
    means = model.encode(torch.rand(500, 1, 4, 4)).mean
    assert active_units(means) == 3
    assert active_units(means, threshold=0.0) == 4  # the weak one is active under no threshold


@pytest.mark.parametrize("gain,expected", [(0.0, 0.0), (1.0, 0.5 * math.log(2)),
                                           (3.0, 0.5 * math.log(10))])
def test_mutual_information_of_a_linear_gaussian_encoder(gain, expected):
    """x ~ N(0, 1), q(z|x) = N(gain x, 1): I(x; z) = 1/2 log(1 + gain^2) in closed form;
    with gain 0 the posterior ignores x and every term cancels exactly."""
    torch.manual_seed(0)
    model = LinearGaussianVAE((1, 1, 1), latent_dim=1)
    with torch.no_grad():
        model.encoder_mean.weight.fill_(gain)
        model.encoder_mean.bias.fill_(0.7)
    x = torch.randn(4000, 1, 1, 1)
    mi = mutual_information(model, x, batch_size=1000)
    assert mi == pytest.approx(expected, abs=0.03)
    if gain == 0:
        assert mi == pytest.approx(0.0, abs=1e-6)
