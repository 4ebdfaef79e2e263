"""The attack functions on a tiny model: range, eps-ball, clean parameter gradients,
eval mode during the attack, and the symmetric KL."""
import pytest
import torch
from torch import nn

from vaereg import Objective, fgsm, pgd
from vaereg.functional.attacks import symmetric_kl
from vaereg.models.gaussian import diagonal_gaussian
from vaereg.models.vanilla import VanillaVAE
from vaereg.plugins.dropout import inject_dropout

EPS = 0.05


@pytest.fixture
def model():
    torch.manual_seed(0)
    return VanillaVAE(VanillaVAE.Options(hidden_dims=(32, 16), latent_dim=4), (1, 8, 8))


@pytest.fixture
def x():
    x = torch.rand(16, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    x[:, :, :2] = 0.0  # pixels at the edges of the range: the attack must not leave it
    x[:, :, -2:] = 1.0
    return x


@pytest.mark.parametrize("objective", ["elbo", "latent"])
@pytest.mark.parametrize("random_start", [True, False])
def test_pgd_stays_in_the_eps_ball_and_the_data_range(model, x, objective, random_start):
    x_adv = pgd(model, x, eps=EPS, steps=5, objective=objective, random_start=random_start)
    assert (x_adv - x).abs().max() <= EPS + 1e-6
    assert x_adv.min() >= 0 and x_adv.max() <= 1
    assert not x_adv.requires_grad


def test_fgsm_moves_each_free_pixel_by_exactly_eps(model, x):
    x_adv = fgsm(model, x, eps=EPS)
    inside = (x > EPS) & (x < 1 - EPS)
    assert torch.allclose((x_adv - x).abs()[inside], torch.tensor(EPS))


def test_the_attack_leaves_parameter_gradients_alone(model, x):
    Objective.from_model(model, model(x), x).loss().backward()
    before = {n: p.grad.clone() for n, p in model.named_parameters()}
    pgd(model, x, eps=EPS, steps=3)
    for name, parameter in model.named_parameters():
        assert torch.equal(parameter.grad, before[name]), name
    model.zero_grad(set_to_none=True)
    fgsm(model, x, eps=EPS)
    assert all(p.grad is None for p in model.parameters())


def test_the_attack_runs_in_eval_mode_and_restores_train_mode(model, x):
    inject_dropout(model, p=0.5)
    model.train()
    torch.manual_seed(3)
    in_train = pgd(model, x, eps=EPS, steps=3, objective="latent")
    assert model.training
    model.eval()
    torch.manual_seed(3)
    in_eval = pgd(model, x, eps=EPS, steps=3, objective="latent")
    assert torch.equal(in_train, in_eval)  # dropout was off during the attack


def test_batch_norm_statistics_are_not_updated_by_the_attack(x):
    torch.manual_seed(0)
    model = VanillaVAE(VanillaVAE.Options(hidden_dims=(32, 16), latent_dim=4), (1, 8, 8))
    model.hidden_blocks()[0].pre_norm = nn.BatchNorm1d(32)
    model.train()
    norm = model.hidden_blocks()[0].pre_norm
    pgd(model, x, eps=EPS, steps=3)
    assert norm.num_batches_tracked == 0
    model(x)
    assert norm.num_batches_tracked == 1  # the layer is in the path the attack used


def test_symmetric_kl_of_posteriors_is_the_closed_form_summed_over_dimensions():
    g = torch.Generator().manual_seed(0)
    mu_a, mu_b, lv_a, lv_b = (torch.randn(5, 3, generator=g) for _ in range(4))
    va, vb = lv_a.exp(), lv_b.exp()
    closed = 0.5 * (va / vb + vb / va + (mu_a - mu_b).pow(2) * (1 / va + 1 / vb) - 2)
    got = symmetric_kl(diagonal_gaussian(mu_a, lv_a), diagonal_gaussian(mu_b, lv_b))
    assert got.shape == (5,)
    assert torch.allclose(got, closed.sum(1), atol=1e-5)
