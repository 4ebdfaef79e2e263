"""image_folder in the MVTec AD layout: normal splits, labelled defects, their masks."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from vaereg.core.common.errors import VaeregError
from vaereg.data.image_folder import ImageFolder, ImageFolderOptions
from vaereg.data.split_images import split_images
from vaereg.testing import make_trainer, tiny_recipe

from image_fixtures import mvtec_folder, write_images


def test_splits_hold_normal_images_and_defects_come_with_their_masks(tmp_path):
    root = mvtec_folder(tmp_path, train=20, good=4, defects={"bright": 3, "dark": 2})
    dataset = ImageFolder(ImageFolderOptions(root=str(root)))
    splits = dataset.load(0)
    assert dataset.input_shape == (1, 8, 8) and dataset.num_classes == 0
    assert (len(splits.train), len(splits.val), len(splits.test)) == (18, 2, 4)
    defects = dataset.anomalies(0)
    assert defects.kinds == ("bright",) * 3 + ("dark",) * 2
    assert [p.split("/")[-2:] for p in defects.paths][3] == ["dark", "0000.png"]
    assert all("/test/good/" in path for path in defects.normal_paths)
    x, _ = split_images(defects.split)
    masks = defects.masks.read()
    assert masks.shape == (5, 8, 8) and masks.dtype == torch.bool
    assert int(masks[1].sum()) == 6 and bool(masks[1, 1:3, 1:4].all())
    assert torch.equal(x[:3, 0][masks[:3]], torch.ones(18))   # the bright patches
    assert torch.equal(x[3:, 0][masks[3:]], torch.zeros(12))  # the dark ones


def test_masks_are_resized_like_their_images_and_stay_binary(tmp_path):
    root = mvtec_folder(tmp_path, size=8)
    defects = ImageFolder(ImageFolderOptions(root=str(root), size=16)).anomalies(0)
    masks = defects.masks.read()
    x, _ = split_images(defects.split)
    assert masks.shape == (5, 16, 16) and x.shape == (5, 1, 16, 16)
    assert int(masks[0].sum()) == 4 * 6  # each mask pixel became 2x2


def test_a_folder_without_ground_truth_has_image_labels_only(tmp_path):
    root = mvtec_folder(tmp_path, masks=False)
    defects = ImageFolder(ImageFolderOptions(root=str(root))).anomalies(0)
    assert defects.masks is None and len(defects.split) == 5


def test_other_layouts_have_no_defects(tmp_path):
    write_images(tmp_path, 12)
    assert ImageFolder(ImageFolderOptions(root=str(tmp_path))).anomalies(0) is None


def test_a_mask_of_another_size_is_refused_naming_it(tmp_path):
    root = mvtec_folder(tmp_path)
    mask = root / "ground_truth" / "dark" / "0001_mask.png"
    Image.fromarray(np.zeros((9, 8), dtype=np.uint8)).save(mask)
    with pytest.raises(VaeregError, match=f"{mask} is 8x9, but its image .*0001.png is 8x8"):
        ImageFolder(ImageFolderOptions(root=str(root))).load(0)


def test_a_defect_without_a_mask_when_others_have_one_is_refused(tmp_path):
    root = mvtec_folder(tmp_path)
    (root / "ground_truth" / "bright" / "0002_mask.png").unlink()
    with pytest.raises(VaeregError, match=r"bright/0002.png has no mask: expected .*"
                                          r"ground_truth/bright/0002_mask.png"):
        ImageFolder(ImageFolderOptions(root=str(root))).load(0)


def test_defects_in_the_training_folder_are_refused(tmp_path):
    root = mvtec_folder(tmp_path)
    write_images(root / "train" / "crack", 2, mode="L")
    with pytest.raises(VaeregError, match="train/crack: in the MVTec layout train/ holds "
                                          "normal images only"):
        ImageFolder(ImageFolderOptions(root=str(root))).load(0)


def test_a_run_reports_test_figures_on_normal_images_and_the_anomalies_apart(tmp_path):
    with_defects = mvtec_folder(tmp_path / "with", train=16, good=4)
    normal_only = mvtec_folder(tmp_path / "without", train=16, good=4, defects={})
    runs = {}
    for name, root in (("with", with_defects), ("without", normal_only)):
        table = tiny_recipe(run={"epochs": 1},
                            data={"name": "image_folder", "root": str(root), "batch_size": 4})
        runs[name] = make_trainer(table, tmp_path / name / "runs").fit()
    assert runs["with"]["test/neg_elbo"] == runs["without"]["test/neg_elbo"]
    assert runs["with"]["gap/neg_elbo"] == runs["without"]["gap/neg_elbo"]
    assert runs["with"]["test_anomalies/neg_elbo"] > 0
    assert not any(key.startswith("test_anomalies/") for key in runs["without"])


def test_validation_defects_come_apart_from_the_validation_split(tmp_path):
    root = mvtec_folder(tmp_path)
    write_images(root / "val" / "good", 3, mode="L", seed=5)
    write_images(root / "val" / "scratch", 2, mode="L", seed=6)
    dataset = ImageFolder(ImageFolderOptions(root=str(root)))
    assert len(dataset.load(0).val) == 3 and dataset.class_names == ()
    val = dataset.anomalies(0, "val")
    assert val.kinds == ("scratch", "scratch") and val.masks is None and len(val.split) == 2
    assert all("/val/scratch/" in path for path in val.paths)
    assert all("/val/good/" in path for path in val.normal_paths)
    assert all("/test/" in path for path in dataset.anomalies(0).paths)


def test_validation_defects_without_validation_normals_are_refused(tmp_path):
    root = mvtec_folder(tmp_path)
    write_images(root / "val" / "scratch", 2, mode="L")
    with pytest.raises(VaeregError, match="val holds defect folders but no good/ folder"):
        ImageFolder(ImageFolderOptions(root=str(root))).load(0)
