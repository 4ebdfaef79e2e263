"""A recipe that extends another and switches the dataset or the model inherits the
core's keys but none of the old dataset's (model's) options; a problem in a key a base
recipe set is blamed on that base file."""
from pathlib import Path

import pytest
import tomli_w

from cli_process import vaereg
from image_fixtures import write_images
from vaereg.core.common.errors import RecipeError
from vaereg.core.recipes.recipe import load_recipe

VANILLA = Path(__file__).parents[1] / "recipes" / "vanilla.toml"


def write(path, table):
    path.write_text(tomli_w.dumps(table))
    return path


def test_switching_to_an_image_folder_keeps_core_keys_and_drops_fashion_mnists(tmp_path):
    write_images(tmp_path / "images", 40, size=8, mode="L")
    write(tmp_path / "base.toml", {"extends": str(VANILLA), "model": {"latent_dim": 5}})
    child = write(tmp_path / "mine.toml", {
        "extends": "base.toml", "run": {"out_dir": "runs", "epochs": 1, "device": "cpu"},
        "data": {"name": "image_folder", "root": "images", "batch_size": 8}})
    recipe = load_recipe(child)
    assert recipe.data.name == "image_folder" and recipe.data.loader.batch_size == 8
    assert recipe.model.options.latent_dim == 5  # the model did not change: all kept
    checked = vaereg("validate", "mine.toml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    trained = vaereg("run", "mine.toml", "--quiet", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    assert "test/neg_elbo" in trained.stdout


def test_core_data_keys_carry_over_a_switch(tmp_path):
    base = write(tmp_path / "base.toml", {"data": {"name": "fashion_mnist", "batch_size": 32,
                                                   "seed": 7, "classes": [0, 1],
                                                   "train_size": 500}})
    child = write(tmp_path / "child.toml", {"extends": "base.toml",
                                            "data": {"name": "mnist"}})
    recipe = load_recipe(child)
    assert recipe.data.loader.batch_size == 32 and recipe.data.loader.classes == (0, 1)
    assert recipe.data_seed == 7
    assert recipe.data.options.train_size != 500  # fashion_mnist's option, not carried
    assert load_recipe(base).data.options.train_size == 500


def test_switching_the_model_drops_the_old_models_options(tmp_path):
    child = write(tmp_path / "child.toml", {"extends": str(VANILLA),
                                            "model": {"name": "wae_mmd", "lam": 10.0}})
    model = load_recipe(child).model
    assert model.name == "wae_mmd" and model.options.lam == 10.0
    assert model.options.hidden_dims is None  # vanilla.toml's [512, 256] not inherited
    same = write(tmp_path / "same.toml", {"extends": str(VANILLA),
                                          "model": {"name": "vanilla", "latent_dim": 4}})
    assert load_recipe(same).model.options.hidden_dims == (512, 256)  # no switch: kept


def test_a_problem_in_a_base_key_names_the_base_file(tmp_path):
    write(tmp_path / "base.toml", {"data": {"trian_size": 100}, "run": {"epochs": 2}})
    child = write(tmp_path / "child.toml", {"extends": "base.toml", "run": {"epochs": -1}})
    with pytest.raises(RecipeError) as error:
        load_recipe(child)
    blamed = {problem.key: problem.source for problem in error.value.problems}
    assert blamed == {"data.trian_size": str(tmp_path / "base.toml"),
                      "run.epochs": str(child)}
    result = vaereg("validate", "child.toml", cwd=tmp_path)
    assert result.returncode == 2 and "base.toml: data.trian_size" in result.stderr
    assert "child.toml: run.epochs" in result.stderr and "Traceback" not in result.stderr


def test_set_data_name_switches_the_dataset_as_a_recipe_does(tmp_path):
    write_images(tmp_path / "images", 40, size=8, mode="L")
    root = str(tmp_path / "images")
    base = write(tmp_path / "base.toml", {"extends": str(VANILLA),
                                          "data": {"batch_size": 32, "val_size": 1234}})
    for order in (("data.name=image_folder", f"data.root={root}"),
                  (f"data.root={root}", "data.name=image_folder")):
        recipe = load_recipe(base, order)
        assert recipe.data.name == "image_folder" and recipe.data.options.root == root
        assert recipe.data.loader.batch_size == 32  # a core key: carried over
    kept = load_recipe(base, ["data.name=fashion_mnist"])  # no switch: options kept
    assert kept.data.options.val_size == 1234
    checked = vaereg("validate", str(VANILLA), "--set", "data.name=image_folder",
                     "--set", f"data.root={root}", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr


def test_set_model_name_switches_the_model_and_keeps_its_set_keys(tmp_path):
    for order in (("model.name=wae_mmd", "model.lam=10.0"),
                  ("model.lam=10.0", "model.name=wae_mmd")):
        model = load_recipe(VANILLA, order).model
        assert model.name == "wae_mmd" and model.options.lam == 10.0
        assert model.options.hidden_dims is None  # vanilla.toml's [512, 256] dropped
    with pytest.raises(RecipeError) as error:  # a key of neither model is still refused
        load_recipe(VANILLA, ["model.name=wae_mmd", "model.lamm=1.0"])
    assert [(p.source, p.key) for p in error.value.problems] == [("--set", "model.lamm")]
