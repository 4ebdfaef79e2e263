"""Fashion-MNIST (Xiao et al. 2017): 60k training and 10k test images, 28x28 grey.

Where the files come from: a ``root`` the user set, and only there (its torchvision
layout, or a download into it). With the default empty root, in order: torchvision's
layout under the cache; Debian's ``dataset-fashion-mnist`` package (gzipped IDX,
decompressed once into the cache); torchvision's download into the cache.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import shutil
from pathlib import Path
from typing import Literal

import attrs
import torch

from vaereg.core.errors import VaeregError, first_line
from vaereg.core.options import in_range, option
from vaereg.data.tensor_split import (Splits, TensorSplit, fixed_binarization, split_train_val,
                                      to_float)

SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
# What reading missing, truncated or corrupt files raises (torchvision's IDX reader
# asserts on bad headers and looks the element type up in a dict).
READ_ERRORS = (RuntimeError, OSError, EOFError, ValueError, AssertionError, KeyError)


def cache_dir() -> Path:
    """Where decompressed system copies live ($XDG_CACHE_HOME/vaereg)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "vaereg"


@attrs.frozen
class ImageDataOptions:
    root: str = option("", "folder holding the data (torchvision's layout), and the only "
                       "place searched when set; '' = the usual places: "
                       "$XDG_CACHE_HOME/vaereg/data, Debian's package, a download")
    train_size: int = option(0, "fixed training subset size; 0 = all that remains after validation",
                             check=in_range(0))
    val_size: int = option(5000, "validation images held out of the training set",
                           check=in_range(1))
    binarize: Literal["none", "dynamic"] = option(
        "none", "'dynamic' draws Bernoulli pixels anew each batch (evaluation sets once, seeded)")
    download: bool = option(True, "let torchvision download the data when no copy is found")


def _decompress_system_copy(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        final = target / name
        if final.exists():
            continue
        partial = target / f".{name}.{os.getpid()}.tmp"
        with gzip.open(source / f"{name}.gz", "rb") as src, open(partial, "wb") as dst:
            shutil.copyfileobj(src, dst)
        os.replace(partial, final)


def _torchvision(root: Path, train: bool, download: bool, name: str = "FashionMNIST"):
    """torchvision's IDX reader for ``name`` (FashionMNIST, MNIST) under ``root``."""
    import torchvision.datasets
    return getattr(torchvision.datasets, name)(str(root), train=train, download=download)


def default_root() -> Path:
    """Where an empty ``data.root`` looks first, and downloads into."""
    return cache_dir() / "data"


def _candidates(root: str, download: bool) -> tuple[list[tuple[Path, bool, str]], list[str]]:
    """(where to look: (folder, download?, label), what was skipped and why). A root the
    user set is the only place searched: data from elsewhere would be a silent swap."""
    skipped: list[str] = []
    if root:
        root_path = Path(root).expanduser()
        candidates = [(root_path, False, f"torchvision files under data.root = {root_path} "
                       f"({root_path / 'FashionMNIST' / 'raw'}/{{{', '.join(FILES)}}})")]
        skipped.append("other places: not searched, because data.root is set (leave it "
                       "empty to search the usual places)")
    else:
        root_path = default_root()
        candidates = [(root_path, False, f"torchvision files under {root_path}")]
        if SYSTEM_DIR.is_dir():
            candidates.append((cache_dir(), False, f"Debian package files in {SYSTEM_DIR} "
                               f"(decompressed into {cache_dir()})"))
        else:
            skipped.append(f"Debian package files in {SYSTEM_DIR}: not installed "
                           "(apt-get install dataset-fashion-mnist)")
    if download:
        candidates.append((root_path, True, f"torchvision download into {root_path}"))
    else:
        skipped.append("torchvision download: disabled by data.download = false")
    return candidates, skipped


def checksums(folder: Path) -> dict[str, str]:
    """sha256 of each IDX file read, to tell later which copy a run trained on."""
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in FILES}


def load_raw(root: str, download: bool) -> tuple[tuple[torch.Tensor, ...], dict]:
    """((train images, train labels, test images, test labels) as uint8/int64 tensors,
    where they were read: folder, how found, checksums)."""
    candidates, skipped = _candidates(root, download)
    attempts: list[str] = []
    for where, fetch, label in candidates:
        try:
            if where == cache_dir() and not fetch:
                _decompress_system_copy(SYSTEM_DIR, where / "FashionMNIST" / "raw")
            train = _torchvision(where, True, fetch)
            test = _torchvision(where, False, fetch)
        except READ_ERRORS as error:
            attempts.append(f"{label}: {first_line(error)}")
            continue
        raw = Path(train.raw_folder).resolve()
        source = {"dataset": "fashion_mnist", "path": str(raw), "found_by": label,
                  "sha256": checksums(raw)}
        return (train.data, train.targets, test.data, test.targets), source
    raise VaeregError("Fashion-MNIST not found. Tried:\n" + "\n".join(f"  - {a}" for a in attempts + skipped))


class FashionMNIST:
    """Fashion-MNIST, 28x28 grey images in [0, 1]; ``source`` says where they were read.

    Dataset plugin API: ``Options``, ``input_shape``, ``num_classes``, ``load(seed)``.
    """

    Options = ImageDataOptions
    input_shape = (1, 28, 28)
    num_classes = 10

    def __init__(self, options: ImageDataOptions):
        self.options = options
        self.source: dict | None = None  # set by load()

    def load(self, seed: int) -> Splits:
        """Seeded train/validation split of the training set, and the official test set."""
        raw, self.source = load_raw(self.options.root, self.options.download)
        return idx_splits(raw, self.options, seed)


def idx_splits(raw: tuple[torch.Tensor, ...], options: ImageDataOptions, seed: int) -> Splits:
    """Splits of an MNIST-like set: (train images, labels, test images, labels) as uint8."""
    train_x, train_y, test_x, test_y = raw
    binarize = options.binarize == "dynamic"
    try:
        train, val = split_train_val(to_float(train_x), train_y, val_size=options.val_size,
                                     train_size=options.train_size, seed=seed,
                                     binarize=binarize)
    except ValueError as error:
        raise VaeregError(f"data: {error}") from None
    test = TensorSplit(to_float(test_x), test_y)
    return Splits(train, val, fixed_binarization(test, seed) if binarize else test)
