"""The model family's recipes load as documented and train on real Fashion-MNIST."""
import math
from pathlib import Path

import pytest

from vaereg import load_recipe
from vaereg.testing import make_trainer

RECIPES = Path(__file__).parent.parent / "recipes"
#: recipe -> (model, {plugin: {option: value}}), the article's settings
EXPECTED = {
    "beta_vae": ("vanilla", {"kl_schedule": {"schedule": "constant", "beta": 4.0},
                             "dropout": {"p": 0.15}, "weight_decay": {"value": 5e-5}}),
    "cvae": ("cvae", {"dropout": {"p": 0.3}, "weight_decay": {"value": 1e-4}}),
    "infovae": ("infovae", {"weight_decay": {"value": 5e-4}}),
    "wae_mmd": ("wae_mmd", {"weight_decay": {"value": 1e-5}}),
}
#: a few batches: 2 training steps of 128 real images, 1 epoch
SHORT = ("run.epochs=1", "run.device=cpu", "run.progress=false", "logging.histograms=false",
         "logging.images=false", "data.train_size=256", "data.val_size=128",
         "model.hidden_dims=[32, 16]")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recipe_sets_the_article_values(name):
    recipe = load_recipe(RECIPES / f"{name}.toml")
    model, plugins = EXPECTED[name]
    assert recipe.run.name == name and recipe.model.name == model
    assert recipe.data.name == "fashion_mnist"
    assert {spec.name for spec in recipe.plugins} == set(plugins)
    for plugin, options in plugins.items():
        for key, value in options.items():
            assert getattr(recipe.plugin(plugin).options, key) == value


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recipe_trains_on_fashion_mnist(tmp_path, name):
    table = load_recipe(RECIPES / f"{name}.toml", overrides=SHORT).to_table()
    metrics = make_trainer(table, tmp_path).fit()
    assert math.isfinite(metrics["test/loss"]) and metrics["test/recon"] > 0
