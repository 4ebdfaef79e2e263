"""The adversarial plugin: what it does to a batch, its options, its recipe, the
train/checkpoint/resume cycle, and its effect on real Fashion-MNIST models."""
import json
from pathlib import Path

import pytest
import torch

from vaereg import Batch, Objective, RecipeError, load_recipe, pgd, robustness
from vaereg.plugins.adversarial import Adversarial, adversarial_batch
from vaereg.testing import check_conformance, make_trainer, tiny_recipe

RECIPES = Path(__file__).resolve().parents[1] / "recipes"
EPS = 0.1


def test_ratio_of_the_batch_is_attacked_and_the_target_stays_clean(tmp_path):
    trainer = make_trainer(tiny_recipe(), tmp_path)
    x = trainer.splits.train.x[:8]
    batch = Batch(x=x, target=x, y=trainer.splits.train.y[:8])
    options = Adversarial.Options(eps=EPS, ratio=0.5, random_start=False)
    adversarial_batch(trainer.model, batch, options)
    changed = (batch.x != x).flatten(1).any(1)
    assert changed[:4].all() and not changed[4:].any()
    assert batch.target is x
    assert (batch.x - x).abs().max() <= EPS + 1e-6


def test_latent_objective_without_random_start_is_rejected():
    table = tiny_recipe(plugins={"adversarial": {"objective": "latent", "random_start": False}})
    with pytest.raises(RecipeError, match="random_start"):
        load_recipe(table=table)


def test_conformance_and_robustness_metrics(tmp_path):
    table = tiny_recipe(plugins={"adversarial": {"attack": "pgd", "steps": 2, "eval_steps": 2}})
    metrics = check_conformance(table, tmp_path)
    assert metrics["robust/neg_elbo"] > 0 and metrics["robust/latent_skl"] > 0
    assert metrics["plugins"]["adversarial"]["attack"] == "pgd"


def test_deterministic_encoder_reports_the_codes_squared_distance(tmp_path):
    """A point-mass posterior has no finite KL: the latent attack and its report use
    ||z(x+d) - z(x)||^2, which survives train -> checkpoint -> resume finite."""
    table = tiny_recipe(model={"name": "wae_mmd", "lam": 10.0, "hidden_dims": [32, 16],
                               "latent_dim": 4},
                        plugins={"adversarial": {"attack": "pgd", "objective": "latent",
                                                 "steps": 2, "eval_steps": 2}})
    metrics = check_conformance(table, tmp_path)
    assert "robust/latent_skl" not in metrics
    assert 0 < metrics["robust/latent_sq_distance"] < float("inf")


def test_recipe_trains_on_fashion_mnist(tmp_path):
    recipe = load_recipe(RECIPES / "adversarial.toml")
    assert recipe.plugin("adversarial").options.eps == pytest.approx(EPS)
    trainer = make_trainer(recipe.to_table(), tmp_path, overrides=(
        "run.epochs=1", "run.device=cpu", "logging.histograms=false", "data.train_size=256",
        "data.val_size=64", "model.hidden_dims=[32]", "plugins.adversarial.eval_size=32",
        "plugins.adversarial.eval_steps=2"))
    trainer.fit()
    saved = json.loads((trainer.run_dir / "metrics.json").read_text())
    assert saved["robust/neg_elbo"] > 0 and saved["robust/latent_skl"] > 0


# ---- effect on real data: small models trained clean and adversarially ----------------
REAL = dict(run={"epochs": 8}, model={"hidden_dims": [128, 64], "latent_dim": 8},
            data={"name": "fashion_mnist", "train_size": 2048, "val_size": 256,
                  "batch_size": 64})


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Models trained clean and with FGSM (eps 0.1, whole batches), same data and seed;
    and 500 test images."""
    out = tmp_path_factory.mktemp("real")
    models = {}
    for name, plugins in (("clean", {}), ("adversarial", {"adversarial": {
            "eps": EPS, "ratio": 1.0, "eval_size": 1, "eval_steps": 1}})):
        trainer = make_trainer(tiny_recipe(**REAL, plugins=plugins), out / name)
        trainer.fit()
        models[name] = trainer.model.eval()
    return models, trainer.splits.test.x[:500]


def neg_elbo(model, x_in, x):
    torch.manual_seed(0)
    with torch.no_grad():
        return float(Objective.from_model(model, model(x_in), x).neg_elbo().mean())


def test_pgd_raises_the_negative_elbo_of_a_trained_model(trained):
    models, x = trained
    model = models["clean"]
    x_adv = pgd(model, x, eps=EPS, steps=10)
    assert (x_adv - x).abs().max() <= EPS + 1e-6
    clean, attacked = neg_elbo(model, x, x), neg_elbo(model, x_adv, x)
    assert attacked > clean + 10, (clean, attacked)  # measured: about 292 -> 335 nats


def test_adversarial_training_makes_the_model_more_robust(trained):
    models, x = trained
    torch.manual_seed(0)
    clean = robustness(models["clean"], x, eps=EPS, steps=10)
    torch.manual_seed(0)
    adversarial = robustness(models["adversarial"], x, eps=EPS, steps=10)
    # measured: neg ELBO about 335 vs 310 nats, latent SKL about 71 vs 19
    assert adversarial["neg_elbo"] < clean["neg_elbo"] - 10, (clean, adversarial)
    assert adversarial["latent_skl"] < clean["latent_skl"] / 2, (clean, adversarial)
