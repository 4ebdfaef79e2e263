"""The objective is sum_t w_t * mean(term_t) + penalties, formed once from named parts."""
import pytest
import torch

from vaereg import Objective, VaeregError
from vaereg.testing import make_trainer, tiny_recipe


def parts():
    g = torch.Generator().manual_seed(0)
    return {"recon": torch.rand(8, generator=g) * 100, "kl": torch.rand(8, 3, generator=g),
            "extra": torch.rand(8, generator=g)}


def test_the_loss_equals_the_formula_for_given_terms_and_weights():
    terms = parts()
    objective = Objective(terms, {"recon": 1.0, "kl": 0.5, "extra": 2.0})
    objective.add_penalty("l2", torch.tensor(3.0))
    expected = terms["recon"].mean() + 0.5 * terms["kl"].sum(1).mean() \
        + 2.0 * terms["extra"].mean() + 3.0
    assert objective.loss() == pytest.approx(float(expected), rel=1e-6)


def test_per_example_terms_average_to_the_batch_figures():
    terms = parts()
    objective = Objective(terms, {"recon": 1.0, "kl": 1.0}, elbo_terms=("recon", "kl"))
    per_example = objective.neg_elbo()
    assert per_example.shape == (8,)
    assert per_example.mean() == pytest.approx(
        float(objective.reduced("recon") + objective.reduced("kl")), rel=1e-6)
    assert objective.weights["extra"] == 0.0  # a term without a weight is reported only


def test_scales_multiply_and_a_second_reduction_is_refused():
    objective = Objective(parts(), {"recon": 1.0, "kl": 1.0})
    objective.scale("kl", 0.5)
    objective.scale("kl", 0.2)
    assert objective.weights["kl"] == pytest.approx(0.1)
    objective.reduce_with("kl", lambda kl: kl.mean(0).max(), owner="a")
    with pytest.raises(VaeregError, match="already reduced by a; b cannot"):
        objective.reduce_with("kl", lambda kl: kl.sum(), owner="b")
    with pytest.raises(VaeregError, match="no term 'mmd'"):
        objective.scale("mmd", 2.0)


def test_a_weight_of_zero_keeps_the_term_in_the_graph():
    recon = torch.rand(4, requires_grad=True)
    objective = Objective({"recon": recon}, {"recon": 0.0})
    objective.loss().backward()
    assert torch.equal(recon.grad, torch.zeros(4))


class PosteriorMeanTerm:
    """Adds a per-example term on the aggregate posterior, read from the model's outputs."""

    @__import__("vaereg").hookimpl
    def transform_objective(self, objective):
        means = objective.outputs["posterior"].mean
        objective.add_term("mean_l2", (means - means.mean(0)).pow(2).sum(1), weight=0.5)


def test_a_plugin_adds_a_term_from_the_posterior_and_it_is_logged(tmp_path):
    trainer = make_trainer(tiny_recipe(), tmp_path, extra_plugins=(("mean", PosteriorMeanTerm()),))
    trainer.fit()
    epoch = trainer.history[0]
    assert epoch["train_running/mean_l2"] > 0
    assert epoch["train_running/loss"] == pytest.approx(
        epoch["train_running/neg_elbo"] + 0.5 * epoch["train_running/mean_l2"], rel=1e-5)
