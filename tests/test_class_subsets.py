"""data.classes / data.test_classes on any labelled dataset (here the synthetic one)."""
from __future__ import annotations

import pytest
import torch

from vaereg.core.common.errors import VaeregError
from vaereg.testing import make_trainer, tiny_recipe


def splits(tmp_path, **data):
    return make_trainer(tiny_recipe(data=data), tmp_path).splits


def test_train_and_validation_keep_the_classes_and_test_keeps_everything(tmp_path):
    everything = splits(tmp_path)
    subset = splits(tmp_path, classes=[1, 3])
    for split in (subset.train, subset.val):
        assert set(split.y.tolist()) <= {1, 3} and len(split) > 0
    for part in ("train", "val"):
        whole = getattr(everything, part)
        keep = torch.isin(whole.y, torch.tensor([1, 3]))
        assert torch.equal(getattr(subset, part).x, whole.x[keep])
    assert torch.equal(subset.test.y, everything.test.y)


def test_test_classes_restrict_the_test_split(tmp_path):
    subset = splits(tmp_path, classes=[0], test_classes=[2, 5])
    assert set(subset.test.y.tolist()) == {2, 5}


def test_a_class_that_does_not_exist_is_named(tmp_path):
    with pytest.raises(VaeregError) as caught:
        splits(tmp_path, classes=[1, 12, "cat"])
    text = str(caught.value)
    assert "data.classes: no class 12, 'cat' in this dataset" in text
    assert "labels 0 .. 9" in text
