"""MNIST (LeCun et al. 1998): 60k training and 10k test digits, 28x28 grey.

Read with Fashion-MNIST's code (torchvision's IDX reader, the same splits and options).
Where the files come from: a ``data.root`` the user set, and only there (torchvision's
layout, ``<root>/MNIST/raw/``, or a download into it); the default root is the cache
folder. If neither the files nor a download work, one message names both.
"""
from __future__ import annotations

from pathlib import Path

import torch

from vaereg.core.errors import VaeregError, first_line
from vaereg.data.fashion_mnist import (FILES, READ_ERRORS, FashionMNIST, _torchvision,
                                       idx_splits)
from vaereg.data.tensor_split import Splits


def load_raw(root: str, download: bool) -> tuple[torch.Tensor, ...]:
    """(train images, train labels, test images, test labels) as uint8/int64 tensors."""
    root_path = Path(root or "~/.cache/vaereg/data").expanduser()
    attempts = [(False, f"torchvision files under {root_path} ({root_path / 'MNIST' / 'raw'}"
                        f"/{{{', '.join(FILES)}}})")]
    attempts.append((True, f"torchvision download into {root_path}"))
    tried = []
    for fetch, label in attempts:
        if fetch and not download:
            tried.append(f"{label}: disabled by data.download = false")
            continue
        try:
            train = _torchvision(root_path, True, fetch, "MNIST")
            test = _torchvision(root_path, False, fetch, "MNIST")
            return train.data, train.targets, test.data, test.targets
        except READ_ERRORS as error:
            tried.append(f"{label}: {first_line(error)}")
    raise VaeregError("MNIST not found. Tried:\n" + "\n".join(f"  - {t}" for t in tried))


class MNIST(FashionMNIST):
    """Fashion-MNIST's dataset API and splits, on MNIST's files."""

    def load(self, seed: int) -> Splits:
        return idx_splits(load_raw(self.options.root, self.options.download), self.options, seed)
