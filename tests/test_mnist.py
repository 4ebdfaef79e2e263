"""mnist from IDX files in torchvision's layout, written by the test."""
from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import pytest
import torch

from vaereg.core.common.errors import VaeregError
from vaereg.data.idx_dataset import FILES, ImageDataOptions
from vaereg.data.mnist import MNIST
from vaereg.testing import make_trainer, tiny_recipe


def write_idx(path: Path, data: torch.Tensor) -> None:
    """IDX: magic (0, 0, type 0x08 = ubyte, dims), big-endian sizes, then the bytes."""
    header = struct.pack(">BBBB", 0, 0, 8, data.dim()) + struct.pack(f">{data.dim()}I", *data.shape)
    path.write_bytes(header + data.to(torch.uint8).numpy().tobytes())


def mnist_root(root: Path, train: int = 40, test: int = 10) -> Path:
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    generator = torch.Generator().manual_seed(0)
    for prefix, n in (("train", train), ("t10k", test)):
        write_idx(raw / f"{prefix}-images-idx3-ubyte", torch.randint(0, 256, (n, 28, 28),
                                                                     generator=generator))
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", torch.arange(n) % 10)
    return root


def test_one_short_epoch_on_idx_files_with_a_class_subset(tmp_path):
    root = mnist_root(tmp_path / "data")
    table = tiny_recipe(run={"epochs": 1}, data={
        "name": "mnist", "root": str(root), "download": False, "val_size": 10,
        "classes": [1, 2], "binarize": "dynamic"})
    trainer = make_trainer(table, tmp_path / "runs")
    metrics = trainer.fit()
    assert set(trainer.splits.train.y.tolist()) <= {1, 2}
    assert len(trainer.splits.test) == 10
    assert metrics["test/neg_elbo"] == metrics["test/neg_elbo"]


def test_a_root_without_the_files_names_what_was_looked_for_and_nothing_else(tmp_path):
    with pytest.raises(VaeregError) as caught:
        MNIST(ImageDataOptions(root=str(tmp_path / "mine"), download=False)).load(0)
    text = str(caught.value)
    assert text.startswith("MNIST not found")
    assert f"under data.root = {tmp_path / 'mine'} ({tmp_path / 'mine' / 'MNIST' / 'raw'}" in text
    assert "train-images-idx3-ubyte" in text and "not searched, because data.root is set" in text
    assert "download: disabled by data.download = false" in text


def test_the_default_root_is_the_cache_and_the_run_records_what_was_read(tmp_path, monkeypatch):
    """data.root = "" reads torchvision's layout under $XDG_CACHE_HOME/vaereg/data, as for
    Fashion-MNIST; data_source.json names the folder and each file's sha256."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    raw = mnist_root(tmp_path / "cache" / "vaereg" / "data") / "MNIST" / "raw"
    table = tiny_recipe(run={"epochs": 1}, data={"name": "mnist", "download": False,
                                                 "val_size": 10})
    trainer = make_trainer(table, tmp_path / "runs")
    trainer.fit()
    source = json.loads((trainer.run_dir / "data_source.json").read_text())
    assert (source["dataset"], Path(source["path"])) == ("mnist", raw.resolve())
    assert source["sha256"] == {name: hashlib.sha256((raw / name).read_bytes()).hexdigest()
                                for name in FILES}
