"""A model from outside vaereg (examples/custom_model.py), registered by name or named by
its file path, keeps the model contract: it trains, takes layer plugins and weight decay,
and goes through eval with IWAE and compare."""
from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest
import tomli_w
import torch
from torch import nn

import vaereg
from cli_process import vaereg as vaereg_cli
from vaereg.data.fashion_mnist import SYSTEM_DIR
from vaereg.plugins.weight_decay import decay_coefficients
from vaereg.testing import check_model_contract, make_trainer, registered, tiny_recipe

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "custom_model.py"


def load_example():
    spec = importlib.util.spec_from_file_location("custom_model", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_registered_model_trains_by_name_and_gets_dropout(tmp_path):
    module = load_example()
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


def test_the_example_model_keeps_its_contract_and_gets_weight_decay_by_part():
    module = load_example()
    model = module.TinyMLPVAE(module.TinyMLPOptions(hidden=8, latent_dim=2), (1, 6, 6))
    check_model_contract(model, torch.rand(4, 1, 6, 6))
    decayed = decay_coefficients(model, encoder=1e-3, decoder=2e-3)
    assert decayed == {"encoder.1.linear.weight": 1e-3, "heads.weight": 1e-3,
                       "decoder.0.linear.weight": 2e-3, "decoder.1.weight": 2e-3}


@pytest.fixture(scope="module")
def custom_recipe(tmp_path_factory):
    """The example model named by its file path, on 300 real Fashion-MNIST images of two
    classes, with dropout and weight decay."""
    if not SYSTEM_DIR.is_dir():
        pytest.skip("apt-get install dataset-fashion-mnist")
    folder = tmp_path_factory.mktemp("custom")
    table = {"run": {"name": "tiny", "epochs": 1, "out_dir": str(folder / "runs"),
                     "progress": False},
             "data": {"name": "fashion_mnist", "train_size": 300, "val_size": 100,
                      "classes": [0, 1], "binarize": "dynamic"},
             "model": {"name": f"{EXAMPLE}:TinyMLPVAE", "hidden": 32, "latent_dim": 4},
             "plugins": {"dropout": {"p": 0.2}, "weight_decay": {"value": 1e-4}}}
    (folder / "tiny.toml").write_text(tomli_w.dumps(table))
    return folder


def test_the_example_model_goes_through_run_eval_with_iwae_and_compare(custom_recipe):
    folder = custom_recipe
    run = vaereg_cli("run", "tiny.toml", cwd=folder)
    assert run.returncode == 0, run.stderr
    run_dir = folder / "runs" / "tiny" / "version_0"
    final = json.loads((run_dir / "metrics.json").read_text())
    assert set(final["plugins"]) == {"dropout", "weight_decay"}

    evaluated = vaereg_cli("eval", str(run_dir), "--checkpoint", "last", "--metrics", "elbo",
                       "--iw-samples", "20", "--projector-points", "0", cwd=folder)
    assert evaluated.returncode == 0, evaluated.stderr
    figures = json.loads((run_dir / "eval" / "last-test-none" / "eval.json").read_text())["metrics"]
    assert math.isfinite(figures["test/iwae_nll"])
    # the K-sample bound is tighter than the ELBO (a few nats at K = 20 on 2,000 images)
    assert figures["test/iwae_nll"] < figures["test/neg_elbo"]

    compared = vaereg_cli("compare", "tiny.toml", "--seeds", "1", "--metrics", "iwae",
                      "--iw-samples", "5", "--test-images", "200", "--out", "cmp", cwd=folder)
    assert compared.returncode == 0, compared.stderr
    metrics = json.loads((folder / "cmp" / "compare.json").read_text())["metrics"]
    assert {"test/neg_elbo", "gap/neg_elbo", "test/iwae_nll", "best/test/iwae_nll"} <= set(metrics)
