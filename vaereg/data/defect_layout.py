"""The MVTec AD layout: normal images to train on, labelled defects with masks to test on.

    root/train/good/                          normal training images (the only ones)
    root/val/good/                            optional: normal validation images
    root/val/<defect type>/                   optional: labelled validation anomalies
                                              (what a sweep may tune an anomaly score on)
    root/test/good/                           normal test images
    root/test/<defect type>/                  anomalous test images
    root/ground_truth/<defect type>/<stem>_mask.png   their masks (non-zero = anomalous)

A root is in this layout when it has ``train/good/`` and ``test/good/`` (Bergmann et al.
2019, the field's convention). Masks are all or nothing: a folder without ``ground_truth``
has image labels only; once one defect image has a mask, each must have one, of its size.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import attrs
from PIL import Image

from vaereg.core.common.errors import VaeregError, first_line
from vaereg.data.folder_layout import Examples, list_examples
from vaereg.data.image_files import IMAGE_ERRORS

NORMAL = "good"
MASKS = "ground_truth"
MASK_SUFFIX = "_mask.png"


@attrs.frozen
class Defect:
    """An anomalous test image, its defect type (its folder) and its mask (or None)."""

    path: Path
    kind: str
    mask: Path | None


@attrs.frozen
class DefectLayout:
    """``parts``: {"train", "test" and maybe "val": [(path, None)]} of normal images, as
    ``folder_layout.find_parts`` gives them; ``defects``: the anomalous test images;
    ``val_defects``: the anomalous validation images (without masks)."""

    parts: dict[str, list[tuple[Path, None]]]
    defects: list[Defect]
    val_defects: list[Defect] = attrs.Factory(list)


def is_defect_layout(root: Path) -> bool:
    return (root / "train" / NORMAL).is_dir() and (root / "test" / NORMAL).is_dir()


def png_mask_name(image: Path) -> str:
    """``<stem>_mask.png``: an image's mask file, in ground_truth/<type>/."""
    return image.stem + MASK_SUFFIX


def _normal_images(root: Path, part: str, list_part: Examples) -> list[tuple[Path, None]]:
    """The images of ``part/good/``; any other folder in ``part/`` is refused."""
    examples = list_part(root / part)
    others = sorted({label for _, label in examples if label != NORMAL})
    if others:
        raise VaeregError(f"{root / part / others[0]}: in the MVTec layout {part}/ holds normal "
                          f"images only, in {part}/{NORMAL}/ (defects belong in test/<type>/)")
    return [(path, None) for path, _ in examples]


def find_defect_layout(root: Path, examples: Examples = list_examples,
                       mask_name: Callable[[Path], str] = png_mask_name) -> DefectLayout:
    """The normal parts and the defects (with their masks) of an MVTec-layout ``root``;
    ``examples`` lists a folder's examples, ``mask_name`` names an example's mask file."""
    parts = {"train": _normal_images(root, "train", examples)}
    val_defects = []
    if (root / "val").is_dir():
        val = examples(root / "val")
        parts["val"] = [(path, None) for path, label in val if label == NORMAL]
        val_defects = [Defect(path, label, None) for path, label in val if label != NORMAL]
        if val_defects and not parts["val"]:
            raise VaeregError(f"{root / 'val'} holds defect folders but no {NORMAL}/ folder: "
                              f"validation needs normal images in val/{NORMAL}/")
    test = examples(root / "test")
    parts["test"] = [(path, None) for path, label in test if label == NORMAL]
    defects = [Defect(path, label, _mask_path(root / MASKS / label / mask_name(path)))
               for path, label in test if label != NORMAL]
    with_mask = [defect for defect in defects if defect.mask is not None]
    if with_mask and len(with_mask) < len(defects):
        missing = next(defect for defect in defects if defect.mask is None)
        raise VaeregError(f"{missing.path} has no mask: expected "
                          f"{root / MASKS / missing.kind / mask_name(missing.path)}, "
                          f"as {with_mask[0].path} has {with_mask[0].mask}")
    return DefectLayout(parts, defects, val_defects)


def _mask_path(path: Path) -> Path | None:
    return path if path.is_file() else None


def check_mask_sizes(defects: list[Defect], image_sizes: dict[Path, tuple[int, int]]) -> None:
    """Refuse, naming the file, a mask that is not an image or not the size of its image
    (``image_sizes``: (width, height) of each image, from the header scan)."""
    for defect in defects:
        if defect.mask is None:
            continue
        try:
            with Image.open(defect.mask) as mask:
                mask_size = mask.size
        except IMAGE_ERRORS as error:
            raise VaeregError(f"{defect.mask}: not a readable mask ({first_line(error)})") from None
        image_size = image_sizes[defect.path]
        if mask_size != image_size:
            raise VaeregError(f"{defect.mask} is {mask_size[0]}x{mask_size[1]}, but its image "
                              f"{defect.path} is {image_size[0]}x{image_size[1]}; a mask must "
                              f"have its image's size")
