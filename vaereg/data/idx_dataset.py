"""MNIST-like datasets (MNIST, Fashion-MNIST): IDX files in torchvision's layout, where
they are looked for, and their splits.

Where the files come from: a ``data.root`` the user set, and only there (torchvision's
layout, ``<root>/<Name>/raw/``, or a download into it): data from elsewhere would be a
silent swap. With the default empty root, in order: torchvision's layout under the cache
(``$XDG_CACHE_HOME/vaereg/data``); a Debian package's gzipped copy, where the dataset has
one (decompressed once into the cache); torchvision's download into the cache. If
nothing works, one message names every place tried. ``source`` records what was read
(the folder and the sha256 of each file), for the run folder's ``data_source.json``.
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

from vaereg.core.common.errors import VaeregError, first_line
from vaereg.core.common.options import in_range, option
from vaereg.data.tensor_split import (Splits, TensorSplit, fixed_binarization, split_train_val,
                                      to_float)

FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
# What reading missing, truncated or corrupt files raises (torchvision's IDX reader
# asserts on bad headers and looks the element type up in a dict).
READ_ERRORS = (RuntimeError, OSError, EOFError, ValueError, AssertionError, KeyError)


def cache_dir() -> Path:
    """Where decompressed system copies live ($XDG_CACHE_HOME/vaereg)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "vaereg"


def default_root() -> Path:
    """Where an empty ``data.root`` looks first, and downloads into."""
    return cache_dir() / "data"


@attrs.frozen
class ImageDataOptions:
    root: str = option("", "folder holding the data (torchvision's layout), and the only "
                       "place searched when set; '' = the usual places: "
                       "$XDG_CACHE_HOME/vaereg/data, a Debian package's copy (Fashion-MNIST), a "
                       "download")
    train_size: int = option(0, "fixed training subset size; 0 = all that remains after validation",
                             check=in_range(0))
    val_size: int = option(5000, "validation images held out of the training set",
                           check=in_range(1))
    binarize: Literal["none", "dynamic"] = option(
        "none", "'dynamic' draws Bernoulli pixels anew each batch (evaluation sets once, seeded)")
    download: bool = option(True, "let torchvision download the data when no copy is found")


@attrs.frozen
class SystemCopy:
    """Gzipped IDX files a Debian package installs in ``folder`` (``apt-get install
    package``)."""

    folder: Path
    package: str


def _decompress(copy: SystemCopy, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        final = target / name
        if final.exists():
            continue
        partial = target / f".{name}.{os.getpid()}.tmp"
        with gzip.open(copy.folder / f"{name}.gz", "rb") as src, open(partial, "wb") as dst:
            shutil.copyfileobj(src, dst)
        os.replace(partial, final)


def checksums(folder: Path) -> dict[str, str]:
    """sha256 of each IDX file read, to tell later which copy a run trained on."""
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in FILES}


class IdxDataset:
    """Dataset API (``Options``, ``input_shape``, ``num_classes``, ``load(seed)``) of a
    28x28 grey IDX dataset; a subclass names it: ``name`` (the registry's), ``title``
    (for messages), ``torchvision_name`` (its ``torchvision.datasets`` class and folder)
    and ``system_copy()``. ``source`` says where ``load`` read the files."""

    Options = ImageDataOptions
    input_shape = (1, 28, 28)
    num_classes = 10
    name = title = torchvision_name = ""

    def __init__(self, options: ImageDataOptions):
        self.options = options
        self.source: dict | None = None  # set by load()

    def system_copy(self) -> SystemCopy | None:
        """A system package's copy of the files, when the dataset has one."""
        return None

    def load(self, seed: int) -> Splits:
        """Seeded train/validation split of the training set, and the official test set."""
        raw, self.source = self.load_raw()
        return idx_splits(raw, self.options, seed)

    def _read(self, root: Path, train: bool, download: bool):
        import torchvision.datasets
        return getattr(torchvision.datasets, self.torchvision_name)(
            str(root), train=train, download=download)

    def _candidates(self) -> tuple[list[tuple[Path, bool, str]], list[str]]:
        """(where to look: (folder, download?, label), what was skipped and why)."""
        skipped: list[str] = []
        copy = None
        if self.options.root:
            root = Path(self.options.root).expanduser()
            candidates = [(root, False, f"torchvision files under data.root = {root} "
                           f"({root / self.torchvision_name / 'raw'}/{{{', '.join(FILES)}}})")]
            skipped.append("other places: not searched, because data.root is set (leave it "
                           "empty to search the usual places)")
        else:
            root = default_root()
            candidates = [(root, False, f"torchvision files under {root}")]
            copy = self.system_copy()
            if copy is not None and copy.folder.is_dir():
                candidates.append((cache_dir(), False, f"Debian package files in {copy.folder} "
                                   f"(decompressed into {cache_dir()})"))
            elif copy is not None:
                skipped.append(f"Debian package files in {copy.folder}: not installed "
                               f"(apt-get install {copy.package})")
        if self.options.download:
            candidates.append((root, True, f"torchvision download into {root}"))
        else:
            skipped.append("torchvision download: disabled by data.download = false")
        return candidates, skipped

    def load_raw(self) -> tuple[tuple[torch.Tensor, ...], dict]:
        """((train images, train labels, test images, test labels) as uint8/int64
        tensors, where they were read: folder, how found, checksums)."""
        candidates, skipped = self._candidates()
        attempts: list[str] = []
        for where, fetch, label in candidates:
            try:
                if where == cache_dir() and not fetch:
                    _decompress(self.system_copy(), where / self.torchvision_name / "raw")
                train = self._read(where, True, fetch)
                test = self._read(where, False, fetch)
            except READ_ERRORS as error:
                attempts.append(f"{label}: {first_line(error)}")
                continue
            raw = Path(train.raw_folder).resolve()
            source = {"dataset": self.name, "path": str(raw), "found_by": label,
                      "sha256": checksums(raw)}
            return (train.data, train.targets, test.data, test.targets), source
        raise VaeregError(f"{self.title} not found. Tried:\n"
                          + "\n".join(f"  - {a}" for a in attempts + skipped))


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
