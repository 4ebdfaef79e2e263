"""Reading image files: decoding to tensors in the workers, and checking headers up front.

Shared by the file datasets (``image_folder``, ``celeba``). Decoding raises
:class:`BadFile` (handled by the streamed split's ``on_bad_file`` policy); the header
scan catches what is cheap to catch before training starts: files that are not images,
and, where the recipe asks for the images' own size or mode, mixed sizes or modes.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Literal

import attrs
import torch
from PIL import Image
from torchvision.transforms import functional as TF

from vaereg.core.common.errors import VaeregError, first_line
from vaereg.core.common.options import option
from vaereg.data.stream_split import BadFile

# What PIL raises for a file that is not an image, or a truncated or corrupt one.
IMAGE_ERRORS = (OSError, SyntaxError, ValueError, Image.DecompressionBombError)
GREY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "F"})
SKIP_ADVICE = "remove or replace it, or set data.on_bad_file = \"skip\" to leave such files out"


@attrs.frozen
class ImageFileOptions:
    """The keys every file dataset has."""

    root: str = option("", "the folder that holds the files (required)")
    flip: bool = option(False, "random horizontal flips of training images (seeded per image)")
    on_bad_file: Literal["stop", "skip"] = option(
        "stop", "a file that is not a readable image: 'stop' the run naming it, or 'skip' it "
        "(counted, with a warning)")


def channels_of(mode: str) -> int:
    """1 for PIL's grey modes, 3 for the rest (converted to RGB)."""
    return 1 if mode in GREY_MODES else 3


@attrs.frozen
class ImageReader:
    """``reader(index)``: image ``paths[index]`` as a (channels, H, W) float tensor in
    [0, 1], center-cropped to ``crop`` and resized (shorter side, then center crop) to
    ``size`` (0: neither). Picklable, so worker processes get it."""

    paths: tuple[str, ...]
    channels: int
    size: int = 0
    crop: int = 0

    def __call__(self, index: int) -> torch.Tensor:
        path = self.paths[index]
        try:
            with Image.open(path) as image:
                image = image.convert("L" if self.channels == 1 else "RGB")
        except IMAGE_ERRORS as error:
            raise BadFile(path, f"not a readable image ({first_line(error)})") from None
        if self.crop:
            image = TF.center_crop(image, [self.crop])
        if self.size:
            image = TF.center_crop(TF.resize(image, [self.size]), [self.size])
        return TF.pil_to_tensor(image).float().div_(255.0)


def scan_headers(paths: list[Path], on_bad_file: str
                 ) -> tuple[list[tuple[Path, tuple[int, int], str]], list[str]]:
    """((path, (width, height), mode) of each image, read from the headers only; what was
    skipped, "path: reason" each). A file that is not an image stops the run or is
    skipped with a warning, as the recipe says."""
    found, skipped = [], []
    for path in paths:
        try:
            with Image.open(path) as image:
                found.append((path, image.size, image.mode))
        except IMAGE_ERRORS as error:
            message = f"{path}: not an image ({first_line(error)}); expected a PNG, JPEG or " \
                      f"other file PIL reads"
            if on_bad_file == "stop":
                raise VaeregError(f"{message}. {SKIP_ADVICE.capitalize()}") from None
            skipped.append(message)
            warnings.warn(f"skipped {message} (data.on_bad_file = \"skip\")", RuntimeWarning,
                          stacklevel=2)
    if skipped:
        warnings.warn(f"skipped {len(skipped)} files that are not images", RuntimeWarning,
                      stacklevel=2)
    return found, skipped


def common_shape(headers: list[tuple[Path, tuple[int, int], str]], channels: int,
                 size: int) -> tuple[int, int, int]:
    """(C, H, W) of every image after conversion; mixed sizes (with ``size`` = 0) or
    mixed modes (with ``channels`` = 0, the images' own) are refused, naming two files."""
    first_path, first_size, first_mode = headers[0]
    for path, image_size, mode in headers[1:]:
        if not size and image_size != first_size:
            raise VaeregError(f"images of different sizes: {first_path} is {first_size[0]}x"
                              f"{first_size[1]}, {path} is {image_size[0]}x{image_size[1]}; "
                              f"set data.size to resize them all")
        if not channels and channels_of(mode) != channels_of(first_mode):
            raise VaeregError(f"images of different modes: {first_path} is {first_mode}, "
                              f"{path} is {mode}; set data.channels = \"grayscale\" or \"rgb\"")
    height, width = (size, size) if size else (first_size[1], first_size[0])
    return channels or channels_of(first_mode), height, width
