"""The class_head plugin: a linear classifier on the encoder's features, trained with the
VAE by a cross-entropy term."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch.nn import functional as F

from vaereg import DATASETS, VaeregError, load_run
from vaereg.testing import SyntheticImages, check_conformance, make_trainer, registered, tiny_recipe


def first_objective(trainer):
    """The objective of the first training batch after the plugins' transform, and the batch."""
    batch = next(iter(trainer.splits.train.batches(16)))
    objective = trainer.training_step(batch)
    trainer.hook.transform_objective(trainer=trainer, objective=objective, batch=batch)
    return objective, batch


def test_the_term_is_the_heads_cross_entropy_on_the_features(tmp_path):
    trainer = make_trainer(tiny_recipe(plugins={"class_head": {"weight": 5.0}}), tmp_path)
    head = trainer.model.class_head
    assert (head.in_features, head.out_features) == (16, 10)  # last hidden width, classes
    objective, batch = first_objective(trainer)
    assert objective.weights["class_ce"] == 5.0
    expected = F.cross_entropy(head(trainer.model.features(batch.x)), batch.y, reduction="none")
    assert torch.allclose(objective.terms["class_ce"], expected)
    assert objective.terms["class_ce"].requires_grad  # it trains encoder and head


def head_accuracy(trainer):
    split = trainer.splits.val
    with torch.no_grad():
        logits = trainer.model.class_head(trainer.model.features(split.x))
    return (logits.argmax(1) == split.y).double().mean().item()


def test_training_teaches_the_head_the_classes_and_weight_zero_does_not(tmp_path):
    table = tiny_recipe(run={"epochs": 8}, optimizer={"lr": 1e-2},
                        plugins={"class_head": {"weight": 10.0}})
    trained = make_trainer(table, tmp_path / "a")
    before = head_accuracy(trained)
    trained.fit()
    assert head_accuracy(trained) >= 0.9 > before + 0.3
    idle = make_trainer(tiny_recipe(run={"epochs": 8}, plugins={"class_head": {"weight": 0.0}}),
                        tmp_path / "b")
    start = idle.model.class_head.weight.detach().clone()
    idle.fit()
    assert torch.equal(idle.model.class_head.weight, start)  # weight 0: no gradient reaches it


def test_the_head_is_saved_and_loaded_with_the_model(tmp_path):
    trainer = make_trainer(tiny_recipe(plugins={"class_head": {}}), tmp_path)
    trainer.fit()
    run = load_run(trainer.run_dir, checkpoint="last")
    assert torch.equal(run.model.class_head.weight, trainer.model.class_head.weight.cpu())


#: every built-in model but the conditional one (refused), and a conv backbone
MODELS = {"vanilla": {"name": "vanilla"}, "infovae": {"name": "infovae"},
          "wae_mmd": {"name": "wae_mmd"},
          "wae_mmd_gaussian": {"name": "wae_mmd", "deterministic": False},
          "vanilla_conv": {"name": "vanilla", "backbone": "conv", "hidden_dims": [4, 8]}}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_conformance_on_every_model(tmp_path, name):
    table = tiny_recipe(model=MODELS[name], plugins={"class_head": {"weight": 2.0}})
    if name == "vanilla_conv":
        table["data"]["image_size"] = 8
    metrics = check_conformance(table, tmp_path)  # finite, and resumes bit-identically
    assert "train_running/class_ce" in metrics["history"][-1]


RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "class_head.toml"
SHORT = ("run.epochs=1", "run.device='cpu'", "run.progress=false", "data.train_size=256",
         "data.val_size=128")


def vaereg_run(tmp_path, *overrides):
    sets = [arg for item in (*SHORT, f"run.out_dir='{tmp_path}'", *overrides)
            for arg in ("--set", item)]
    return subprocess.run([sys.executable, "-m", "vaereg", "run", str(RECIPE), *sets],
                          capture_output=True, text=True, timeout=300)


def test_the_recipe_runs_as_a_user_types_it_and_bad_input_exits_2(tmp_path):
    done = vaereg_run(tmp_path)
    assert done.returncode == 0, done.stderr
    metrics = json.loads((tmp_path / "class_head" / "version_0" / "metrics.json").read_text())
    assert metrics["plugins"]["class_head"]["weight"] == 10.0  # the recipe's
    assert metrics["history"][0]["train_running/class_ce"] > 0  # real Fashion-MNIST labels
    for overrides, message in ((("plugins.class_head.weight=-1",), "plugins.class_head.weight"),
                               (("model.name='cvae'",), "the model is conditional")):
        refused = vaereg_run(tmp_path / "refused", *overrides)
        assert refused.returncode == 2 and message in refused.stderr
        assert "Traceback" not in refused.stderr


def test_a_conditional_model_is_refused(tmp_path):
    with pytest.raises(VaeregError, match="conditional, so its encoder reads the label"):
        make_trainer(tiny_recipe(model={"name": "cvae"}, plugins={"class_head": {}}), tmp_path)


class Unlabelled(SyntheticImages):
    num_classes = 0


def test_data_without_classes_is_refused(tmp_path):
    with registered("unlabelled_synthetic", Unlabelled, DATASETS):
        with pytest.raises(VaeregError, match="needs labelled data with at least 2 classes"):
            make_trainer(tiny_recipe(data={"name": "unlabelled_synthetic"},
                                     plugins={"class_head": {}}), tmp_path)
