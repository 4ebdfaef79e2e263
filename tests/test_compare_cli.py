"""vaereg compare end to end in subprocesses: 2 recipes x 2 seeds, reports written,
finished runs reused, an interrupted one resumed in place."""
import json

import pytest
import tomli_w

from cli_process import vaereg
from vaereg.testing import tiny_recipe


def write_recipes(folder):
    (folder / "base.toml").write_text(tomli_w.dumps(tiny_recipe()))
    (folder / "dropout.toml").write_text(tomli_w.dumps(tiny_recipe(plugins={"dropout": {"p": 0.2}})))


TWO_BY_TWO = ("compare", "base.toml", "dropout.toml", "--seeds", "2", "--jobs", "2",
              "--out", "cmp")


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """One compare of 2 recipes x 2 seeds, shared by the tests that need those four runs
    (neither changes them: one compares again, one evaluates them too)."""
    folder = tmp_path_factory.mktemp("compare")
    write_recipes(folder)
    first = vaereg(*TWO_BY_TWO, cwd=folder)
    assert first.returncode == 0, first.stderr
    return folder, first


def test_compare_writes_reports_and_reuses_runs(compared):
    tmp_path, first = compared
    out = tmp_path / "cmp"
    assert all((out / name).is_file() for name in ("compare.md", "compare.json", "compare.png"))
    summary = json.loads((out / "compare.json").read_text())
    assert summary["recipes"] == ["base", "dropout"] and summary["seeds"] == [0, 1]
    row = summary["metrics"]["test/neg_elbo"]["dropout"]
    assert len(row["values"]) == 2 and row["low"] <= row["mean"] <= row["high"]
    assert "change" in row and "change" not in summary["metrics"]["test/neg_elbo"]["base"]
    assert "| dropout |" in first.stdout
    seeds = list(out.glob("*/seed_*/version_*/metrics.json"))
    assert len(seeds) == 4
    stamps = {p: p.stat().st_mtime_ns for p in seeds}

    second = vaereg(*TWO_BY_TWO, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "4 of 4 runs already done; training 0" in second.stderr
    assert {p: p.stat().st_mtime_ns for p in seeds} == stamps
    assert json.loads((out / "compare.json").read_text())["metrics"] == summary["metrics"]


def test_interrupted_run_is_resumed_and_a_changed_recipe_retrained(tmp_path):
    write_recipes(tmp_path)
    args = ("compare", "base.toml", "--seeds", "1", "--out", "cmp")
    assert vaereg(*args, cwd=tmp_path).returncode == 0
    run = tmp_path / "cmp" / "base" / "seed_0" / "version_0"
    (run / "metrics.json").unlink()  # as if stopped after its last checkpoint
    resumed = vaereg(*args, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert (run / "metrics.json").is_file()
    assert sorted(p.name for p in run.parent.glob("version_*")) == ["version_0"]

    changed = vaereg(*args, "--set", "model.latent_dim=3", cwd=tmp_path)
    assert changed.returncode == 0, changed.stderr
    assert (run.parent / "version_1" / "metrics.json").is_file()


def test_compare_refuses_bad_input_before_training(tmp_path):
    write_recipes(tmp_path)
    unknown = vaereg("compare", "base.toml", "--metrics", "diversty", "--out", "cmp", cwd=tmp_path)
    assert unknown.returncode == 2 and "did you mean 'diversity'" in unknown.stderr
    bad_key = vaereg("compare", "base.toml", "--set", "model.latent=3", "--out", "cmp", cwd=tmp_path)
    assert bad_key.returncode == 2 and "Traceback" not in bad_key.stderr
    assert not (tmp_path / "cmp").exists()


def test_readme_command_rows_name_every_option():
    """The README's rows for compare and sweep list exactly the options the CLI takes."""
    import re
    from pathlib import Path

    from vaereg.cli import main

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    for name in ("compare", "sweep"):
        row = next(line for line in readme.splitlines() if line.startswith(f"| `vaereg {name} "))
        usage = row.split("|")[1]
        options = {opt for param in main.commands[name].params if not getattr(param, "hidden", False)
                   for opt in param.opts if opt.startswith("--")}
        assert set(re.findall(r"--[a-z][a-z-]*", usage)) == options, name


def test_figures_on_the_first_test_images_with_k_samples(tmp_path):
    """--iw-samples and --test-images: IWAE with K samples and the other metrics on the
    first N test images, for both checkpoints, cached under keys that name the settings."""
    import torch

    from vaereg.evaluation.run_loading import load_run
    from vaereg.evaluation import reconstruction_errors
    from vaereg.experiments.run_figures import CACHE_FILE, EvalSettings, run_figures
    from vaereg.testing import make_trainer

    trainer = make_trainer(tiny_recipe(data={"test_size": 40}), tmp_path)
    trainer.fit()
    figures = run_figures(trainer.run_dir, ["iwae", "reconstruction"], EvalSettings(3, 10))
    assert figures["test/iwae_k"] == figures["best/test/iwae_k"] == 3
    assert figures["test/iwae_nll"] > 0 and "best/gap/neg_elbo" in figures
    test = load_run(trainer.run_dir, "last")
    with torch.no_grad():
        mse = reconstruction_errors(test.model.reconstruct(test.splits.test.x, None),
                                    test.splits.test.x)["mse"]
    assert figures["test/mse"] == pytest.approx(float(mse[:10].mean()), rel=1e-5)
    assert figures["test/mse"] != pytest.approx(float(mse.mean()), rel=1e-5)
    cache = json.loads((trainer.run_dir / CACHE_FILE).read_text())
    assert {"last:iwae:k=3:first=10", "best:reconstruction:first=10"} <= set(cache)


def test_parallel_evaluations_match_one_process_and_are_kept(compared):
    """--jobs 2 with --metrics, on the shared runs: each run evaluated in a subprocess of
    its own, the figures the same as in this process, cached so the next compare
    evaluates nothing."""
    from pathlib import Path

    from vaereg.experiments.run_figures import CACHE_FILE, EvalSettings, evaluate_checkpoint

    tmp_path, _ = compared
    args = (*TWO_BY_TWO, "--metrics", "active_units")
    first = vaereg(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "4 of 4 runs already done" in first.stderr
    assert "evaluating 4 of 4 runs, 2 at a time" in first.stderr
    folders = sorted((tmp_path / "cmp").glob("*/seed_*/version_0"))
    assert len(folders) == 4 and all((folder / CACHE_FILE).is_file() for folder in folders)
    summary = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    dropout_seed_1 = Path(tmp_path / "cmp" / "dropout" / "seed_1" / "version_0")
    for checkpoint, prefix in (("last", ""), ("best", "best/")):
        here = evaluate_checkpoint(dropout_seed_1, checkpoint, "active_units", EvalSettings())
        row = summary["metrics"][prefix + "test/active_units"]["dropout"]
        assert row["values"][1] == pytest.approx(here["test/active_units"])

    second = vaereg(*args, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "evaluating" not in second.stderr
    assert json.loads((tmp_path / "cmp" / "compare.json").read_text()) == summary


def test_parallel_subprocesses_share_the_cores_unless_the_user_chose(monkeypatch):
    from vaereg.experiments.parallel_processes import child_environment

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 16)
    assert child_environment(4)["OMP_NUM_THREADS"] == "4"
    assert child_environment(32)["OMP_NUM_THREADS"] == "1"
    assert "OMP_NUM_THREADS" not in child_environment(1)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert child_environment(4)["OMP_NUM_THREADS"] == "3"


def test_a_best_checkpoint_with_the_final_weights_reuses_the_final_figures(tmp_path, monkeypatch):
    """Evaluation is seeded, so a best.pt holding last.pt's weights has last.pt's figures:
    taken from the cache, not computed again; a best.pt that differs is evaluated."""
    import shutil

    import torch

    from vaereg.experiments import run_figures as figures_module
    from vaereg.experiments.run_figures import EvalSettings, fill_cache
    from vaereg.testing import make_trainer

    trainer = make_trainer(tiny_recipe(data={"test_size": 40}), tmp_path)
    trainer.fit()
    checkpoints = trainer.run_dir / "checkpoints"
    evaluated = []
    real = figures_module.evaluate_checkpoint
    monkeypatch.setattr(figures_module, "evaluate_checkpoint",
                        lambda folder, checkpoint, *rest: evaluated.append(checkpoint)
                        or real(folder, checkpoint, *rest))
    shutil.copyfile(checkpoints / "last.pt", checkpoints / "best.pt")
    cache = fill_cache(trainer.run_dir, ["iwae"], EvalSettings(3, 10))
    assert evaluated == ["last"] and cache["best:iwae:k=3:first=10"] == cache["last:iwae:k=3:first=10"]

    state = torch.load(checkpoints / "best.pt", weights_only=True)
    first = next(key for key, value in state["model"].items() if value.is_floating_point())
    state["model"][first] += 0.5
    torch.save(state, checkpoints / "best.pt")
    cache = fill_cache(trainer.run_dir, ["iwae"], EvalSettings(3, 20))
    assert evaluated == ["last", "last", "best"]
    assert cache["best:iwae:k=3:first=20"] != cache["last:iwae:k=3:first=20"]
