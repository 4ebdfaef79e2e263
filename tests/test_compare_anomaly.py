"""`vaereg compare --anomaly` end to end in subprocesses, on runs trained on an
MVTec-layout folder: the anomaly and localization figures of every run's evaluation
folders in the table, paired by seed, beside the likelihood figures; finished
evaluations reused; and a resume that changes the weights makes them stale."""
from __future__ import annotations

import json

import pytest
import tomli_w

from cli_process import vaereg
from image_fixtures import mvtec_folder
from vaereg.evaluation.stale_evaluations import STALE_FILE, file_digest
from vaereg.experiments.compare_rows import ordered, sections
from vaereg.experiments.statistics import paired_difference
from vaereg.testing import tiny_recipe

EVAL = "eval/{}-test-labelled-defects/eval.json"


def write_recipes(folder):
    mvtec_folder(folder / "data", train=24, good=4, defects={"bright": 3, "dark": 2}, size=8)
    data = {"name": "image_folder", "root": str(folder / "data"), "batch_size": 8}
    (folder / "base.toml").write_text(tomli_w.dumps(tiny_recipe(data=data)))
    (folder / "dropout.toml").write_text(tomli_w.dumps(
        tiny_recipe(data=data, plugins={"dropout": {"p": 0.2}})))


def eval_figures(run_dir, checkpoint):
    return json.loads((run_dir / EVAL.format(checkpoint)).read_text())["metrics"]


COMPARE = ("compare", "base.toml", "dropout.toml", "--seeds", "2", "--jobs", "2",
           "--anomaly", "--set", "run.epochs=1", "--out", "cmp")


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """One compare of two recipes over two seeds, shared: the first test reads it and
    runs it again (all reused); the stale-evaluation test, last in this file, then
    resumes base's seed 0 in it (training and evaluating four runs takes most of both
    tests' time)."""
    folder = tmp_path_factory.mktemp("compare_anomaly")
    write_recipes(folder)
    first = vaereg(*COMPARE, cwd=folder)
    assert first.returncode == 0, first.stderr
    return folder, first


