"""celeba from a local folder: official partition, 64x64 preprocessing, attribute labels."""
from __future__ import annotations

import pytest
import torch

from vaereg.core.common.errors import VaeregError
from vaereg.data.celeba import CelebA, CelebAOptions
from vaereg.testing import make_trainer, tiny_recipe

from image_fixtures import celeba_folder


def test_partition_preprocessing_and_attribute_labels(tmp_path):
    root = celeba_folder(tmp_path)
    splits = CelebA(CelebAOptions(root=str(root), label_attribute="Smiling")).load(0)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (8, 2, 2)
    assert splits.train.y.tolist() == [1, 0, 1, 0, 1, 0, 1, 0]
    batch = next(splits.test.batches(2))
    assert batch.x.shape == (2, 3, 64, 64) and batch.x.dtype == torch.float32


def test_one_short_epoch_on_smiling_faces_only(tmp_path):
    celeba_folder(tmp_path / "celeba")  # torchvision's own nesting works as well
    table = tiny_recipe(run={"epochs": 1}, data={
        "name": "celeba", "root": str(tmp_path), "size": 16, "flip": True,
        "label_attribute": "Smiling", "classes": ["Smiling"], "batch_size": 4})
    trainer = make_trainer(table, tmp_path / "runs")
    metrics = trainer.fit()
    assert trainer.splits.train.y.tolist() == [1, 1, 1, 1]
    assert len(trainer.splits.test) == 2
    assert metrics["steps"] == 1


def test_an_unknown_attribute_is_named_with_a_suggestion(tmp_path):
    root = celeba_folder(tmp_path)
    with pytest.raises(VaeregError, match="no attribute 'Smilling'.*did you mean 'Smiling'"):
        CelebA(CelebAOptions(root=str(root), label_attribute="Smilling")).load(0)
