"""A synthetic-defect set in the MVTec AD layout, built from Fashion-MNIST (28x28 grey).

Normal images are unmodified Fashion-MNIST images of every class: ``train/good/`` and
``val/good/`` from the official training split (disjoint), ``test/good/`` from the test
split. Each defect image is another test image (never one of ``test/good/``) with one
square patch, side 6 to 9 pixels, centred on a random garment pixel (value > 0.25) and
clipped to the image. Kinds, each at the images' own scale of [0, 1] grey values:

- ``brighter``: the patch's pixels + 0.5, clipped to 1.
- ``darker``: the patch's pixels - 0.5, clipped to 0 (a hole in the garment).
- ``stripes``: the patch replaced by a foreign texture, 0.5 + 0.5 sin(2 pi d / 4), d the
  distance along a random direction (stripes 4 pixels apart, full contrast).
- ``pasted``: the patch replaced by a patch of the same size copied from elsewhere in
  the same image (the source square does not overlap it and is also centred on a garment
  pixel). Its pixels are the image's own values, so intensity alone cannot tell them
  apart: only the structure is wrong.

The mask of a defect (``ground_truth/<kind>/<stem>_mask.png``, 255 = anomalous) marks the
pixels the defect changed by at least 0.1 (26 grey levels): a brightened pixel that was
already white is not anomalous. A draw whose mask has fewer than ``MIN_MASK`` pixels
is drawn again. Everything is drawn from one ``numpy`` generator seeded with ``seed``,
so the same options give the same files.
"""
from __future__ import annotations

import json
from pathlib import Path

import attrs
import numpy as np

KINDS = ("brighter", "darker", "stripes", "pasted")
SIDES = (6, 9)  # patch side, inclusive range
FOREGROUND = 0.25 * 255  # a patch is centred on a pixel brighter than this
SHIFT = 0.5 * 255  # brighter / darker
STRIPE_PERIOD = 4.0
CHANGED = 26  # grey levels (0.1): a pixel changed this much is in the mask
MIN_MASK = 6
MANIFEST = "defects.json"


@attrs.frozen
class DefectSetSize:
    """How many images each part of the set has (defects: per kind)."""

    train: int = 2000
    val: int = 200
    test: int = 200
    defects: int = 50
    seed: int = 0


def _square(center: tuple[int, int], side: int, shape: tuple[int, int]) -> tuple[slice, slice]:
    top, left = center[0] - side // 2, center[1] - side // 2
    return (slice(max(top, 0), min(top + side, shape[0])),
            slice(max(left, 0), min(left + side, shape[1])))


def _stripes(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    angle = rng.uniform(0, np.pi)
    rows, cols = np.mgrid[:shape[0], :shape[1]]
    distance = rows * np.sin(angle) + cols * np.cos(angle)
    return 255 * (0.5 + 0.5 * np.sin(2 * np.pi * distance / STRIPE_PERIOD))


def _pasted(image: np.ndarray, where: tuple[slice, slice], side: int,
            rng: np.random.Generator) -> np.ndarray | None:
    """A same-shaped patch of ``image`` centred on a garment pixel, not overlapping
    ``where``; None when the image has no such place."""
    height, width = where[0].stop - where[0].start, where[1].stop - where[1].start
    rows, cols = np.nonzero(image > FOREGROUND)
    for index in rng.permutation(len(rows)):
        top, left = rows[index] - height // 2, cols[index] - width // 2
        if top < 0 or left < 0 or top + height > image.shape[0] or left + width > image.shape[1]:
            continue
        apart = (top + height <= where[0].start or top >= where[0].stop
                 or left + width <= where[1].start or left >= where[1].stop)
        if apart:
            return image[top:top + height, left:left + width]
    return None


def add_defect(image: np.ndarray, kind: str, rng: np.random.Generator
               ) -> tuple[np.ndarray, np.ndarray] | None:
    """(defective uint8 image, bool mask) of one ``kind`` on ``image`` [H, W] uint8, or
    None when this draw changed fewer than ``MIN_MASK`` pixels (draw again)."""
    rows, cols = np.nonzero(image > FOREGROUND)
    if not len(rows):
        return None
    pick = rng.integers(len(rows))
    side = int(rng.integers(SIDES[0], SIDES[1] + 1))
    where = _square((rows[pick], cols[pick]), side, image.shape)
    patch = image[where].astype(np.float64)
    if kind == "brighter":
        patch = patch + SHIFT
    elif kind == "darker":
        patch = patch - SHIFT
    elif kind == "stripes":
        patch = _stripes(patch.shape, rng)
    elif kind == "pasted":
        source = _pasted(image, where, side, rng)
        if source is None:
            return None
        patch = source.astype(np.float64)
    else:
        raise ValueError(f"unknown defect kind {kind!r}")
    defective = image.copy()
    defective[where] = np.clip(np.rint(patch), 0, 255).astype(np.uint8)
    mask = np.abs(defective.astype(np.int16) - image.astype(np.int16)) >= CHANGED
    return (defective, mask) if mask.sum() >= MIN_MASK else None


def _save(pixels: np.ndarray, path: Path) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels, "L").save(path)


def build(root: Path, size: DefectSetSize) -> None:
    """Write the set into ``root`` (which must not exist yet; a half-written set is left
    in ``root.partial`` and replaced on the next call) with a manifest of ``size``."""
    import shutil

    from vaereg.data.fashion_mnist import FashionMNIST

    (train_x, _, test_x, _), _ = FashionMNIST(FashionMNIST.Options()).load_raw()
    train_x, test_x = train_x.numpy(), test_x.numpy()
    if size.train + size.val > len(train_x) or size.test + len(KINDS) * size.defects > len(test_x):
        raise ValueError(f"{size} asks for more images than Fashion-MNIST has")
    partial = root.with_name(root.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    rng = np.random.default_rng(size.seed)
    order = rng.permutation(len(train_x))
    for part, chosen in (("train", order[:size.train]),
                         ("val", order[size.train:size.train + size.val])):
        for index in chosen:
            _save(train_x[index], partial / part / "good" / f"{index:05d}.png")
    test_order = rng.permutation(len(test_x))
    for index in test_order[:size.test]:
        _save(test_x[index], partial / "test" / "good" / f"{index:05d}.png")
    sources = iter(test_order[size.test:])
    for kind in KINDS:
        made = 0
        while made < size.defects:
            index = next(sources)
            drawn = next(filter(None, (add_defect(test_x[index], kind, rng) for _ in range(20))),
                         None)
            if drawn is None:  # a nearly blank image: no patch changes enough pixels
                continue
            _save(drawn[0], partial / "test" / kind / f"{index:05d}.png")
            _save(drawn[1].astype(np.uint8) * 255,
                  partial / "ground_truth" / kind / f"{index:05d}_mask.png")
            made += 1
    (partial / MANIFEST).write_text(json.dumps(attrs.asdict(size), indent=2) + "\n")
    partial.rename(root)


def existing_size(root: Path) -> DefectSetSize | None:
    """The size a finished set in ``root`` was built with; None when there is none."""
    manifest = root / MANIFEST
    return DefectSetSize(**json.loads(manifest.read_text())) if manifest.is_file() else None
