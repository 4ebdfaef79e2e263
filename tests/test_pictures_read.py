"""Pictures a reader can read: compare.png as a grid of panels with every seed drawn,
sweep.png with its pruned trials, latent_space.png with named classes, and reconstructions
of the classes or the random sample the user asks for."""
import math

import optuna
import pytest
import torch
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial
from PIL import Image

import vaereg
from cli_process import vaereg as vaereg_cli
from image_fixtures import class_folders
from vaereg.evaluation.pictures import chosen_images, latent_space_figure
from vaereg.experiments.compare_report import comparison_figure, plot, summarize
from vaereg.experiments.param_specs import parse_param
from vaereg.experiments.sweep_report import sweep_figure
from vaereg.experiments.sweep_study import SweepSetup
from vaereg.testing import make_trainer, tiny_recipe

RECIPES = ["vanilla", "dropout", "weight_decay"]
METRICS = [f"metric_{k}" for k in range(10)]


def comparison(seeds: int) -> dict:
    """Figures near 290 (a negative ELBO), differing by recipe and seed."""
    figures = {label: [{name: 290.0 + 3 * r + 0.7 * s + 0.1 * m for m, name in enumerate(METRICS)}
                       for s in range(seeds)] for r, label in enumerate(RECIPES)}
    return summarize(RECIPES, figures, list(range(seeds)))


def test_compare_figure_is_a_grid_with_every_seed_and_an_interval_per_recipe(tmp_path):
    summary = comparison(seeds=3)
    figure = comparison_figure(summary)
    shown = [axes for axes in figure.axes if axes.get_visible()]
    assert len(shown) == 10 and len(figure.axes) == 12  # 3 rows of 4, two left empty
    for axes, name in zip(shown, METRICS):
        assert axes.get_title() == name
        dots = sorted(y for collection in axes.collections if collection.get_gid() == "seeds"
                      for _, y in collection.get_offsets())
        values = sorted(v for row in summary["metrics"][name].values() for v in row["values"])
        assert dots == pytest.approx(values)  # each seed of each recipe is a dot
        bars = [line for line in axes.lines if line.get_marker() == "D"]
        assert [y for line in bars for y in line.get_ydata()] == pytest.approx(
            [row["mean"] for row in summary["metrics"][name].values()])
        low, high = axes.get_ylim()
        intervals = [row[k] for row in summary["metrics"][name].values() for k in ("low", "high")]
        assert min(intervals) - low < high - min(intervals)  # no axis from a far-off zero
        assert low <= min(intervals) and high >= max(intervals)
    plot(summary, tmp_path / "compare.png")
    width, height = Image.open(tmp_path / "compare.png").size
    assert width <= 1400 and height < 1000


def test_compare_figure_with_one_seed_draws_the_points_without_intervals():
    summary = comparison(seeds=1)
    axes = comparison_figure(summary).axes[0]
    assert all(math.isnan(row["low"]) for row in summary["metrics"]["metric_0"].values())
    means = [y for line in axes.lines if line.get_marker() == "D" for y in line.get_ydata()]
    assert means == pytest.approx([290.0, 293.0, 296.0])


def test_sweep_figure_draws_pruned_trials_at_their_last_report(tmp_path):
    lr = FloatDistribution(1e-4, 1e-2, log=True)
    study = optuna.create_study()
    for number, (state, reports) in enumerate([(TrialState.COMPLETE, [300, 280, 270]),
                                               (TrialState.PRUNED, [330, 320]),
                                               (TrialState.COMPLETE, [290, 275, 265]),
                                               (TrialState.PRUNED, [340])]):
        study.add_trial(create_trial(
            state=state, value=reports[-1] if state == TrialState.COMPLETE else None,
            params={"optimizer.lr": 10 ** -(2 + number / 2)}, distributions={"optimizer.lr": lr},
            intermediate_values=dict(enumerate(reports))))
    setup = SweepSetup("r.toml", (), (parse_param("optimizer.lr=loguniform(1e-4, 1e-2)"),),
                       "val/neg_elbo", False, tmp_path)
    figure = sweep_figure(study, setup)
    for axes in figure.axes:
        pruned = [c for c in axes.collections if c.get_label() == "pruned (last report)"]
        assert [y for _, y in pruned[0].get_offsets()] == [320, 340]
    history = figure.axes[-1]
    assert [x for c in history.collections if c.get_label() == "pruned (last report)"
            for x, _ in c.get_offsets()] == [1, 3]
    assert history.get_title() == "history: 2 complete, 2 pruned"


@pytest.fixture(scope="module")
def named_classes_run(tmp_path_factory):
    """A run on three class folders (coat 10, shirt 10, boot 4 test images)."""
    root = tmp_path_factory.mktemp("images")
    class_folders(root / "train", {"boot": 16, "coat": 16, "shirt": 16}, size=8, mode="L")
    class_folders(root / "test", {"boot": 4, "coat": 10, "shirt": 10}, size=8, mode="L")
    table = tiny_recipe(run={"epochs": 1},
                        data={"name": "image_folder", "root": str(root), "batch_size": 8})
    trainer = make_trainer(table, tmp_path_factory.mktemp("runs"))
    trainer.fit()
    return trainer.run_dir


def test_latent_space_has_a_legend_of_class_names(named_classes_run):
    figure = latent_space_figure(vaereg.load_run(named_classes_run))
    legend = figure.axes[0].get_legend()
    assert [text.get_text() for text in legend.get_texts()] == ["boot", "coat", "shirt"]
    assert len(figure.axes) == 1  # no colour bar
    counts = [len(c.get_offsets()) for c in figure.axes[0].collections]
    assert counts == [4, 10, 10]


def test_chosen_images_take_turns_between_classes_or_sample_at_random(named_classes_run):
    run = vaereg.load_run(named_classes_run)
    labels = run.splits.test.y
    picked = chosen_images(run, 10, classes=["boot", 2])
    assert labels[picked].tolist() == [0, 2] * 4 + [2, 2]  # boot has 4 test images
    assert picked.tolist()[:2] == [0, 14]  # the first of each class, in split order
    first = chosen_images(run, 6)
    sample = chosen_images(run, 6, at_random=True, seed=3)
    assert first.tolist() == list(range(6)) and sample.tolist() != first.tolist()
    assert torch.equal(sample, chosen_images(run, 6, at_random=True, seed=3))
    assert len(set(sample.tolist())) == 6
    random_coats = chosen_images(run, 5, classes=["coat"], at_random=True, seed=1)
    assert set(labels[random_coats].tolist()) == {1}
    assert random_coats.tolist() != chosen_images(run, 5, classes=["coat"]).tolist()


def test_reconstruct_command_takes_classes_and_random_samples(named_classes_run, tmp_path):
    out = tmp_path / "coats.png"
    made = vaereg_cli("reconstruct", str(named_classes_run), "--class", "coat", "--class", "0",
                      "--n", "4", "--out", str(out), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert Image.open(out).size == (8 * 10 + 2, 10 + 2)  # 4 pairs of 8x8 images in a row
    sample = vaereg_cli("reconstruct", str(named_classes_run), "--random", "--seed", "2",
                        "--n", "6", "--out", str(tmp_path / "r.png"), cwd=tmp_path)
    assert sample.returncode == 0, sample.stderr
    bad = vaereg_cli("reconstruct", str(named_classes_run), "--class", "cot", cwd=tmp_path)
    assert bad.returncode == 2 and "no class 'cot' (did you mean 'coat'?)" in bad.stderr
