"""``celeba``: CelebA (Liu et al. 2015) from a local folder in torchvision's layout.

    <root>/img_align_celeba/000001.jpg ...   the 202,599 aligned 178x218 JPEGs
    <root>/list_eval_partition.txt           "000001.jpg 0" per line: 0 train, 1 val, 2 test
    <root>/list_attr_celeba.txt              line 1 the count, line 2 the 40 attribute
                                             names, then "000001.jpg -1 1 ..." per image

(torchvision puts them in ``<root>/celeba/``; either folder works as ``data.root``.) The
official partition gives the splits; images get the customary 64x64 preprocessing (center
crop 148, resize 64); ``label_attribute`` makes one attribute the label (0 = absent,
1 = present), so ``data.classes`` can select on it.
"""
from __future__ import annotations

from pathlib import Path

import attrs
import torch

from vaereg.core.common.errors import VaeregError, did_you_mean
from vaereg.core.common.options import in_range, option, positive
from vaereg.data.image_files import ImageFileOptions, ImageReader
from vaereg.data.stream_split import StreamSplit, Transforms
from vaereg.data.tensor_split import Splits

IMAGES, PARTITION, ATTRIBUTES = "img_align_celeba", "list_eval_partition.txt", "list_attr_celeba.txt"


@attrs.frozen
class CelebAOptions(ImageFileOptions):
    label_attribute: str = option("", "attribute used as the label (e.g. 'Smiling'; needs "
                                  f"{ATTRIBUTES}); '' = no labels")
    crop: int = option(148, "center crop (pixels) before resizing", check=positive)
    size: int = option(64, "final height and width", check=positive)
    train_size: int = option(0, "first images of the official training partition to use; "
                             "0 = all", check=in_range(0))


def _rows(path: Path, expected: str, skip: int = 0) -> list[list[str]]:
    """Whitespace-separated rows of a CelebA text file, ``skip`` header lines left out."""
    if not path.is_file():
        raise VaeregError(f"{path} not found; expected {expected} (see the README, "
                          f"'Placing CelebA')")
    return [line.split() for line in path.read_text().splitlines()[skip:] if line.strip()]


class CelebA:
    """Dataset API: ``Options``, ``input_shape``, ``num_classes``, ``class_names``,
    ``load(seed)``."""

    Options = CelebAOptions

    def __init__(self, options: CelebAOptions):
        self.options = options
        self.input_shape = (3, options.size, options.size)
        attribute = options.label_attribute
        self.class_names = (f"not_{attribute}", attribute) if attribute else ()
        self.num_classes = len(self.class_names)

    def _root(self) -> Path:
        if not self.options.root:
            raise VaeregError("data.root: set it to the folder holding img_align_celeba/ and "
                              f"{PARTITION}")
        root = Path(self.options.root).expanduser()
        return root / "celeba" if not (root / IMAGES).is_dir() and (root / "celeba").is_dir() \
            else root

    def _labels(self, root: Path, names: list[str]) -> torch.Tensor | None:
        attribute = self.options.label_attribute
        if not attribute:
            return None
        rows = _rows(root / ATTRIBUTES, "a count line, a line of attribute names, then a "
                     "file name and 40 values of 1 or -1 per line")
        header = rows[1]
        if attribute not in header:
            raise VaeregError(f"data.label_attribute: no attribute {attribute!r} in "
                              f"{root / ATTRIBUTES}" + did_you_mean(attribute, header)
                              + f"; it has {', '.join(header)}")
        column = header.index(attribute) + 1
        table = {row[0]: int(row[column] == "1") for row in rows[2:]}
        missing = [name for name in names if name not in table]
        if missing:
            raise VaeregError(f"{root / ATTRIBUTES} has no row for {missing[0]} "
                              f"({len(missing)} images of {PARTITION} missing)")
        return torch.tensor([table[name] for name in names])

    def load(self, seed: int) -> Splits:
        root = self._root()
        if not (root / IMAGES).is_dir():
            raise VaeregError(f"{root / IMAGES}: no such folder; expected CelebA's aligned "
                              f"JPEGs there (see the README, 'Placing CelebA')")
        rows = _rows(root / PARTITION, "a file name and 0 (train), 1 (val) or 2 (test) per line")
        bad = next((row for row in rows if len(row) != 2 or row[1] not in "012"), None)
        if bad is not None:
            raise VaeregError(f"{root / PARTITION}: line {' '.join(bad)!r}; expected a file name "
                              f"and 0, 1 or 2")
        parts = [[name for name, part in rows if part == str(k)] for k in range(3)]
        empty = [what for what, names in zip(("train", "val", "test"), parts) if not names]
        if empty:
            raise VaeregError(f"{root / PARTITION} lists no {' or '.join(empty)} images")
        if self.options.train_size:
            parts[0] = parts[0][:self.options.train_size]
        splits = [self._split(root, names, seed + k, flip=self.options.flip and k == 0)
                  for k, names in enumerate(parts)]
        return Splits(*splits)

    def _split(self, root: Path, names: list[str], seed: int, flip: bool) -> StreamSplit:
        o = self.options
        reader = ImageReader(tuple(str(root / IMAGES / name) for name in names), 3, o.size,
                             o.crop)
        return StreamSplit(reader, len(names), self._labels(root, names), seed=seed,
                           transforms=Transforms(flip=flip), on_bad_file=o.on_bad_file)
