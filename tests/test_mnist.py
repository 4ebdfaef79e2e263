"""mnist from IDX files in torchvision's layout, written by the test."""
from __future__ import annotations

import struct
from pathlib import Path

import pytest
import torch

from vaereg.core.errors import VaeregError
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


def test_no_files_and_no_download_names_both(tmp_path):
    from vaereg.data.fashion_mnist import ImageDataOptions
    from vaereg.data.mnist import MNIST
    with pytest.raises(VaeregError) as caught:
        MNIST(ImageDataOptions(root=str(tmp_path), download=False)).load(0)
    text = str(caught.value)
    assert f"torchvision files under {tmp_path}" in text
    assert "download" in text
