"""Real image files for the file datasets' tests, written with PIL."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def write_images(folder: Path, count: int, *, size: int = 8, mode: str = "RGB",
                 suffix: str = ".png", seed: int = 0, start: int = 0) -> list[Path]:
    """``count`` random images named 0000.png ...; each a smooth gradient plus noise, so
    JPEG keeps them recognizable."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    channels = 1 if mode == "L" else 3
    paths = []
    for index in range(start, start + count):
        pixels = rng.integers(0, 256, (size, size, channels), dtype=np.uint8)
        image = Image.fromarray(pixels.squeeze(-1) if channels == 1 else pixels, mode)
        path = folder / f"{index:04d}{suffix}"
        image.save(path)
        paths.append(path)
    return paths


def class_folders(root: Path, classes: dict[str, int], **kwargs) -> Path:
    """One subfolder of images per class."""
    for offset, (name, count) in enumerate(classes.items()):
        write_images(root / name, count, seed=offset, **kwargs)
    return root


ATTRIBUTE_NAMES = ["Male", "Smiling", "Young"]


def celeba_folder(root: Path, parts: tuple[int, ...] = (0,) * 8 + (1,) * 2 + (2,) * 2) -> Path:
    """A CelebA root in torchvision's layout: 178x218 JPEGs, the partition and attribute
    files; image k smiles when k is even."""
    paths = write_images(root / "img_align_celeba", len(parts), size=178, suffix=".jpg",
                         start=1)
    for path in paths:  # CelebA's aligned images are 178 wide, 218 high
        Image.open(path).resize((178, 218)).save(path)
    names = [path.name for path in paths]
    (root / "list_eval_partition.txt").write_text(
        "".join(f"{name} {part}\n" for name, part in zip(names, parts)))
    rows = [f"{name} {' '.join(['-1', '1' if k % 2 == 0 else '-1', '1'])}"
            for k, name in enumerate(names)]
    (root / "list_attr_celeba.txt").write_text(
        f"{len(names)}\n{' '.join(ATTRIBUTE_NAMES)}\n" + "\n".join(rows) + "\n")
    return root
