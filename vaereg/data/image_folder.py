"""``image_folder``: any folder of images, streamed (the medical-imaging use case).

Layouts (see ``folder_layout``): flat, class subfolders (labels, so ``data.classes``
works by folder name), or ``train/``, ``val/``, ``test/``. Without ``val/`` or ``test/``
those parts are drawn from the training images with a seeded split. In the MVTec AD
layout (see ``defect_layout``) the three splits hold normal images only; the defects,
with their masks, come apart from ``anomalies(seed)``. Headers are checked
before training (not an image, mixed sizes or modes); decoding happens in the workers.
"""
from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

import attrs
import torch

from vaereg.core.common.errors import VaeregError
from vaereg.core.common.options import in_range, option
from vaereg.data.defect_layout import (DefectLayout, check_mask_sizes, find_defect_layout,
                                       is_defect_layout)
from vaereg.data.folder_layout import find_parts
from vaereg.data.image_files import ImageFileOptions, ImageReader, common_shape, scan_headers
from vaereg.data.masks import MaskReader
from vaereg.data.stream_split import StreamSplit, Transforms
from vaereg.data.tensor_split import Splits

CHANNELS = {"auto": 0, "grayscale": 1, "rgb": 3}
#: the catalog's part of defect images (MVTec layout), kept apart from the three splits
ANOMALIES = "anomalies"
#: and of the validation defects (``val/<defect type>/``)
VAL_ANOMALIES = "val_anomalies"


@attrs.frozen
class ImageFolderOptions(ImageFileOptions):
    size: int = option(0, "resize (shorter side) and center-crop every image to size x size; "
                       "0 = the images' own size, which must then be the same for all",
                       check=in_range(0))
    channels: Literal["auto", "grayscale", "rgb"] = option(
        "auto", "convert to grey (1 channel) or RGB (3); 'auto' = the images' own mode, "
        "which must then be the same for all")
    val_fraction: float = option(0.1, "share of the training images held out for validation "
                                 "when the folder has no val/", check=in_range(0, 1, high_open=True))
    test_fraction: float = option(0.1, "share held out for testing when the folder has no "
                                  "test/; 1 = every image (the anomalies of `eval --ood`; "
                                  "a run needs images left to train on)",
                                  check=in_range(0, 1))
    binarize: Literal["none", "dynamic"] = option(
        "none", "'dynamic' draws Bernoulli pixels anew each epoch (evaluation: once, seeded)")


def carve(examples: list, fraction: float, seed: int, what: str,
          unit: str = "image") -> tuple[list, list]:
    """A seeded share of ``examples`` (at least one) and the rest; all of them, in file
    order, for a fraction of 1 (nothing is left to carve from then). ``what``: the part
    carved (test, val), ``unit``: what an example is, for the message."""
    if fraction == 1 or not examples:
        return list(examples), []
    count = max(1, round(fraction * len(examples)))
    if count >= len(examples):
        raise VaeregError(f"{len(examples)} training {unit}s are too few to hold out "
                          f"{what} {unit}s; add {unit}s or a {what}/ folder")
    order = torch.randperm(len(examples), generator=torch.Generator().manual_seed(seed))
    chosen = set(order[:count].tolist())
    return ([e for i, e in enumerate(examples) if i in chosen],
            [e for i, e in enumerate(examples) if i not in chosen])


@attrs.frozen
class LabelledDefects:
    """The anomalous test images of an MVTec-layout folder: ``split`` streams them like
    the test split (no class labels); ``paths`` and ``kinds`` (defect types) are aligned
    with it; ``masks`` reads their masks ([N, H, W] bool), None when the folder has none;
    ``normal_paths``: the files of the (normal) test split, in its order."""

    split: StreamSplit
    paths: tuple[str, ...]
    kinds: tuple[str, ...]
    masks: MaskReader | None
    normal_paths: tuple[str, ...]


