"""`vaereg score RUN_DIR PATH...` in real subprocesses on a run trained on an MVTec-layout
folder: conformal p-values against a stored calibration, flags, maps, heat maps, and bad
files refused by name."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch

from cli_process import vaereg
from vaereg.core.run_folder.checkpoint import load_checkpoint, save_checkpoint
from vaereg.evaluation.stale_evaluations import file_digest
from vaereg.evaluation.conformal import benjamini_hochberg, conformal_p_values
from vaereg.evaluation.scorer_graph import GRAPH_MAPS, MAP_ORDER
from vaereg.testing import make_trainer, tiny_recipe

from image_fixtures import mvtec_folder, write_images


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("score")
    mvtec_folder(root / "data", train=60, good=4, defects={"bright": 3}, size=12)
    table = tiny_recipe(run={"epochs": 1},
                        data={"name": "image_folder", "root": str(root / "data"),
                              "batch_size": 8, "val_fraction": 0.3})
    trainer = make_trainer(table, root / "runs")
    trainer.fit()
    return trainer.run_dir


def read_rows(folder):
    with open(folder / "scores.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_scores_p_values_and_flags_follow_the_stored_calibration(run_dir, tmp_path):
    data = run_dir.parents[2] / "data"
    result = vaereg("score", str(run_dir), str(data / "test" / "bright"),
                    str(data / "test" / "good" / "0001.png"), "--alpha", "0.2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    folder = run_dir / "scored" / "best-0"
    assert "4 images scored" in result.stdout and str(folder) in result.stdout
    rows = read_rows(folder)
    assert [row["path"].split("/")[-2:] for row in rows] == [
        ["bright", "0000.png"], ["bright", "0001.png"], ["bright", "0002.png"],
        ["good", "0001.png"]]
    calibration = json.loads((run_dir / "calibration" / "best.json").read_text())
    assert calibration["checkpoint"]["sha256"] == file_digest(run_dir / "checkpoints" / "best.pt")
    assert len(calibration["scores"]["neg_elbo"]) == 18  # 30% of the 60 training images
    for column, score in (("p_value", "neg_elbo"), ("p_value/nll_max", "nll_max")):
        expected = conformal_p_values(torch.tensor(calibration["scores"][score]),
                                      torch.tensor([float(row[score]) for row in rows]))
        assert [float(row[column]) for row in rows] == pytest.approx(expected.tolist(), abs=1e-6)
    assert [row["flagged"] for row in rows] == [str(int(float(row["p_value"]) <= 0.2))
                                                for row in rows]
    with np.load(folder / "maps.npz") as maps:
        assert maps["nll"].shape == (4, 12, 12) and maps["gaussian"].dtype == np.float32
    assert len(list((folder / "heat_maps").glob("*.png"))) == 4
    stamp = (run_dir / "calibration" / "best.json").stat().st_mtime_ns
    again = vaereg("score", str(run_dir), str(data / "test" / "bright"), "--fdr",
                   "--alpha", "0.5", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert (run_dir / "calibration" / "best.json").stat().st_mtime_ns == stamp  # reused
    rows = read_rows(run_dir / "scored" / "best-1")  # a new folder, the first one kept
    p = torch.tensor([float(row["p_value"]) for row in rows], dtype=torch.float64)
    assert [row["flagged"] for row in rows] == [str(int(v)) for v in
                                                benjamini_hochberg(p, 0.5).tolist()]
    assert len(read_rows(folder)) == 4


def test_maps_and_heat_maps_choose_what_is_made_without_changing_the_numbers(run_dir, tmp_path):
    data = run_dir.parents[2] / "data"
    calibration = run_dir / "calibration" / "best.json"
    calibration.unlink(missing_ok=True)
    folders = {}
    for maps in (None, "all", "residual,restoration"):
        folders[maps] = tmp_path / str(maps)
        pictures = () if maps == "all" else ("--no-heat-maps",) if maps else ("--heat-maps",)
        result = vaereg("score", str(run_dir), str(data / "test" / "bright"), "--out",
                        str(folders[maps]), *(("--maps", maps) if maps else ()), *pictures,
                        cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        stored = json.loads(calibration.read_text())
        if maps is None:  # the default calibrates only what it scores: no input gradients
            assert set(stored["pixel_thresholds"]) == set(GRAPH_MAPS)
    assert set(stored["pixel_thresholds"]) == set(MAP_ORDER)  # grown by "all", then kept
    default, every, two = (read_rows(folders[maps]) for maps in (None, "all",
                                                                 "residual,restoration"))
    with np.load(folders[None] / "maps.npz") as arrays:
        assert set(arrays.files) == set(GRAPH_MAPS)
    with np.load(folders["residual,restoration"] / "maps.npz") as arrays:
        assert set(arrays.files) == {"residual", "restoration"}
    assert len(list((folders["all"] / "heat_maps").glob("*.png"))) == 3
    assert not (folders["residual,restoration"] / "heat_maps").exists()  # --no-heat-maps
    assert "gradient_max" in every[0] and "gradient_max" not in default[0]
    assert [column for column in every[0] if column in default[0]] == list(default[0])
    assert {c for c in two[0] if "_max" in c or "_top1pct" in c} == {
        "residual_max", "residual_top1pct", "restoration_max", "restoration_top1pct",
        "p_value/residual_max", "p_value/residual_top1pct", "p_value/restoration_max",
        "p_value/restoration_top1pct"}
    for got, want in zip(default + two, every + every):
        assert all(got[column] == want[column] for column in got), got["path"]
    refused = vaereg("score", str(run_dir), str(data / "test" / "bright"), "--maps",
                     "residual,shadows", "--out", str(tmp_path / "refused"), cwd=tmp_path)
    assert refused.returncode == 2 and "--maps: unknown map shadows; choose among nll" \
        in refused.stderr and not (tmp_path / "refused").exists()


def test_new_weights_are_calibrated_afresh(run_dir, tmp_path):
    path = run_dir / "checkpoints" / "last.pt"
    state = load_checkpoint(path)
    first = vaereg("score", str(run_dir), "--checkpoint", "last",
                   str(run_dir.parents[2] / "data" / "test" / "good"), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    before = json.loads((run_dir / "calibration" / "last.json").read_text())
    state["model"] = {k: v + 0.05 if v.is_floating_point() else v
                      for k, v in state["model"].items()}
    save_checkpoint(state, path)  # as a resume that trained on would
    second = vaereg("score", str(run_dir), "--checkpoint", "last",
                    str(run_dir.parents[2] / "data" / "test" / "good"), cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    after = json.loads((run_dir / "calibration" / "last.json").read_text())
    assert after["checkpoint"]["sha256"] == file_digest(path) != before["checkpoint"]["sha256"]
    assert after["scores"]["neg_elbo"] != before["scores"]["neg_elbo"]


def bad_file(folder):
    (folder / "notes.png").write_text("not pixels")
    return folder / "notes.png", "notes.png: not an image"


def wrong_size(folder):
    path = write_images(folder, 1, size=9, mode="L")[0]
    return path, "0000.png is 9x9 after the run's preprocessing; the model of"


def wrong_channels(folder):
    path = write_images(folder, 1, size=12, mode="RGB")[0]
    return path, "0000.png has 3 channel(s); the model of"


@pytest.mark.parametrize("make", [bad_file, wrong_size, wrong_channels])
def test_files_the_model_cannot_take_exit_2_naming_them(run_dir, tmp_path, make):
    path, message = make(tmp_path)
    result = vaereg("score", str(run_dir), str(path), "--out", str(tmp_path / "out"),
                    cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert message in result.stderr


@pytest.mark.parametrize("model, message", [
    ({"name": "wae_mmd"}, "anomaly maps need an ELBO"),
    ({"name": "cvae"}, "model 'cvae' is conditional"),
])
def test_a_model_score_cannot_serve_is_refused_before_any_folder(tmp_path, model, message):
    """WAE has no ELBO for the maps, and a conditional model needs each file's class: exit
    2 saying so, no traceback, no scored/ folder left behind."""
    for seed, name in enumerate(("a", "b")):  # two classes, for the conditional model
        write_images(tmp_path / "data" / name, 20, size=12, mode="L", seed=seed)
    table = tiny_recipe(run={"epochs": 1}, model=model,
                        data={"name": "image_folder", "root": str(tmp_path / "data"),
                              "batch_size": 8})
    trainer = make_trainer(table, tmp_path / "runs")
    trainer.fit()
    result = vaereg("score", str(trainer.run_dir), str(tmp_path / "data" / "a"), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (trainer.run_dir / "scored").exists()


def test_an_unreadable_file_is_skipped_with_a_warning_where_the_run_skips_them(tmp_path):
    """A run trained with data.on_bad_file = "skip": score names the unreadable file in a
    warning, scores the others, exits 0."""
    mvtec_folder(tmp_path / "data", train=30, good=2, defects={"bright": 1}, size=12)
    table = tiny_recipe(run={"epochs": 1},
                        data={"name": "image_folder", "root": str(tmp_path / "data"),
                              "batch_size": 8, "on_bad_file": "skip"})
    trainer = make_trainer(table, tmp_path / "runs")
    trainer.fit()
    new = tmp_path / "new"
    write_images(new, 2, size=12, mode="L", seed=9)
    (new / "0001b.png").write_text("not an image")
    result = vaereg("score", str(trainer.run_dir), str(new), "--out", str(tmp_path / "out"),
                    cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "skipped" in result.stderr and "0001b.png: not an image" in result.stderr
    assert "2 images scored" in result.stdout
    rows = read_rows(tmp_path / "out")
    assert [row["path"].split("/")[-1] for row in rows] == ["0000.png", "0001.png"]
    with np.load(tmp_path / "out" / "maps.npz") as maps:
        assert maps["nll"].shape == (2, 12, 12)


def test_a_test_image_scores_as_eval_scores_it(run_dir, tmp_path):
    """The same file, the same preprocessing: score's neg_elbo of the normal test images
    is eval's, row for row, within the spread of eval's one posterior draw (score is at
    the posterior mean, so that an exported scorer gives its numbers; measured: under 1%).
    Pixels read another way (grey where the run saw binary ones, another size) move the
    figure far more; the pixels themselves are compared in the next test."""
    data = run_dir.parents[2] / "data"
    evaluated = vaereg("eval", str(run_dir), "--metrics", "elbo", "--projector-points", "0",
                       cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr
    scored = vaereg("score", str(run_dir), str(data / "test" / "good"), "--batch-size", "8",
                    "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert scored.returncode == 0, scored.stderr
    eval_rows = {row["path"]: float(row["neg_elbo"])
                 for row in read_rows(run_dir / "eval" / "best-test-none")}
    score_rows = {row["path"]: float(row["neg_elbo"]) for row in read_rows(tmp_path / "out")}
    assert len(score_rows) == 4 and score_rows.keys() == eval_rows.keys()
    assert score_rows == pytest.approx(eval_rows, rel=0.02)


def test_new_images_are_binarized_where_the_run_trained_on_binary_pixels(tmp_path):
    from vaereg.evaluation.run_loading import load_run
    from vaereg.evaluation.new_images import image_files, read_like_run, scored_split

    data = mvtec_folder(tmp_path / "data", train=20, good=3, defects={}, size=12)
    for binarize in ("none", "dynamic"):
        table = tiny_recipe(run={"epochs": 1}, data={"name": "image_folder", "root": str(data),
                                                     "batch_size": 8, "binarize": binarize})
        trainer = make_trainer(table, tmp_path / binarize)
        trainer.fit()
        run = load_run(trainer.run_dir)
        x, _ = read_like_run(run, image_files([data / "test" / "good"]))
        pixels = torch.cat([batch.x for batch in scored_split(run, x).batches(8)])
        if binarize == "none":
            assert torch.equal(pixels, x)
        else:
            assert ((pixels == 0) | (pixels == 1)).all() and not torch.equal(pixels, x)
            again = torch.cat([batch.x for batch in scored_split(run, x).batches(8)])
            assert torch.equal(pixels, again)  # seeded: the same file scores the same
