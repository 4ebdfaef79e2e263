"""Fashion-MNIST from the Debian package: real data, seeded splits, clear failures."""
from pathlib import Path

import pytest
import torch

from vaereg import VaeregError
from vaereg.data import fashion_mnist
from vaereg.data.fashion_mnist import FashionMNIST
from vaereg.data.idx_dataset import FILES, ImageDataOptions

pytestmark = pytest.mark.skipif(not fashion_mnist.SYSTEM_DIR.is_dir(),
                                reason="apt-get install dataset-fashion-mnist")


@pytest.fixture(scope="module")
def splits(tmp_path_factory):
    return FashionMNIST(ImageDataOptions(download=False, val_size=5000,
                                         train_size=1000)).load(seed=0)


def test_official_sizes_and_range(splits):
    assert (len(splits.train), len(splits.val), len(splits.test)) == (1000, 5000, 10000)
    for split in (splits.train, splits.val, splits.test):
        assert split.x.shape[1:] == (1, 28, 28) and split.x.dtype == torch.float32
        assert split.x.min() == 0 and split.x.max() == 1
        assert set(split.y.unique().tolist()) == set(range(10))


def test_test_set_is_the_real_one(splits):
    # Fashion-MNIST's t10k labels are balanced: exactly 1000 of each class
    assert torch.bincount(splits.test.y).tolist() == [1000] * 10


def test_split_is_seeded_and_disjoint(tmp_path):
    options = ImageDataOptions(download=False, val_size=100, train_size=200)
    a, b = FashionMNIST(options).load(0), FashionMNIST(options).load(0)
    c = FashionMNIST(options).load(1)
    assert torch.equal(a.train.x, b.train.x) and torch.equal(a.val.x, b.val.x)
    assert not torch.equal(a.train.x, c.train.x)
    train_rows = {row.numpy().tobytes() for row in a.train.x.flatten(1)}
    assert not any(row.numpy().tobytes() in train_rows for row in a.val.x.flatten(1))


def test_system_copy_is_decompressed_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    FashionMNIST(ImageDataOptions(download=False, val_size=10, train_size=10)).load(0)
    raw = tmp_path / "cache" / "vaereg" / "FashionMNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(FILES)
    assert (raw / "t10k-images-idx3-ubyte").stat().st_size == 16 + 10000 * 28 * 28


def test_none_found_names_all_three_places(tmp_path, monkeypatch):
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIR", Path(tmp_path / "no-debian"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(VaeregError) as caught:
        FashionMNIST(ImageDataOptions(download=False)).load(0)
    text = str(caught.value)
    assert str(tmp_path / "cache" / "vaereg" / "data") in text
    assert "dataset-fashion-mnist" in text
    assert "download" in text


def test_dynamic_binarization_draws_new_pixels_each_epoch_from_the_data_generator(tmp_path):
    options = ImageDataOptions(download=False, val_size=10, train_size=64,
                               binarize="dynamic")
    splits = FashionMNIST(options).load(0)
    generator = torch.Generator().manual_seed(0)
    global_state = torch.get_rng_state()
    first = next(splits.train.batches(64, generator)).x
    second = next(splits.train.batches(64, generator)).x
    again = next(splits.train.batches(64, torch.Generator().manual_seed(0))).x
    assert set(first.unique().tolist()) <= {0.0, 1.0}
    assert not torch.equal(first, second)
    assert torch.equal(first, again)
    assert torch.equal(torch.get_rng_state(), global_state)
    assert set(splits.test.x.unique().tolist()) <= {0.0, 1.0}


def test_a_root_the_user_set_is_the_only_place_searched(tmp_path):
    with pytest.raises(VaeregError) as caught:
        FashionMNIST(ImageDataOptions(root=str(tmp_path / "mine"), download=False)).load(0)
    text = str(caught.value)
    assert f"under data.root = {tmp_path / 'mine'}" in text and "train-images-idx3-ubyte" in text
    assert "not searched, because data.root is set" in text


def test_source_names_the_folder_and_checksums_read(splits):
    dataset = FashionMNIST(ImageDataOptions(download=False, val_size=10, train_size=10))
    dataset.load(0)
    assert Path(dataset.source["path"]).name == "raw"
    assert sorted(dataset.source["sha256"]) == sorted(FILES)
    assert all(len(digest) == 64 for digest in dataset.source["sha256"].values())
