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


def mvtec_folder(root: Path, *, train: int = 16, good: int = 4,
                 defects: dict[str, int] | None = None, size: int = 8,
                 masks: bool = True) -> Path:
    """A grey dataset in the MVTec AD layout: ``train`` normal training images, ``good``
    normal test images and, per defect type, images with a 2x3 patch made white
    (``bright``) or black (any other type) and a mask (255 on the patch, 0 elsewhere) in
    ``ground_truth/<type>/<stem>_mask.png``; image k's patch starts at row k % (size - 2)."""
    write_images(root / "train" / "good", train, size=size, mode="L")
    write_images(root / "test" / "good", good, size=size, mode="L", seed=1)
    defects = {"bright": 3, "dark": 2} if defects is None else defects
    for offset, (kind, count) in enumerate(defects.items()):
        for k, path in enumerate(write_images(root / "test" / kind, count, size=size,
                                              mode="L", seed=2 + offset)):
            mask = np.zeros((size, size), dtype=np.uint8)
            row = k % (size - 2)
            mask[row:row + 2, 1:4] = 255
            pixels = np.asarray(Image.open(path)).copy()
            pixels[mask > 0] = 255 if kind == "bright" else 0
            Image.fromarray(pixels, "L").save(path)
            if masks:
                (root / "ground_truth" / kind).mkdir(parents=True, exist_ok=True)
                Image.fromarray(mask, "L").save(root / "ground_truth" / kind /
                                                f"{path.stem}_mask.png")
    return root


FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


def fashion_mnist_images(count: int, *, split: str = "t10k", start: int = 0) -> np.ndarray:
    """Real Fashion-MNIST images ``start`` .. ``start + count`` of ``split`` ("t10k" or
    "train"), uint8 [count, 28, 28], read from the system copy the bootstrap installs."""
    import gzip

    with gzip.open(FASHION_MNIST / f"{split}-images-idx3-ubyte.gz") as handle:
        handle.read(16 + start * 784)
        pixels = handle.read(count * 784)
    return np.frombuffer(pixels, dtype=np.uint8).reshape(count, 28, 28)


def fashion_mnist_files(folder: Path, count: int, **kwargs) -> list[Path]:
    """Those images as grey PNG files 0000.png ... in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, pixels in enumerate(fashion_mnist_images(count, **kwargs)):
        paths.append(folder / f"{index:04d}.png")
        Image.fromarray(pixels, "L").save(paths[-1])
    return paths
