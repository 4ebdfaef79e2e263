"""Fashion-MNIST (Xiao et al. 2017): 60k training and 10k test images, 28x28 grey.

Read as every IDX dataset is (``idx_dataset``: a ``data.root`` the user set and only
there, or the cache, then Debian's ``dataset-fashion-mnist`` package, then a download).
"""
from __future__ import annotations

from pathlib import Path

from vaereg.data.idx_dataset import IdxDataset, SystemCopy

SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")


class FashionMNIST(IdxDataset):
    """Fashion-MNIST, 28x28 grey images in [0, 1]; ``source`` says where they were read."""

    name, title, torchvision_name = "fashion_mnist", "Fashion-MNIST", "FashionMNIST"
    #: the dataset's names of labels 0-9 (``data.classes = ["Coat"]`` works too)
    class_names = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot")

    def system_copy(self) -> SystemCopy:
        return SystemCopy(SYSTEM_DIR, "dataset-fashion-mnist")
