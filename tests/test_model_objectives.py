"""Each model's objective is its paper's formula, computed here from first principles."""
import itertools

import pytest
import torch
from torch.distributions import Normal, kl_divergence
from torch.nn import functional as F

import vaereg
from vaereg.testing import make_trainer, tiny_recipe
from vaereg.models.infovae import InfoVAE, InfoVAEOptions
from vaereg.models.wae import WAE, WAEOptions

SMALL = {"hidden_dims": (16,), "latent_dim": 3}


def brute_force_mmd(z, p):
    """Unbiased MMD^2, inverse multiquadric summed over the WAE code's scales, C = 2d."""
    c = 2 * z.shape[1]

    def k(a, b):
        d2 = ((a - b) ** 2).sum()
        return sum(s * c / (s * c + d2) for s in (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0))

    n = len(z)
    pairs = list(itertools.permutations(range(n), 2))
    return (sum(k(z[i], z[j]) for i, j in pairs) / len(pairs)
            + sum(k(p[i], p[j]) for i, j in pairs) / len(pairs)
            - 2 * sum(k(z[i], p[j]) for i in range(n) for j in range(n)) / n ** 2)


@torch.no_grad()
def objective_and_parts(model, x):
    """The core's loss for the model's terms and weights, the outputs, and the prior
    draws the model's MMD used (replayed from the same random state)."""
    outputs = model(x)
    state = torch.get_rng_state()
    loss = vaereg.Objective(model.loss(outputs, x), model.term_weights).loss()
    torch.set_rng_state(state)
    draws = model.prior().sample((len(x),))
    recon = F.binary_cross_entropy_with_logits(outputs["output"], x, reduction="sum") / len(x)
    return loss, outputs, recon, brute_force_mmd(outputs["z"], draws)


@pytest.mark.parametrize("alpha,lam", [(0.0, 1000.0), (1.0, 1.0), (-0.5, 100.0), (0.5, 2.0)])
def test_infovae_objective(alpha, lam):
    torch.manual_seed(0)
    model = InfoVAE(InfoVAEOptions(alpha=alpha, lam=lam, **SMALL), (1, 6, 6))
    x = torch.rand(5, 1, 6, 6)
    loss, outputs, recon, mmd = objective_and_parts(model, x)
    q = outputs["posterior"].base_dist
    kl = kl_divergence(Normal(q.loc, q.scale), Normal(0.0, 1.0)).sum(1).mean()
    expected = recon + (1 - alpha) * kl + (alpha + lam - 1) * mmd
    assert float(loss) == pytest.approx(float(expected), rel=1e-5)
    assert model.elbo_terms == ("recon", "kl")


def test_infovae_refuses_a_negative_mmd_weight():
    with pytest.raises(ValueError, match="alpha \\+ lam - 1"):
        InfoVAEOptions(alpha=-2.0, lam=1.0)


@pytest.mark.parametrize("deterministic", [True, False])
def test_wae_objective(deterministic):
    torch.manual_seed(0)
    model = WAE(WAEOptions(lam=10.0, deterministic=deterministic, **SMALL), (1, 6, 6))
    x = torch.rand(5, 1, 6, 6)
    loss, outputs, recon, mmd = objective_and_parts(model, x)
    assert float(loss) == pytest.approx(float(recon + 10.0 * mmd), rel=1e-5)
    mean = outputs["posterior"].mean
    assert torch.equal(outputs["z"], mean) == deterministic
    assert (model.logvar_head is None) == deterministic
    assert model.elbo_terms == ()


def test_beta_vae_is_vanilla_with_a_constant_kl_weight(tmp_path):
    """The recipe's objective is recon + beta * KL: the kl_schedule plugin scales the KL."""
    table = tiny_recipe(plugins={"kl_schedule": {"schedule": "constant",
                                                                "beta": 4.0}})
    trainer = make_trainer(table, tmp_path)
    batch = next(iter(trainer.splits.train.batches(8)))
    objective = trainer.training_step(batch)
    trainer.hook.transform_objective(trainer=trainer, objective=objective, batch=batch)
    terms = objective.terms
    expected = terms["recon"].mean() + 4.0 * terms["kl"].sum(1).mean()
    assert objective.loss().item() == pytest.approx(expected.item(), rel=1e-6)


def test_capacity_form_is_gamma_times_distance_of_the_kl_to_c(tmp_path):
    table = tiny_recipe(plugins={"kl_schedule": {
        "schedule": "capacity", "beta": 1000.0, "ramp_steps": 10, "capacity_max": 5.0}})
    trainer = make_trainer(table, tmp_path)
    trainer.step = 4  # C = 5 * 4 / 10 = 2 nats
    batch = next(iter(trainer.splits.train.batches(8)))
    objective = trainer.training_step(batch)
    trainer.hook.transform_objective(trainer=trainer, objective=objective, batch=batch)
    terms = objective.terms
    expected = terms["recon"].mean() + 1000.0 * (terms["kl"].sum(1).mean() - 2.0).abs()
    assert objective.loss().item() == pytest.approx(expected.item(), rel=1e-6)