def test_anomaly_figures_paired_by_seed_beside_the_likelihood(compared):
    tmp_path, first = compared
    summary = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert summary["anomaly_protocol"] == "labelled defects"
    headline = json.loads((tmp_path / "cmp" / "base" / "seed_0" / "version_0"
                           / EVAL.format("last")).read_text())["anomaly/headline"]
    assert summary["headline"] == headline
    names = list(summary["metrics"])
    assert names[:6] == [f"anomaly/{headline}/auroc", f"best/anomaly/{headline}/auroc",
                         "test/neg_elbo", "best/test/neg_elbo", "gap/neg_elbo", "best/gap/neg_elbo"]
    assert first.stdout.index(f"## headline anomaly score {headline}") < first.stdout.index(
        "## test/neg_elbo")
    for name in ("anomaly/neg_elbo/auroc", "best/anomaly/mse/auroc", "anomaly/gaussian_max/auroc",
                 "localization/nll/pixel_auprc", "best/localization/intensity/best_dice",
                 "localization/gaussian/aupro"):
        assert name in names, name
    assert not any("/bright/" in name or name.endswith("_ci") for name in names)
    assert names == ordered(names, headline)

    runs = {(label, seed): tmp_path / "cmp" / label / f"seed_{seed}" / "version_0"
            for label in ("base", "dropout") for seed in (0, 1)}
    for name, checkpoint in (("anomaly/neg_elbo/auroc", "last"),
                             ("best/localization/nll/pixel_auprc", "best")):
        key = name.removeprefix("best/")
        values = {label: [eval_figures(runs[label, seed], checkpoint)[key] for seed in (0, 1)]
                  for label in ("base", "dropout")}
        rows = summary["metrics"][name]
        assert rows["base"]["values"] == values["base"]
        assert rows["dropout"]["values"] == values["dropout"]
        paired = paired_difference(values["dropout"], values["base"])
        assert rows["dropout"]["change"]["mean"] == pytest.approx(paired.mean)
        assert rows["dropout"]["change"]["low"] == pytest.approx(paired.low)
    assert "## image-level AUROC, final weights" in first.stdout
    assert "## localization pixel_auprc, best-validation checkpoint" in first.stdout
    assert "| score | base | dropout | dropout - base |" in first.stdout
    assert "\n| neg_elbo | " in first.stdout

    stamps = {path: path.stat().st_mtime_ns for path in (tmp_path / "cmp").rglob("eval.json")}
    assert len(stamps) == 8  # 4 runs x 2 checkpoints
    second = vaereg(*COMPARE, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "evaluating" not in second.stderr
    assert {path: path.stat().st_mtime_ns for path in stamps} == stamps
    assert json.loads((tmp_path / "cmp" / "compare.json").read_text()) == summary


def test_a_resume_that_changes_the_weights_makes_evaluations_stale(compared):
    """In the shared compare: eval, resume with one more epoch (marks the evaluation of
    last.pt stale, naming its new identity), then compare: the stale evaluation is made
    again, not reused."""
    tmp_path, _ = compared
    compare = ("compare", "base.toml", "--seeds", "1", "--anomaly", "--out", "cmp")
    run_dir = tmp_path / "cmp" / "base" / "seed_0" / "version_0"
    folder = (run_dir / EVAL.format("last")).parent
    assert not (folder / "heat_maps").exists()  # compare draws no heat maps
    drawn = vaereg("eval", str(run_dir), "--checkpoint", "last", "--anomaly",
                   "--projector-points", "0", cwd=tmp_path)
    assert drawn.returncode == 0 and (folder / "heat_maps").is_dir()
    before = json.loads((folder / "eval.json").read_text())
    assert before["checkpoint"]["epoch"] == 1
    assert before["checkpoint"]["sha256"] == file_digest(run_dir / "checkpoints" / "last.pt")

    resumed = vaereg("run", "--resume", str(run_dir), "--set", "run.epochs=2", "--quiet",
                     cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert f"stale: {folder} (last.pt now holds epoch 2" in resumed.stderr
    mark = json.loads((folder / STALE_FILE).read_text())
    assert mark["name"] == "last" and mark["epoch"] == 2 and mark["evaluated"]["epoch"] == 1
    assert mark["sha256"] == file_digest(run_dir / "checkpoints" / "last.pt")

    again = vaereg(*compare, "--set", "run.epochs=2", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "1 of 1 runs already done" in again.stderr and "evaluating 1 of 1 runs" in again.stderr
    after = json.loads((folder / "eval.json").read_text())
    assert after["checkpoint"]["epoch"] == 2 and not (folder / STALE_FILE).exists()
    assert not (folder / "heat_maps").exists()  # those of the old weights went with them
    summary = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert summary["metrics"]["anomaly/neg_elbo/auroc"]["base"]["values"] == [
        after["metrics"]["anomaly/neg_elbo/auroc"]]


def test_compare_refuses_two_protocols_and_an_unknown_dataset_before_training(tmp_path):
    write_recipes(tmp_path)
    both = vaereg("compare", "base.toml", "--anomaly", "--ood", "mnist", "--out", "cmp",
                  cwd=tmp_path)
    assert both.returncode == 2 and "choose one anomaly protocol" in both.stderr
    unknown = vaereg("compare", "base.toml", "--ood", "mnsit", "--out", "cmp", cwd=tmp_path)
    assert unknown.returncode == 2 and "mnist" in unknown.stderr
    assert "Traceback" not in unknown.stderr and not (tmp_path / "cmp").exists()


def test_the_headline_score_leads_the_table():
    names = ["test/neg_elbo", "anomaly/neg_elbo/auroc", "anomaly/mse/auroc",
             "best/anomaly/mse/auroc", "localization/nll/pixel_auprc",
             "best/anomaly/neg_elbo/auroc"]
    assert ordered(names, "mse") == ["anomaly/mse/auroc", "best/anomaly/mse/auroc",
                                     "test/neg_elbo", "anomaly/neg_elbo/auroc",
                                     "best/anomaly/neg_elbo/auroc",
                                     "localization/nll/pixel_auprc"]
    assert ordered(names)[:2] == ["test/neg_elbo", "anomaly/neg_elbo/auroc"]
    first = sections(names, "mse")[0]
    assert first.title.startswith("headline anomaly score mse")
    assert [label for label, _ in first.rows] == ["final weights", "best-validation checkpoint"]


def test_the_headline_is_the_one_most_runs_name_in_their_eval_json():
    from vaereg.experiments.anomaly_figures import common_headline, headline_score

    assert headline_score({"anomaly/headline": "recon", "metrics": {}}) == "recon"
    assert headline_score({"metrics": {"anomaly/mse/auroc": 0.7}}) is None
    assert common_headline(["neg_elbo", "mse", None, "mse"]) == "mse"
    assert common_headline(["recon", "mse"]) == "recon" and common_headline([None]) is None
