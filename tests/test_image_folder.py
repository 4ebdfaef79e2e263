"""image_folder: layouts, labels, seeded splits, streamed training and exact resume."""
from __future__ import annotations

import pytest
import torch

from vaereg.core.common.errors import VaeregError
from vaereg.data.image_folder import ImageFolder, ImageFolderOptions
from vaereg.testing import check_conformance, make_trainer, tiny_recipe

from image_fixtures import class_folders, write_images


def folder_recipe(root, run=None, **data):
    return tiny_recipe(run=run or {}, data={"name": "image_folder", "root": str(root),
                                            "batch_size": 8, **data})


def test_flat_folder_of_png_and_jpeg_gets_a_seeded_split(tmp_path):
    write_images(tmp_path, 30)
    write_images(tmp_path, 10, suffix=".jpg", start=30)
    dataset = ImageFolder(ImageFolderOptions(root=str(tmp_path)))
    splits = dataset.load(0)
    assert dataset.input_shape == (3, 8, 8) and dataset.num_classes == 0
    assert (len(splits.train), len(splits.val), len(splits.test)) == (32, 4, 4)
    assert splits.train.y is None
    again = ImageFolder(ImageFolderOptions(root=str(tmp_path))).load(0)
    assert torch.equal(next(again.val.batches(4)).x, next(splits.val.batches(4)).x)
    batch = next(splits.train.batches(8, torch.Generator().manual_seed(0)))
    assert batch.x.shape == (8, 3, 8, 8) and 0 <= batch.x.min() and batch.x.max() <= 1


def test_class_folders_and_train_val_test_folders_give_labels(tmp_path):
    for part, count in (("train", 6), ("val", 2), ("test", 3)):
        class_folders(tmp_path / part, {"cat": count, "dog": count}, mode="L")
    dataset = ImageFolder(ImageFolderOptions(root=str(tmp_path), size=4))
    splits = dataset.load(0)
    assert dataset.class_names == ("cat", "dog") and dataset.input_shape == (1, 4, 4)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (12, 4, 6)
    assert sorted(splits.test.y.tolist()) == [0, 0, 0, 1, 1, 1]


def test_one_short_epoch_trains_on_a_class_subset_by_folder_name(tmp_path):
    class_folders(tmp_path, {"a": 12, "b": 12, "c": 12})
    trainer = make_trainer(folder_recipe(tmp_path, classes=["a", "c"], flip=True,
                                         run={"epochs": 1}), tmp_path / "runs")
    metrics = trainer.fit()
    assert set(trainer.splits.train.y.tolist()) <= {0, 2}
    assert len(trainer.splits.test) == 4  # the whole held-out test share, all classes
    assert metrics["test/neg_elbo"] == metrics["test/neg_elbo"]


def test_resume_with_two_workers_is_exact_and_workers_do_not_change_results(tmp_path):
    write_images(tmp_path / "images", 48)
    table = folder_recipe(tmp_path / "images", num_workers=2, flip=True, binarize="dynamic")
    metrics = check_conformance(table, tmp_path / "two")
    in_process = make_trainer(folder_recipe(tmp_path / "images", flip=True, binarize="dynamic"),
                              tmp_path / "zero").fit()
    assert in_process["test/neg_elbo"] == metrics["test/neg_elbo"]
    assert in_process["history"] == metrics["history"]


def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(VaeregError, match="no such folder"):
        ImageFolder(ImageFolderOptions(root=str(tmp_path / "none"))).input_shape
