"""Recipe loading: extends, overrides, validation that reports every problem clearly."""
import tomllib
from pathlib import Path

import pytest

from vaereg import RecipeError, load_recipe
from vaereg.testing import tiny_recipe

RECIPES = Path(__file__).resolve().parents[1] / "recipes"


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def problems(**kwargs) -> list[str]:
    with pytest.raises(RecipeError) as caught:
        load_recipe(**kwargs)
    return [str(p) for p in caught.value.problems]


def test_shipped_recipes_validate():
    for path in sorted(RECIPES.glob("**/*.toml")):
        recipe = load_recipe(path)
        assert recipe.run.name


def test_default_job_is_mlp_vae_with_dropout_on_both_parts():
    recipe = load_recipe(RECIPES / "vanilla_dropout.toml")
    assert recipe.model.options.backbone == "mlp"
    assert recipe.model.options.hidden_dims == (512, 256)
    assert [(s.name, s.options.p, s.options.where) for s in recipe.plugins] == [("dropout", 0.2, "both")]
    assert recipe.optimizer.name == "adam" and recipe.optimizer.options.lr == 1e-3
    assert load_recipe(RECIPES / "vanilla.toml").plugins == ()


def test_extends_deep_merges_relative_to_the_file(tmp_path):
    (tmp_path / "sub").mkdir()
    write(tmp_path / "base.toml", '[run]\nname = "base"\nepochs = 3\n[model]\nlatent_dim = 8\n')
    child = write(tmp_path / "sub" / "child.toml",
                  'extends = "../base.toml"\n[run]\nepochs = 5\n[plugins.dropout]\np = 0.1\n')
    recipe = load_recipe(child)
    assert (recipe.run.name, recipe.run.epochs, recipe.model.options.latent_dim) == ("base", 5, 8)
    assert recipe.plugins[0].options.p == 0.1


def test_extends_cycle_and_missing_file_are_reported(tmp_path):
    write(tmp_path / "a.toml", 'extends = "b.toml"\n')
    write(tmp_path / "b.toml", 'extends = "a.toml"\n')
    assert any("cycle" in p for p in problems(path=tmp_path / "a.toml"))
    write(tmp_path / "c.toml", 'extends = "nowhere.toml"\n')
    assert any("not found" in p and "nowhere.toml" in p for p in problems(path=tmp_path / "c.toml"))


def test_overrides_are_toml_literals(tmp_path):
    recipe = load_recipe(RECIPES / "vanilla_dropout.toml", overrides=[
        "plugins.dropout.p=0.3", "run.epochs=2", "model.hidden_dims=[64, 32]",
        "run.device=cpu", 'run.name="x"'])
    assert recipe.plugin("dropout").options.p == 0.3
    assert recipe.run.epochs == 2 and recipe.run.device == "cpu" and recipe.run.name == "x"
    assert recipe.model.options.hidden_dims == (64, 32)


def test_override_values_are_never_evaluated():
    recipe_problems = problems(path=RECIPES / "vanilla.toml",
                               overrides=["run.name=__import__('os').getcwd()"])
    assert any("run.name" in p for p in recipe_problems)


def test_every_problem_is_reported_with_file_key_expected_found_and_suggestion(tmp_path):
    path = write(tmp_path / "bad.toml", """
[run]
epoch = 3
seed = true
[model]
latent_dim = 0
likelihood = "poisson"
[optimizer]
lr = "fast"
[plugins.dropuot]
p = 0.2
[plugins.dropout]
p = 1.5
[trainer]
x = 1
""")
    found = problems(path=path)
    text = "\n".join(found)
    assert all(p.startswith(str(path)) for p in found)
    assert "run.epoch: unknown key (did you mean 'epochs'?)" in text
    assert "run.seed: expected an integer, found boolean true" in text
    assert "model.latent_dim: expected a positive finite number, found number 0" in text
    assert "model.likelihood: expected one of 'bernoulli', 'gaussian', found string 'poisson'" in text
    assert "optimizer.lr: expected a number, found string 'fast'" in text
    assert "plugins.dropuot: unknown plugin 'dropuot' (did you mean 'dropout'?)" in text
    assert "plugins.dropout.p: expected a number in [0, 1), found number 1.5" in text
    assert "trainer: unknown section" in text
    assert len(found) == 8


def test_true_is_not_a_number():
    found = problems(table=tiny_recipe(plugins={"dropout": {"p": True}}))
    assert found == ["<recipe table>: plugins.dropout.p: expected a number, found boolean true"]


def test_problems_from_overrides_name_the_override():
    found = problems(path=RECIPES / "vanilla.toml", overrides=["run.epohcs=2"])
    assert found[0].startswith("--set: run.epohcs: unknown key (did you mean 'epochs'?)")


def test_malformed_toml_names_the_file_and_line(tmp_path):
    path = write(tmp_path / "broken.toml", "[run\nname = 1\n")
    (problem,) = problems(path=path)
    assert str(path) in problem and "malformed TOML" in problem and "line 1" in problem


def test_run_name_cannot_escape_the_output_folder():
    for name in ["../up", "a/b", "/abs", "..", "a\x00b"]:
        found = problems(table=tiny_recipe(run={"name": name}))
        assert found and "run.name" in found[0], name


def test_resolved_recipe_round_trips(tmp_path):
    import tomli_w
    recipe = load_recipe(RECIPES / "vanilla_dropout.toml", overrides=["run.epochs=1"])
    text = tomli_w.dumps(recipe.to_table())
    again = load_recipe(table=tomllib.loads(text))
    assert again.to_table() == recipe.to_table()
