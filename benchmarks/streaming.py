"""Images per second through vaereg's streaming path against a plain DataLoader loop.

A folder of 64x64 PNGs is generated in a temporary directory; both loops read the same
files with the same decoding (vaereg's ImageReader: PIL, RGB, float in [0, 1]), the same batch size and
workers, and alternate (ABBA) in one run; the fastest pass of each is compared. vaereg's
path adds per-example seeds, bad-file reporting and the resumable order. Goal: >= 0.95.

    python benchmarks/streaming.py [--images 2000] [--workers 2] [--repeats 3]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from vaereg.core.data.data_options import LoaderOptions
from vaereg.data.image_folder import ImageFolder, ImageFolderOptions


class PlainFiles(Dataset):
    """The same decoding as vaereg's (its ImageReader), in a textbook Dataset."""

    def __init__(self, read):
        self.read = read

    def __len__(self):
        return len(self.read.paths)

    def __getitem__(self, index):
        return self.read(index)


def write_folder(folder: Path, count: int) -> None:
    rng = np.random.default_rng(0)
    for index in range(count):
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(
            folder / f"{index:05d}.png")


def plain_pass(read, batch_size, workers) -> float:
    loader = DataLoader(PlainFiles(read), batch_size=batch_size, shuffle=True,
                        num_workers=workers, generator=torch.Generator().manual_seed(0))
    started = time.perf_counter()
    for x in loader:
        x.sum()
    return time.perf_counter() - started


def vaereg_pass(split, batch_size) -> float:
    started = time.perf_counter()
    for batch in split.batches(batch_size, torch.Generator().manual_seed(0)):
        batch.x.sum()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        write_folder(Path(folder), args.images)
        dataset = ImageFolder(ImageFolderOptions(root=folder, val_fraction=0.0001,
                                                 test_fraction=0.0001))
        split = dataset.load(0).train.with_loader(LoaderOptions(num_workers=args.workers))
        times = {"vaereg": [], "plain": []}
        for repeat in range(args.repeats):
            for which in (("plain", "vaereg") if repeat % 2 == 0 else ("vaereg", "plain")):
                times[which].append(vaereg_pass(split, args.batch_size) if which == "vaereg"
                                    else plain_pass(split.read, args.batch_size, args.workers))
    rates = {k: len(split) / min(v) for k, v in times.items()}
    print(f"{len(split)} 64x64 PNGs, batch {args.batch_size}, {args.workers} workers, "
          f"{args.repeats} passes each: vaereg {rates['vaereg']:.0f} images/s, plain "
          f"DataLoader {rates['plain']:.0f} images/s, ratio {rates['vaereg'] / rates['plain']:.3f} "
          f"(goal >= 0.95)")


if __name__ == "__main__":
    main()
