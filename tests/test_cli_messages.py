"""Messages that must be true (issue 14): each blames the input that is wrong and says
what to type instead. Run as a user would, in a subprocess."""
from pathlib import Path

import tomli_w

from cli_process import run_recipe, vaereg
from vaereg.cli import warning_line
from vaereg.testing import tiny_recipe

ROOT = Path(__file__).resolve().parents[1]


def test_a_section_made_up_by_set_is_blamed_on_set(tmp_path):
    result = vaereg("validate", str(ROOT / "recipes" / "vanilla.toml"),
                    "--set", "schedular.name=cosine", cwd=tmp_path)
    assert result.returncode == 2
    assert "  - --set: schedular: unknown section (did you mean 'scheduler'?)" in result.stderr
    assert "vanilla.toml: schedular" not in result.stderr


def test_a_file_key_changed_deeper_by_set_is_blamed_on_the_file(tmp_path):
    recipe = tmp_path / "r.toml"
    recipe.write_text(tomli_w.dumps(tiny_recipe(plugins={"dropuot": {"p": 0.2}})))
    result = vaereg("validate", str(recipe), "--set", "plugins.dropuot.p=0.3",
                    "--set", "plugins.dropuot.pp=1", "--set", "run.epochs=-1", cwd=tmp_path)
    assert result.returncode == 2
    assert f"  - {recipe}: plugins.dropuot: unknown plugin 'dropuot'" in result.stderr
    assert "  - --set: run.epochs: expected" in result.stderr


def test_set_with_a_space_instead_of_equals_shows_the_right_form(tmp_path):
    for args in (["run", "r.toml", "--set", "run.epochs", "3"],
                 ["run", "--set", "run.epochs", "3", "r.toml"]):
        result = vaereg(*args, cwd=tmp_path)
        assert result.returncode == 2
        assert "--set run.epochs=3" in result.stderr
        assert "unexpected extra argument" not in result.stderr


def test_resume_of_a_run_name_lists_its_versions(tmp_path):
    name = tmp_path / "runs" / "demo"
    (name / "version_0").mkdir(parents=True)
    (name / "version_1" / "checkpoints").mkdir(parents=True)
    (name / "version_1" / "recipe.toml").write_text("")
    (name / "version_1" / "checkpoints" / "last.pt").write_bytes(b"")
    result = vaereg("run", "--resume", str(name), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "version_0 (no checkpoint), version_1" in result.stderr
    assert f"vaereg run --resume {name / 'version_1'}" in result.stderr


def test_plugins_lists_models_and_datasets_and_finds_a_name_in_any_group(tmp_path):
    listing = vaereg("plugins", cwd=tmp_path).stdout.splitlines()
    headings = [line for line in listing if line.endswith(":")]
    assert [h.split()[0] for h in headings] == ["plugins", "models", "datasets"]
    datasets = listing[listing.index(headings[2]) + 1:]
    assert any(line.startswith("fashion_mnist ") for line in datasets)
    detail = vaereg("plugins", "fashion_mnist", cwd=tmp_path)
    assert detail.returncode == 0
    assert detail.stdout.startswith("fashion_mnist (dataset, distribution vaereg")
    assert "  val_size = 5000  (an integer)" in detail.stdout
    model = vaereg("plugins", "vanilla", cwd=tmp_path)
    assert model.stdout.startswith("vanilla (model,") and "latent_dim" in model.stdout
    unknown = vaereg("plugins", "fashon_mnist", cwd=tmp_path)
    assert unknown.returncode == 2 and "did you mean 'fashion_mnist'" in unknown.stderr


def test_vaereg_s_warnings_print_as_one_line_others_as_python_prints_them(tmp_path):
    table = tiny_recipe(run={"epochs": 1, "on_nonfinite": "skip", "out_dir": "runs"},
                        plugins={"test_nonfinite": {"step": 3}})
    result = run_recipe(tmp_path, table)
    assert result.returncode == 0, result.stderr
    assert ("\nwarning: skipped step 3 (epoch 1/1, batch 3): non-finite loss term "
            "'penalty/boom' = nan\n") in "\n" + result.stderr
    assert "RuntimeWarning" not in result.stderr and "warnings.warn(" not in result.stderr
    foreign = warning_line("deprecated", UserWarning, "/elsewhere/module.py", 7)
    assert foreign.startswith("/elsewhere/module.py:7: UserWarning: deprecated")
