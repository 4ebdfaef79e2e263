import pytest
import torch
from torch import nn

from vaereg import Objective, RecipeError, Trainer, hookimpl, load_recipe
from vaereg.core.recipes.recipe_files import deep_merge
from vaereg.plugins.batchnorm import inject_batchnorm
from vaereg.plugins.weight_decay import decay_coefficients, decay_weights, weight_decay_groups
from vaereg.testing import check_conformance, make_trainer, tiny_recipe

LR, LAMBDA = 1e-3, 0.1


class ZeroGradientTrainer(Trainer):
    """Every term has weight 0, so every gradient exists and is exactly zero."""

    def compute_loss(self, batch, outputs):
        objective = super().compute_loss(batch, outputs)
        for name in objective.terms:
            objective.scale(name, 0.0)
        return objective


#: data and model of a volume run (16^3, conv3d), merged into the recipe
VOLUMES = {"data": {"spatial_dims": 3, "image_size": 16},
           "model": {"backbone": "conv3d", "hidden_dims": [2, 4]}, "logging": {"images": False}}


def one_step_recipe(shape=None, **plugin):
    table = tiny_recipe(run={"epochs": 1}, data={"train_size": 16, "batch_size": 16},
                        model={"likelihood": "gaussian"}, optimizer={"lr": LR},
                        plugins={"weight_decay": plugin})
    return deep_merge(table, shape or {})


@pytest.mark.parametrize("shape", [None, VOLUMES], ids=["images", "volumes"])
def test_decoupled_step_at_zero_gradient_scales_weights_exactly(tmp_path, shape):
    trainer = make_trainer(one_step_recipe(shape, value=LAMBDA, mode="decoupled"), tmp_path,
                           cls=ZeroGradientTrainer)
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    trainer.fit()
    assert trainer.step == 1
    for name, param in trainer.model.named_parameters():
        if name.endswith(".weight"):
            assert torch.equal(param, before[name] * (1 - LR * LAMBDA)), name
        else:  # biases and the likelihood's log_scale
            assert torch.equal(param, before[name]), name


def tiny_model(**model):
    torch.manual_seed(0)
    spec = load_recipe(table=tiny_recipe(model=model)).model
    return spec.cls(spec.options, (1, 28, 28))


def test_default_decays_weights_only_and_never_the_likelihood():
    model = inject_batchnorm(tiny_model(likelihood="gaussian"))
    linear = {f"{n}.weight" for n, m in model.named_modules() if isinstance(m, nn.Linear)}
    assert set(decay_coefficients(model, 0.1)) == linear
    with_all = decay_coefficients(model, 0.1, include_bias_and_norm=True)
    assert "likelihood.log_scale" not in with_all
    assert any("norm" in n for n in with_all) and any(n.endswith("bias") for n in with_all)
    split = decay_coefficients(model, 0.1, encoder=0.0, decoder=0.3)
    assert split and all(n.startswith("decoder.") and v == 0.3 for n, v in split.items())


def trained(table, path, *overrides):
    trainer = make_trainer(table, path, overrides=overrides)  # seeds the global RNG
    trainer.fit()
    return trainer


def test_coupled_equals_adam_weight_decay_step_for_step(tmp_path):
    table = tiny_recipe(optimizer={"lr": 1e-2})
    coupled = {"value": LAMBDA, "mode": "coupled", "include_bias_and_norm": True}
    reference, plugin, plain = (
        trained(table, tmp_path / "adam", f"optimizer.weight_decay={LAMBDA}"),
        trained(tiny_recipe(optimizer={"lr": 1e-2}, plugins={"weight_decay": coupled}),
                tmp_path / "plugin"),
        trained(table, tmp_path / "plain"))
    assert reference.step == plugin.step == 8
    for (name, a), b, c in zip(reference.model.state_dict().items(),
                               plugin.model.state_dict().values(), plain.model.state_dict().values()):
        assert torch.equal(a, b), name
    assert not torch.equal(reference.model.encoder[1].linear.weight, plain.model.encoder[1].linear.weight)


