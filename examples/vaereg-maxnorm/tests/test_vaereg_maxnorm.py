"""The plugin's own tests, written as docs/writing-plugins.md teaches, with vaereg.testing."""
from vaereg.testing import HookRecorder, check_conformance, make_trainer, tiny_recipe

from vaereg_maxnorm import apply_max_norm, largest_unit_norm

CAP = 0.3  # below the default initialization's unit norms (about 0.58 for 784 inputs)


def test_functional_form_caps_every_hidden_unit(tmp_path):
    model = make_trainer(tiny_recipe(model={"backbone": "conv", "hidden_dims": [4, 8]}),
                         tmp_path).model
    assert largest_unit_norm(model) > CAP
    apply_max_norm(model, max_norm=CAP)
    assert largest_unit_norm(model) <= CAP * (1 + 1e-5)


def test_plugin_survives_train_checkpoint_resume_and_reports_its_effect(tmp_path):
    metrics = check_conformance(tiny_recipe(plugins={"maxnorm": {"max_norm": CAP}}), tmp_path)
    assert metrics["maxnorm/largest_norm"] <= CAP * (1 + 1e-5)


def test_hooks_run_before_the_recorder(tmp_path):
    recorder = HookRecorder()
    trainer = make_trainer(tiny_recipe(run={"epochs": 1}, plugins={"maxnorm": {"max_norm": CAP}}),
                           tmp_path, extra_plugins=(("recorder", recorder),))
    trainer.fit()
    assert recorder.calls.count("on_batch_end") == 4  # 1 epoch x 4 batches
    assert largest_unit_norm(trainer.model) <= CAP * (1 + 1e-5)


def test_bars_dataset_trains_by_name(tmp_path):
    recipe = tiny_recipe(run={"epochs": 1}, data={"name": "bars", "train_size": 32})
    trainer = make_trainer(recipe, tmp_path)
    metrics = trainer.fit()
    assert trainer.model.input_shape == (1, 8, 8)
    assert metrics["test/neg_elbo"] > 0
