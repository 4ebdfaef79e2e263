import math
from pathlib import Path

import pytest

from vaereg import load_recipe
from vaereg.testing import make_trainer

RECIPES = Path(__file__).parent.parent / "recipes"
PLUGINS = {"weight_decay.toml": ["weight_decay"],
           "batchnorm_dropout.toml": ["batchnorm", "dropout"],
           "sparsity.toml": ["sparsity"]}
SHORT = ("run.epochs=1", "run.device=cpu", "run.progress=false", "run.histograms=false",
         "data.train_size=256", "data.val_size=128", "model.hidden_dims=[32, 16]")


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_recipe_loads_and_runs(tmp_path, name):
    recipe = load_recipe(RECIPES / name)
    assert [spec.name for spec in recipe.plugins] == PLUGINS[name]
    assert recipe.run.name == name.removesuffix(".toml")
    table = load_recipe(RECIPES / name, overrides=SHORT).to_table()
    metrics = make_trainer(table, tmp_path).fit()
    assert math.isfinite(metrics["test/neg_elbo"])
