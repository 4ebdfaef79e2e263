"""recipes/all_regularizers.toml: every built-in plugin together trains, on real data."""
from pathlib import Path

import pytest
import torch

from vaereg import load_recipe
from vaereg.data.fashion_mnist import SYSTEM_DIR
from vaereg.testing import check_conformance, tiny_recipe

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "all_regularizers.toml"


def test_names_every_builtin_plugin():
    names = {spec.use for spec in load_recipe(RECIPE).plugins}
    assert names == {"adversarial", "batchnorm", "dropout", "kl_schedule", "sparsity",
                     "weight_decay"}


@pytest.mark.skipif(not SYSTEM_DIR.is_dir(), reason="apt-get install dataset-fashion-mnist")
def test_trains_with_a_finite_decreasing_loss(tmp_path):
    from vaereg import Trainer
    recipe = load_recipe(RECIPE, overrides=[
        "data.train_size=1024", "data.val_size=256", "run.epochs=3", "run.device=cpu",
        f"run.out_dir='{tmp_path}'", "logging.histograms=false", "plugins.adversarial.eval_size=64",
        "plugins.adversarial.eval_steps=3", "plugins.kl_schedule.ramp_steps=8"])
    trainer = Trainer(recipe, quiet=True)
    metrics = trainer.fit()
    losses = [epoch["train/loss"] for epoch in trainer.history]
    assert all(torch.isfinite(torch.tensor(losses)))
    assert losses[0] > losses[1] > losses[2]
    for key in ("test/neg_elbo", "robust/neg_elbo", "sparsity/zero_fraction"):
        assert torch.isfinite(torch.tensor(metrics[key])), key
    assert set(metrics["plugins"]) == {spec.name for spec in recipe.plugins}


def test_all_plugins_together_survive_checkpoint_and_resume(tmp_path):
    table = tiny_recipe(plugins=load_recipe(RECIPE).to_table()["plugins"])
    table["plugins"]["adversarial"].update(eval_size=16, eval_steps=2)
    check_conformance(table, tmp_path)
