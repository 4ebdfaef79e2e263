"""MNIST (LeCun et al. 1998): 60k training and 10k test digits, 28x28 grey.

Read as every IDX dataset is (``idx_dataset``): a ``data.root`` the user set and only
there (``<root>/MNIST/raw/``, or a download into it), else the cache
(``$XDG_CACHE_HOME/vaereg/data``), then a download; no system package is known for it.
"""
from __future__ import annotations

from vaereg.data.idx_dataset import IdxDataset


class MNIST(IdxDataset):
    """MNIST digits, 28x28 grey images in [0, 1]; ``source`` says where they were read."""

    name, title, torchvision_name = "mnist", "MNIST", "MNIST"
