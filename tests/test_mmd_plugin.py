"""The mmd plugin adds the same MMD term InfoVAE has, to any model."""
import pytest
import torch

from vaereg import VaeregError
from vaereg.testing import check_conformance, make_trainer, tiny_recipe


def first_objective(table, tmp_path):
    """The objective of the first training batch, after the plugins' transform."""
    trainer = make_trainer(table, tmp_path)
    batch = next(iter(trainer.splits.train.batches(16)))
    torch.manual_seed(3)
    objective = trainer.training_step(batch)
    trainer.hook.transform_objective(trainer=trainer, objective=objective, batch=batch)
    return objective


def test_vanilla_with_mmd_at_weight_w_is_infovae_with_alpha_0_lambda_w_plus_1(tmp_path):
    with_plugin = first_objective(tiny_recipe(plugins={"mmd": {"weight": 9.0}}), tmp_path / "a")
    infovae = first_objective(tiny_recipe(model={"name": "infovae", "alpha": 0.0, "lam": 10.0}),
                              tmp_path / "b")
    assert with_plugin.weights == infovae.weights == {"recon": 1.0, "kl": 1.0, "mmd": 9.0}
    assert torch.equal(with_plugin.terms["mmd"], infovae.terms["mmd"])
    assert with_plugin.loss().item() == infovae.loss().item()


def test_kernel_options_reach_the_estimator(tmp_path):
    imq = first_objective(tiny_recipe(plugins={"mmd": {}}), tmp_path / "a")
    rbf = first_objective(tiny_recipe(plugins={"mmd": {"kernel": "rbf"}}), tmp_path / "b")
    assert not torch.equal(imq.terms["mmd"], rbf.terms["mmd"])


def test_a_second_mmd_term_needs_its_own_name(tmp_path):
    infovae = {"name": "infovae", "alpha": 0.0, "lam": 10.0}
    with pytest.raises(VaeregError, match="already has a term named 'mmd'"):
        first_objective(tiny_recipe(model=infovae, plugins={"mmd": {}}), tmp_path / "a")
    objective = first_objective(tiny_recipe(model=infovae, plugins={"mmd": {"term": "mmd_rbf",
                                                                           "kernel": "rbf"}}),
                                tmp_path / "b")
    assert set(objective.terms) == {"recon", "kl", "mmd", "mmd_rbf"}


def test_conformance(tmp_path):
    check_conformance(tiny_recipe(plugins={"mmd": {"weight": 10.0}}), tmp_path)
