import math
from pathlib import Path

import pytest

from vaereg import load_recipe
from vaereg.testing import check_conformance, make_trainer, tiny_recipe

RECIPES = Path(__file__).parent.parent / "recipes"
PLUGINS = {"weight_decay.toml": ["weight_decay"],
           "batchnorm_dropout.toml": ["batchnorm", "dropout"],
           "sparsity.toml": ["sparsity"], "class_head.toml": ["class_head"]}
SHORT = ("run.epochs=1", "run.device=cpu", "run.progress=false", "logging.histograms=false",
         "data.train_size=256", "data.val_size=128", "model.hidden_dims=[32, 16]")


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_recipe_loads_and_runs(tmp_path, name):
    recipe = load_recipe(RECIPES / name)
    assert [spec.name for spec in recipe.plugins] == PLUGINS[name]
    assert recipe.run.name == name.removesuffix(".toml")
    table = load_recipe(RECIPES / name, overrides=SHORT).to_table()
    metrics = make_trainer(table, tmp_path).fit()
    assert math.isfinite(metrics["test/neg_elbo"])


def test_weight_decay_batchnorm_dropout_and_sparsity_compose_on_a_conv_vae(tmp_path):
    table = tiny_recipe(data={"image_size": 8}, model={"backbone": "conv", "hidden_dims": [4, 8]}, plugins={
        "weight_decay": {"mode": "coupled", "value": 1e-4}, "batchnorm": {},
        "dropout": {"blocks": "last", "kind": "spatial"},
        "sparsity": {"l1": 1.0, "group": 5.0, "proximal": True, "activation": 0.1}})
    metrics = check_conformance(table, tmp_path)  # finite, and resumes bit-identically
    dead = {k for k in metrics if k.startswith("sparsity/dead/")}
    assert dead == {f"sparsity/dead/{part}.{i}" for part in ("encoder", "decoder") for i in (0, 1)}
