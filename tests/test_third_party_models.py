"""A model from outside vaereg, registered by name, trains and takes layer plugins."""
from __future__ import annotations

import importlib.util
from pathlib import Path

from torch import nn

import vaereg
from vaereg.testing import make_trainer, registered, tiny_recipe

EXAMPLE = Path(__file__).parents[1] / "examples" / "custom_model.py"


def test_registered_model_trains_by_name_and_gets_dropout(tmp_path):
    spec = importlib.util.spec_from_file_location("custom_model", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    recipe = tiny_recipe(model={"name": "tiny_mlp", "hidden": 16, "latent_dim": 2},
                         plugins={"dropout": {"p": 0.25}})
    del recipe["model"]["hidden_dims"]  # a key of the built-in model, unknown to this one
    with registered("tiny_mlp", module.TinyMLPVAE, vaereg.MODELS):
        trainer = make_trainer(recipe, tmp_path)
        metrics = trainer.fit()
    assert isinstance(trainer.model, module.TinyMLPVAE)
    assert [m.p for m in trainer.model.modules() if isinstance(m, nn.Dropout)] == [0.25, 0.25]
    assert [(b.part, b.dropout.p) for b in trainer.model.hidden_blocks()] == \
        [("encoder", 0.25), ("decoder", 0.25)]
    assert trainer.history[-1]["train_running/neg_elbo"] < trainer.history[0]["train_running/neg_elbo"]
    assert metrics["test/neg_elbo"] > 0
    assert "tiny_mlp" not in vaereg.MODELS.names()
