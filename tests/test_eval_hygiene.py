"""`eval` judges only what it can judge honestly: a checkpoint another run wrote is refused
(each checkpoint records its run's identity), weights of another shape are refused with
every mismatch, and the anomaly sets say what they hold (a test split of trained classes
only, a flat folder of anomalies used whole)."""
import csv
import shutil
from pathlib import Path

import pytest
import torch

import vaereg
from vaereg.core.run_folder.checkpoint import load_checkpoint, save_checkpoint, weight_mismatches
from vaereg.core.run_folder.run_identity import RUN_ID_FILE
from vaereg.data.tensor_split import TensorSplit
from vaereg.evaluation.run_loading import build_model
from vaereg.testing import make_trainer, tiny_recipe

from cli_process import vaereg as vaereg_cli
from image_fixtures import write_images


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Two one-epoch runs of one recipe, seeds 0 and 1: weights of the same shapes."""
    out = tmp_path_factory.mktemp("runs")
    folders = []
    for seed in (0, 1):
        trainer = make_trainer(tiny_recipe(run={"seed": seed, "epochs": 1}), out)
        trainer.fit()
        folders.append(trainer.run_dir)
    return folders


def copy_run(run_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(run_dir, tmp_path / run_dir.name))


def test_every_checkpoint_records_its_run(two_runs):
    ids = []
    for run_dir in two_runs:
        run_id = (run_dir / RUN_ID_FILE).read_text().strip()
        for name in ("best.pt", "last.pt"):
            recorded = load_checkpoint(run_dir / "checkpoints" / name)["run"]
            assert recorded == {"id": run_id, "dir": str(run_dir.resolve())}
        ids.append(run_id)
    assert ids[0] != ids[1]


def test_another_runs_checkpoint_is_refused_naming_both_folders(two_runs, tmp_path):
    theirs, mine = two_runs[0], copy_run(two_runs[1], tmp_path)
    for name in ("best.pt", "last.pt"):
        shutil.copy(theirs / "checkpoints" / name, mine / "checkpoints" / name)
    for args in (("eval", mine), ("run", "--resume", mine)):
        result = vaereg_cli(*map(str, args), cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert "belongs to another run" in result.stderr
        assert str(theirs.resolve()) in result.stderr and str(mine) in result.stderr
        assert "Traceback" not in result.stderr
    assert not (mine / "eval").exists()


def test_a_checkpoint_written_before_identities_still_loads(two_runs, tmp_path):
    run_dir = copy_run(two_runs[1], tmp_path)
    path = run_dir / "checkpoints" / "best.pt"
    state = torch.load(path, weights_only=True)
    del state["run"], state["format"]
    save_checkpoint(state, path)  # as a checkpoint of an earlier vaereg was written
    loaded = vaereg.load_run(run_dir)
    for key, value in loaded.model.state_dict().items():
        assert torch.equal(value, state["model"][key]), key


def test_weights_of_another_shape_list_every_mismatch(two_runs, tmp_path):
    run_dir = copy_run(two_runs[1], tmp_path)
    recipe_file = run_dir / "recipe.toml"
    recipe_file.write_text(recipe_file.read_text().replace("latent_dim = 4", "latent_dim = 6"))
    recipe = vaereg.load_recipe(recipe_file)
    expected = build_model(recipe, torch.device("cpu"))[0].state_dict()
    saved = load_checkpoint(run_dir / "checkpoints" / "best.pt")["model"]
    differing = [key for key in expected if expected[key].shape != saved[key].shape]
    assert len(differing) >= 3  # the posterior's mean and variance heads, the decoder's input

    result = vaereg_cli("eval", str(run_dir), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert f"({len(differing)} differences;" in result.stderr
    for key in differing:
        assert (f"{key}: checkpoint {list(saved[key].shape)}, model "
                f"{list(expected[key].shape)}") in result.stderr
    assert "Error(s) in loading state_dict" not in result.stderr


def test_weight_mismatches_name_missing_and_unexpected_keys():
    expected = {"a": torch.zeros(2, 3), "b": torch.zeros(4)}
    found = {"a": torch.zeros(3, 2), "c": torch.zeros(1)}
    assert weight_mismatches(expected, found) == [
        "a: checkpoint [3, 2], model [2, 3]",
        "b: missing from the checkpoint (the model has [4])",
        "c: in the checkpoint ([1]), not in the model"]
    assert weight_mismatches(expected, dict(expected)) == []


@pytest.fixture(scope="module")
def normal_only_run(tmp_path_factory):
    """A run on class folders trained and tested on "normal" only (data.classes and
    data.test_classes), with "scratch" test images it never saw."""
    root = tmp_path_factory.mktemp("parts")
    write_images(root / "train" / "normal", 40, size=8, mode="L", seed=1)
    write_images(root / "test" / "normal", 6, size=8, mode="L", seed=2)
    write_images(root / "test" / "scratch", 5, size=8, mode="L", seed=3)
    table = tiny_recipe(run={"epochs": 1},
                        data={"name": "image_folder", "root": str(root), "batch_size": 8,
                              "classes": ["normal"], "test_classes": ["normal"]})
    trainer = make_trainer(table, tmp_path_factory.mktemp("runs"))
    trainer.fit()
    assert len(trainer.splits.test) == 6
    return trainer.run_dir


def read_scores(run_dir: Path, protocol: str) -> list[dict]:
    """The scores of the one evaluation of ``run_dir`` whose protocol folder names ``protocol``."""
    (scores,) = (run_dir / "eval").glob(f"best-test-{protocol}*/scores.csv")
    with open(scores, newline="") as handle:
        return list(csv.DictReader(handle))


def test_anomaly_uses_the_whole_test_split_when_test_classes_hold_no_anomaly(normal_only_run):
    result = vaereg_cli("eval", str(normal_only_run), "--anomaly", "--metrics", "elbo",
                        cwd=normal_only_run)
    assert result.returncode == 0, result.stderr
    assert "the whole test split, as data.test_classes = ['normal'] holds no held-out class" \
        in result.stdout
    rows = read_scores(normal_only_run, "held-out-classes")
    assert len(rows) == 11
    assert sorted(int(row["is_anomaly"]) for row in rows) == [0] * 6 + [1] * 5


def test_ood_flat_folder_is_used_whole_and_counted(normal_only_run, tmp_path):
    flat = tmp_path / "flat"
    write_images(flat, 30, size=8, mode="L", seed=4)
    result = vaereg_cli("eval", str(normal_only_run), "--ood", "image_folder", "--set",
                        f"root='{flat}'", "--metrics", "elbo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "out of distribution (30 images of image_folder): 36 images (30 anomalies)" \
        in result.stdout
    rows = read_scores(normal_only_run, "out-of-distribution-image-folder")
    assert sum(int(row["is_anomaly"]) for row in rows) == 30
    assert sorted(int(row["index"]) for row in rows if row["is_anomaly"] == "1") == \
        list(range(30))
    share = vaereg_cli("eval", str(normal_only_run), "--ood", "image_folder", "--set",
                       f"root='{flat}'", "--set", "test_fraction=0.2", "--metrics", "elbo",
                       cwd=tmp_path)
    assert share.returncode == 0, share.stderr
    assert "out of distribution (6 images of image_folder)" in share.stdout


def test_a_run_with_every_image_held_out_is_refused(tmp_path):
    write_images(tmp_path / "flat", 12, size=8, mode="L")
    table = tiny_recipe(data={"name": "image_folder", "root": str(tmp_path / "flat"),
                              "test_fraction": 1.0})
    with pytest.raises(vaereg.VaeregError, match="training split is empty"):
        make_trainer(table, tmp_path).fit()


@pytest.mark.parametrize("index", [[3, 1], (3, 1), range(3, 0, -2), torch.tensor([3, 1])])
def test_split_images_takes_any_sequence_of_positions(index):
    split = TensorSplit(torch.rand(5, 1, 2, 2), torch.arange(5))
    x, y = vaereg.split_images(split, index=index)
    assert torch.equal(x, split.x[[3, 1]]) and y.tolist() == [3, 1]


def test_split_images_names_positions_outside_the_split():
    split = TensorSplit(torch.rand(5, 1, 2, 2), None)
    with pytest.raises(IndexError, match=r"positions \[5\] are outside the split's 5"):
        vaereg.split_images(split, index=[0, 5])