def test_functional_decoupled_decay_equals_adamw_step_for_step():
    models = [tiny_model(), tiny_model()]
    ours = torch.optim.Adam(weight_decay_groups(models[0], value=LAMBDA, include_bias_and_norm=True),
                            lr=1e-2)
    adamw = torch.optim.AdamW(models[1].parameters(), lr=1e-2, weight_decay=LAMBDA)
    x = torch.rand(8, 1, 28, 28)
    for step in range(4):
        for model, optimizer in zip(models, (ours, adamw)):
            torch.manual_seed(step)  # the same z noise for both
            optimizer.zero_grad()
            Objective.from_model(model, model(x), x).loss().backward()
            if optimizer is ours:
                decay_weights(ours.param_groups)
            optimizer.step()
    for (name, a), b in zip(models[0].state_dict().items(), models[1].state_dict().values()):
        assert torch.equal(a, b), name


class PenaltyOracle:
    """Computes lambda/2 * sum w^2 independently before the step and compares after it."""

    def __init__(self, lambdas):
        self.lambdas = lambdas
        self.checked = 0

    @hookimpl
    def compute_penalties(self, model):
        self.expected = sum(self.lambdas[name.split(".")[0]] / 2 * p.detach().pow(2).sum()
                            for name, p in model.named_parameters()
                            if name.endswith("weight") and "norm" not in name
                            and not name.startswith("likelihood"))

    @hookimpl
    def on_batch_end(self, objective):
        penalty = objective.penalties["weight_decay"]
        assert torch.allclose(penalty.detach(), self.expected, rtol=1e-6)
        assert torch.allclose(objective.loss(), objective.neg_elbo().mean() + penalty)
        self.checked += 1


def test_penalty_is_half_lambda_sum_of_squares_of_exactly_the_decayed_weights(tmp_path):
    table = tiny_recipe(model={"likelihood": "gaussian"}, plugins={
        "batchnorm": {}, "weight_decay": {"mode": "penalty", "encoder": 0.5, "decoder": 2.0}})
    lambdas = {"encoder": 0.5, "mu_head": 0.5, "logvar_head": 0.5, "decoder": 2.0}
    oracle = PenaltyOracle(lambdas)
    trainer = make_trainer(table, tmp_path, extra_plugins=(("oracle", oracle),))
    trainer.fit()
    assert oracle.checked == trainer.step == 8
    assert trainer.history[-1]["train_running/penalty/weight_decay"] > 0


@pytest.mark.parametrize("optimizer", [{"weight_decay": 1e-4}, {"name": "adamw"}])
def test_optimizer_decay_as_well_is_refused(tmp_path, optimizer):
    table = tiny_recipe(optimizer=optimizer, plugins={"weight_decay": {}})
    with pytest.raises(RecipeError, match="optimizer.weight_decay: expected 0"):
        load_recipe(table=table)  # when the recipe loads, so `vaereg validate` refuses it


def test_validate_refuses_what_run_would_refuse(tmp_path):
    import subprocess
    import sys
    import tomli_w
    recipe = tmp_path / "r.toml"
    recipe.write_text(tomli_w.dumps(tiny_recipe(optimizer={"name": "adamw"},
                                                plugins={"weight_decay": {}})))
    for command in ("validate", "run"):
        result = subprocess.run([sys.executable, "-m", "vaereg", command, str(recipe)],
                                capture_output=True, text=True, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert "optimizer.weight_decay: expected 0 when plugin weight_decay" in result.stderr
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize("mode", ["coupled", "decoupled", "penalty"])
def test_conformance(tmp_path, mode):
    check_conformance(tiny_recipe(plugins={"weight_decay": {"mode": mode, "decoder": 0.0}}), tmp_path)
