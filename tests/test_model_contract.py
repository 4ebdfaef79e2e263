"""Each built-in model does what its class declares, and the contract says what each
model can serve (the WAE has no ELBO and no posterior density)."""
import attrs
import pytest
import torch

from vaereg import MODELS, RecipeError, load_recipe
from vaereg.core.model import model_contract as contract
from vaereg.testing import check_model_contract, registered, tiny_recipe

from cli_process import vaereg
from recipe_files import write_recipe
from test_models import MODEL_TABLES


def built(name: str):
    table = dict(MODEL_TABLES[name])
    cls = MODELS.load(table.pop("name"))
    torch.manual_seed(0)
    return cls(cls.Options(hidden_dims=(32, 16), latent_dim=4, **table), (1, 28, 28), 10)


@pytest.mark.parametrize("name", sorted(MODEL_TABLES))
def test_every_builtin_model_does_what_its_class_declares(name):
    model = built(name)
    check_model_contract(model, torch.rand(5, 1, 28, 28), torch.arange(5))


def test_what_each_builtin_model_offers():
    offered = {name: contract.provides(MODELS.load(name))
               for name in ("vanilla", "infovae", "wae_mmd", "cvae")}
    assert contract.ELBO in offered["vanilla"] and contract.term("kl") in offered["vanilla"]
    assert contract.term("mmd") in offered["infovae"] and contract.ELBO in offered["infovae"]
    assert contract.CONDITIONAL in offered["cvae"]
    assert not {contract.CONDITIONAL} & offered["vanilla"]
    wae = offered["wae_mmd"]
    assert {contract.ELBO, contract.POSTERIOR_DENSITY, contract.term("kl")}.isdisjoint(wae)
    assert {contract.POSTERIOR, contract.PER_ELEMENT_LIKELIHOOD, contract.HIDDEN_BLOCKS,
            contract.PARTS, contract.ENCODER_FEATURES, contract.term("recon"),
            contract.term("mmd")} <= wae
    assert all(contract.ENCODER_FEATURES in offers for offers in offered.values())


def test_per_element_reconstruction_sums_to_the_per_image_figure():
    model = built("vanilla").eval()
    x = (torch.rand(3, 1, 28, 28) > 0.5).float()
    outputs = model(x)
    per_element = model.recon_per_element(outputs, x)
    assert per_element.shape == (3, 1, 28, 28) and (per_element > 0).all()
    assert torch.allclose(per_element.flatten(1).sum(1), model.loss(outputs, x)["recon"],
                          rtol=1e-5)
    # a pixel made wrong costs more at that pixel only
    wrong = x.clone()
    wrong[0, 0, 3, 4] = 1 - wrong[0, 0, 3, 4]
    changed = model.recon_per_element(outputs, wrong) != per_element
    assert changed.sum() == 1 and changed[0, 0, 3, 4]


class Undeclared(torch.nn.Module):
    pass


class Inconsistent(torch.nn.Module):
    capabilities = frozenset({"posterior", "telepathy", "parts", "encoder_features"})
    loss_terms = ("recon",)
    elbo_terms = ("recon", "kl")

    def encode(self, x, y=None):
        return None


def test_declarations_are_checked():
    assert "declares no `capabilities`" in contract.declaration_problems(Undeclared)[0]
    problems = contract.declaration_problems(Inconsistent)
    assert any("unknown capabilities ['telepathy']" in p for p in problems)
    assert any("elbo_terms ('recon', 'kl') are not all in loss_terms" in p for p in problems)
    assert any("declares 'parts' but has no `parts`" in p for p in problems)
    assert any("declares 'encoder_features' but has no `features`" in p for p in problems)
    assert len(problems) == 4


class NeedsKL:
    requires = ("term:kl", "posterior_density")


class Misspelled:
    requires = ("posterior_densty", "term:")


def test_why_a_model_cannot_serve_names_each_missing_requirement():
    reason = contract.why_not("plugin", "warmup", NeedsKL, "wae_mmd", MODELS.load("wae_mmd"))
    assert reason == ("plugin 'warmup' needs a 'kl' term in its loss and a posterior with a "
                      "density and a finite KL to the prior, which model 'wae_mmd' does not "
                      "have (its terms: recon, mmd)")
    assert contract.why_not("plugin", "warmup", NeedsKL, "vanilla", MODELS.load("vanilla")) is None
    assert len(contract.requirement_problems(Misspelled)) == 2
    assert contract.requirement_problems(NeedsKL) == []


def test_validate_refuses_each_plugin_the_model_cannot_serve_by_name(tmp_path):
    """wae_mmd has no kl term and no ELBO: every problem is reported at once, exit 2, no
    traceback, while the plugins it can serve pass; run refuses it before making a run
    folder."""
    path = write_recipe(tmp_path, model={"name": "wae_mmd", "lam": 10.0},
                        plugins={"warmup": {"use": "kl_schedule"}, "dropout": {"p": 0.1},
                                 "weight_decay": {"value": 1e-4}},
                        run={"monitor": "val/neg_elbo"})
    result = vaereg("validate", str(path), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert ("plugins.warmup: plugin 'warmup' needs a 'kl' term in its loss, which model "
            "'wae_mmd' does not have (its terms: recon, mmd)") in result.stderr
    assert "run.monitor: model 'wae_mmd' has no ELBO, so there is no val/neg_elbo" in result.stderr
    assert "plugins.dropout" not in result.stderr and "plugins.weight_decay" not in result.stderr
    run = vaereg("run", str(path), cwd=tmp_path)
    assert run.returncode == 2 and "plugins.warmup" in run.stderr
    assert not (tmp_path / "runs").exists()


def test_the_same_plugins_load_on_a_model_that_serves_them():
    recipe = load_recipe(table=tiny_recipe(
        model={"name": "vanilla"}, plugins={"warmup": {"use": "kl_schedule"},
                                            "dropout": {"p": 0.1}}))
    assert [spec.name for spec in recipe.plugins] == ["warmup", "dropout"]


def test_a_model_class_without_declarations_is_refused_when_the_recipe_loads():
    with registered("undeclared", UndeclaredVAE, MODELS):
        with pytest.raises(RecipeError) as caught:
            table = tiny_recipe(model={"name": "undeclared"})
            table["model"] = {"name": "undeclared"}
            load_recipe(table=table)
    assert "model.name: model 'undeclared': model class UndeclaredVAE declares no " \
           "`capabilities`" in str(caught.value)


@attrs.frozen
class NoOptions:
    pass


class UndeclaredVAE(torch.nn.Module):
    Options = NoOptions


def test_plugins_command_shows_what_a_plugin_needs_and_what_a_model_offers(tmp_path):
    plugin = vaereg("plugins", "kl_schedule", cwd=tmp_path)
    assert plugin.returncode == 0 and "  requires of the model: term:kl\n" in plugin.stdout
    model = vaereg("plugins", "wae_mmd", cwd=tmp_path)
    assert model.returncode == 0
    assert ("  capabilities: encoder_features, hidden_blocks, parts, per_element_likelihood, "
            "posterior; loss "
            "terms: recon, mmd; ELBO terms: none\n") in model.stdout
