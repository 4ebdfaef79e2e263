"""Images a user brings to a trained run (``vaereg score``): found in files or folders and
preprocessed exactly as the run's dataset reads its own (same channels, resize and crop,
Bernoulli pixels for a run trained on them),
or refused by name when the model cannot take them."""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Sequence

import torch
from PIL import Image
from torch import Tensor

from vaereg.core.common.errors import VaeregError, first_line
from vaereg.data.image_files import IMAGE_ERRORS, ImageReader, channels_of
from vaereg.data.split_images import dynamic_binarization
from vaereg.data.stream_split import BadFile
from vaereg.data.tensor_split import TensorSplit
from vaereg.evaluation.run_loading import LoadedRun


def image_files(paths: Sequence[str | Path]) -> list[Path]:
    """Each path that is a file, and the visible files under each folder, sorted."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files += sorted(f for f in path.rglob("*") if f.is_file() and not any(
                part.startswith(".") for part in f.relative_to(path).parts))
        elif path.is_file():
            files.append(path)
        else:
            raise VaeregError(f"{path}: no such file or folder")
    if not files:
        raise VaeregError(f"no files in {', '.join(map(str, paths))}")
    return files


def _mode_channels(path: Path) -> int:
    try:
        with Image.open(path) as image:
            return channels_of(image.mode)
    except IMAGE_ERRORS as error:
        raise BadFile(str(path), f"not an image ({first_line(error)})") from None


def read_like_run(run: LoadedRun, files: list[Path]) -> tuple[Tensor, list[Path]]:
    """(images [N, C, H, W] in [0, 1], the files they came from). A file that is not a
    readable image stops with its name, or is skipped with a warning where the run's
    recipe says ``data.on_bad_file = "skip"``; one of another size or (where the run took
    the images' own mode) another number of channels is refused by name."""
    options = run.recipe.data.options
    channels, height, width = run.dataset.input_shape
    reader = ImageReader(tuple(map(str, files)), channels, getattr(options, "size", 0),
                         getattr(options, "crop", 0))
    own_mode = getattr(options, "channels", "auto") == "auto"
    images, kept = [], []
    for index, path in enumerate(files):
        try:
            if own_mode and _mode_channels(path) != channels:
                raise VaeregError(f"{path} has {_mode_channels(path)} channel(s); the model "
                                  f"of {run.run_dir} takes {channels}")
            x = reader(index)
        except BadFile as error:
            if getattr(options, "on_bad_file", "stop") != "skip":
                raise VaeregError(f"cannot read {error}") from None
            warnings.warn(f"skipped {error} (data.on_bad_file = \"skip\")", RuntimeWarning,
                          stacklevel=2)
            continue
        if tuple(x.shape[1:]) != (height, width):
            raise VaeregError(f"{path} is {x.shape[2]}x{x.shape[1]} after the run's "
                              f"preprocessing; the model of {run.run_dir} takes "
                              f"{width}x{height} images")
        images.append(x)
        kept.append(path)
    if not images:
        raise VaeregError("none of the files could be read")
    return torch.stack(images), kept


def scored_split(run: LoadedRun, x: Tensor) -> TensorSplit:
    """The images ``x`` as a split that draws Bernoulli pixels (seeded) where the run's
    own splits do (``data.binarize = "dynamic"``), as its calibration's validation images
    were: a model trained on binary pixels scores binary pixels, not grey ones."""
    return TensorSplit(x.to(run.device), None, binarize=dynamic_binarization(run.splits.val))