class ImageFolder:
    """Dataset API: ``Options``, ``input_shape``, ``num_classes``, ``class_names``,
    ``load(seed)``; the folder is scanned once, when first needed. ``skipped_files``:
    the files the scan left out as not images ("path: reason"; files that fail only
    when decoded are in each split's ``skipped_files``)."""

    Options = ImageFolderOptions

    def __init__(self, options: ImageFolderOptions):
        self.options = options
        self.skipped_files: list[str] = []

    @cached_property
    def _catalog(self) -> tuple[dict[str, list[tuple[Path, str | None]]], tuple[int, int, int]]:
        o = self.options
        if not o.root:
            raise VaeregError("data.root: set it to the folder of images")
        root = Path(o.root).expanduser()
        layout = self._defect_layout
        parts = dict(layout.parts) if layout else find_parts(root)
        if layout:
            parts[ANOMALIES] = [(defect.path, defect.kind) for defect in layout.defects]
            parts[VAL_ANOMALIES] = [(defect.path, defect.kind) for defect in layout.val_defects]
        kept, headers = {}, []
        for name, examples in parts.items():
            scanned, skipped = scan_headers([path for path, _ in examples], o.on_bad_file)
            self.skipped_files += skipped
            good = {path for path, _, _ in scanned}
            kept[name] = [(path, label) for path, label in examples if path in good]
            headers += scanned
        if not headers:
            raise VaeregError(f"no readable images in {o.root}")
        if layout:
            sizes = {path: size for path, size, _ in headers}
            check_mask_sizes([d for d in layout.defects if d.path in sizes], sizes)
        return kept, common_shape(headers, CHANNELS[o.channels], o.size)

    @cached_property
    def _defect_layout(self) -> DefectLayout | None:
        root = Path(self.options.root).expanduser()
        return find_defect_layout(root) if is_defect_layout(root) else None

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return self._catalog[1]

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(sorted({label for name, examples in self._catalog[0].items()
                             if name not in (ANOMALIES, VAL_ANOMALIES) for _, label in examples
                             if label is not None}))

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def load(self, seed: int) -> Splits:
        o = self.options
        parts = dict(self._catalog[0])
        parts.pop(ANOMALIES, None)
        parts.pop(VAL_ANOMALIES, None)
        train = parts.pop("train", None) or parts.pop("all")
        test = parts.get("test")
        if test is None:
            test, train = carve(train, o.test_fraction, seed, "test")
        val = parts.get("val")
        if val is None:
            val, train = carve(train, o.val_fraction, seed + 1, "val")
        return Splits(self._split(train, seed, o.flip), self._split(val, seed + 2, False),
                      self._split(test, seed + 3, False))

    def anomalies(self, seed: int, part: str = "test") -> LabelledDefects | None:
        """The defects of an MVTec-layout folder (None in other layouts): those of
        ``test/`` read like the test split of ``load(seed)``, or (``part="val"``) those of
        ``val/``, without masks."""
        layout = self._defect_layout
        if layout is None:
            return None
        if part == "val":
            kept = self._catalog[0][VAL_ANOMALIES]
            return LabelledDefects(self._split(kept, seed + 5, False, labelled=False),
                                   tuple(str(path) for path, _ in kept),
                                   tuple(kind for _, kind in kept), None,
                                   tuple(str(path) for path, _ in self._catalog[0].get("val", [])))
        kept = self._catalog[0][ANOMALIES]
        masks = {defect.path: defect.mask for defect in layout.defects}
        _, height, width = self.input_shape
        mask_reader = None
        if any(masks.values()):
            mask_reader = MaskReader(tuple(str(masks[path]) for path, _ in kept),
                                     (height, width), self.options.size)
        return LabelledDefects(self._split(kept, seed + 4, False, labelled=False),
                               tuple(str(path) for path, _ in kept),
                               tuple(kind for _, kind in kept), mask_reader,
                               tuple(str(path) for path, _ in self._catalog[0]["test"]))

    def _split(self, examples: list[tuple[Path, str | None]], seed: int,
               flip: bool, labelled: bool = True) -> StreamSplit:
        channels, _, _ = self.input_shape
        names = self.class_names if labelled else ()
        y = torch.tensor([names.index(label) for _, label in examples]) if names else None
        reader = ImageReader(tuple(str(path) for path, _ in examples), channels, self.options.size)
        return StreamSplit(reader, len(examples), y, seed=seed,
                           transforms=Transforms(flip=flip,
                                                 binarize=self.options.binarize == "dynamic"),
                           on_bad_file=self.options.on_bad_file)
