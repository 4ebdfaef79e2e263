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
