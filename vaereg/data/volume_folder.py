"""A folder of scanner volumes as a dataset: 2-D slices (or whole volumes) to train on,
split by volume, with the defect volumes and their masks of the MVTec layout apart.

The file formats (``nifti``, ``dicom``) differ only in how a folder's examples are listed
and how one is read; this class does the rest. Every volume is read once, normalized,
cut and resized, and the splits are held in memory as tensors (N slices x size^2 x 4
bytes each). A volume's slices always stay in one split; a tree without ``val/`` or
``test/`` gets them by a seeded draw of volumes. Each slice row is labelled
``<source>#<axis>=<k>`` (k its index across ``axis`` in canonical orientation), which
is how maps find their way back into their volume (``placements``).
"""
from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Callable, Literal

import attrs
import numpy as np
import torch
from torch import Tensor

from vaereg.core.common.errors import VaeregError
from vaereg.core.common.options import in_range, option
from vaereg.data.defect_layout import Defect, find_defect_layout, is_defect_layout
from vaereg.data.folder_layout import Examples, find_parts
from vaereg.data.image_folder import LabelledDefects, carve
from vaereg.data.tensor_split import Splits, TensorSplit
from vaereg.data.volumes import Placement, Volume, fit, normalized, slices

#: how a slice row names its volume and position
ROW_SEPARATOR = "#"


@attrs.frozen
class VolumeFolderOptions:
    root: str = option("", "the folder that holds the volumes (required)")
    axis: Literal["axial", "coronal", "sagittal"] = option(
        "axial", "the direction of the 2-D slices (in canonical RAS+ orientation)")
    size: int = option(0, "resize slices to size x size (volumes: size^3), after padding "
                       "them square with background; 0 = their own size, which must then "
                       "be the same for all", check=in_range(0))
    normalize: Literal["percentile", "zscore", "none"] = option(
        "percentile", "per volume, on its foreground: 'percentile' clips to the 1st-99th "
        "percentile and scales to [0, 1]; 'zscore' standardizes, clips to +-3 and maps to "
        "[0, 1]; 'none' keeps the values, which must be in [0, 1]")
    min_foreground: float = option(
        0.0, "slices with a smaller share of foreground voxels are left out (of training, "
        "and scored as normal background)", check=in_range(0, 1))
    volumes: bool = option(False, "train on whole volumes (3-D, size^3) instead of slices")
    val_fraction: float = option(0.1, "share of the training volumes held out for "
                                 "validation when the folder has no val/",
                                 check=in_range(0, 1, high_open=True))
    test_fraction: float = option(0.1, "share of the volumes held out for testing when "
                                  "the folder has no test/", check=in_range(0, 1))


@attrs.frozen
class VolumeRows:
    """A split's tensor ``x`` and, per row, its label (``<source>#<axis>=<k>``, or the
    source for whole volumes)."""

    x: Tensor
    rows: tuple[str, ...]


def row_label(source: str, axis: str | None, k: int) -> str:
    return source if axis is None else f"{source}{ROW_SEPARATOR}{axis}={k}"


def row_position(label: str) -> tuple[str, int | None]:
    """(source, slice index or None for a whole volume) of a row label."""
    source, _, where = label.rpartition(ROW_SEPARATOR)
    if not source or "=" not in where:
        return label, None
    return source, int(where.split("=", 1)[1])


@attrs.frozen
class MaskRows:
    """The masks of the defect rows, [N, H, W] (or [N, D, H, W]) bool, read by position
    like :class:`vaereg.data.masks.MaskReader`."""

    masks: Tensor

    def read(self, positions: list[int] | None = None) -> Tensor:
        return self.masks if positions is None else self.masks[positions]


class VolumeFolder:
    """Dataset API (``Options``, ``input_shape``, ``num_classes``, ``load(seed)``,
    ``anomalies(seed)``); subclasses set ``what`` (the examples' name in messages),
    ``examples`` (lists a folder's), ``mask_name``, ``read_volume`` and ``read_mask``."""

    Options = VolumeFolderOptions
    num_classes = 0
    class_names: tuple[str, ...] = ()
    what = "volume"
    examples: Examples
    mask_name: Callable[[Path], str]

    def __init__(self, options: VolumeFolderOptions):
        self.options = options
        #: source -> where its maps go back, for every volume read so far
        self.placements: dict[str, Placement] = {}
        #: source -> its mask (bool, canonical orientation), for every defect read so far
        self.masks: dict[str, np.ndarray] = {}
        self._loaded: dict[int, dict[str, VolumeRows]] = {}

    def read_volume(self, path: Path) -> Volume:
        raise NotImplementedError

    def read_mask(self, path: Path, volume: Volume) -> np.ndarray:
        raise NotImplementedError

    @property
    def axis(self) -> str | None:
        """The slicing direction, None when training on whole volumes."""
        return None if self.options.volumes else self.options.axis

    @cached_property
    def _layout(self) -> tuple[dict[str, list[Path]], list[Defect]]:
        if not self.options.root:
            raise VaeregError(f"data.root: set it to the folder of {self.what}s")
        root = Path(self.options.root).expanduser()
        if not root.is_dir():
            raise VaeregError(f"data.root = {str(root)!r}: no such folder")
        if is_defect_layout(root):
            layout = find_defect_layout(root, type(self).examples, type(self).mask_name)
            if layout.val_defects:  # only image_folder scores validation defects (a sweep's)
                raise VaeregError(f"{layout.val_defects[0].path.parent}: in the MVTec layout of "
                                  f"{self.what}s val/ holds normal ones only, in val/good/ "
                                  f"(defects belong in test/<type>/)")
            parts, defects = layout.parts, layout.defects
        else:
            parts, defects = find_parts(root, type(self).examples), []
        return {name: [path for path, _ in found] for name, found in parts.items()}, defects

    @cached_property
    def input_shape(self) -> tuple[int, ...]:
        size = self.options.size
        if size:
            return (1, *(size,) * (3 if self.options.volumes else 2))
        parts, _ = self._layout
        first = self._read(next(iter(parts.values()))[0])
        return (1, *self._cut(first).shape[1:])

    def _read(self, path: Path) -> Volume:
        volume = self.read_volume(path)
        self.placements[volume.placement.source] = volume.placement
        if self.options.normalize == "none" and (volume.data.min() < 0 or volume.data.max() > 1):
            raise VaeregError(f"{path} has values from {volume.data.min():.4g} to "
                              f"{volume.data.max():.4g}; data.normalize = \"none\" needs them "
                              f"in [0, 1]: set it to \"percentile\" or \"zscore\"")
        return volume

    def _cut(self, volume: Volume, voxels: np.ndarray | None = None, *,
             nearest: bool = False) -> Tensor:
        """``voxels`` (default: the volume's normalized) as the model's rows: [S, H, W]
        slices or [1, D, H, W], resized."""
        if voxels is None:
            voxels = normalized(volume, self.options.normalize)
        axis = self.axis
        cut = torch.from_numpy(np.ascontiguousarray(voxels))[None] if axis is None \
            else slices(voxels, axis)
        return fit(cut, self.options.size, nearest=nearest)

    def _kept(self, volume: Volume) -> list[int]:
        """The slices with enough foreground (all, for whole volumes)."""
        axis = self.axis
        if axis is None:
            return [0]
        foreground = slices(volume.foreground(), axis).flatten(1).float().mean(1)
        return (foreground >= self.options.min_foreground).nonzero().squeeze(1).tolist()

    def sources(self, path: Path) -> list[Path]:
        """The volumes a path given to ``vaereg score`` names (a file or folder)."""
        raise NotImplementedError

    def rows_of(self, paths: list[Path], masks: dict[Path, Path] | None = None
                ) -> tuple[VolumeRows, Tensor | None]:
        """The rows of ``paths``' volumes, read as the splits are, and, given ``masks``
        (volume -> mask file), the mask of each row."""
        xs, labels, row_masks = [], [], []
        for path in paths:
            volume = self._read(path)
            kept = self._kept(volume)
            cut = self._cut(volume)
            if tuple(cut.shape[1:]) != self.input_shape[1:]:
                shape = "x".join(map(str, cut.shape[1:]))
                raise VaeregError(f"{path} gives {shape} {'volumes' if self.axis is None else 'slices'}, "
                                  f"others {'x'.join(map(str, self.input_shape[1:]))}; set "
                                  f"data.size to resize them all")
            xs.append(cut[kept])
            labels += [row_label(volume.placement.source, self.axis, k) for k in kept]
            if masks is not None:
                mask = self.read_mask(masks[path], volume)
                self.masks[volume.placement.source] = mask
                row_masks.append(self._cut(volume, mask.astype(np.float32), nearest=True)[kept] > 0.5)
        x = torch.cat(xs).unsqueeze(1) if xs else torch.zeros(0, *self.input_shape)
        mask_rows = torch.cat(row_masks) if row_masks else None
        return VolumeRows(x, tuple(labels)), mask_rows

    def _parts(self, seed: int) -> dict[str, list[Path]]:
        """The volumes of each split: the folder's, or a seeded draw of volumes."""
        parts = dict(self._layout[0])
        o = self.options
        train = parts.pop("train", None) or parts.pop("all")
        test = parts.get("test")
        if test is None:
            test, train = carve(train, o.test_fraction, seed, "test", self.what)
        val = parts.get("val")
        if val is None:
            val, train = carve(train, o.val_fraction, seed + 1, "val", self.what)
        return {"train": train, "val": val, "test": test}

    def split_rows(self, seed: int) -> dict[str, VolumeRows]:
        """Each split's rows (read once per seed)."""
        if seed not in self._loaded:
            self._loaded[seed] = {name: self.rows_of(paths)[0]
                                  for name, paths in self._parts(seed).items()}
        return self._loaded[seed]

    def load(self, seed: int) -> Splits:
        rows = self.split_rows(seed)
        return Splits(*(TensorSplit(rows[name].x, None, seed=seed)
                        for name in ("train", "val", "test")))

    def anomalies(self, seed: int) -> LabelledDefects | None:
        """The defect volumes' rows with their masks (MVTec layout; None otherwise)."""
        _, defects = self._layout
        if not defects and not is_defect_layout(Path(self.options.root).expanduser()):
            return None
        with_masks = bool(defects) and defects[0].mask is not None
        masks = {d.path: d.mask for d in defects} if with_masks else None
        rows, mask_rows = self.rows_of([d.path for d in defects], masks)
        kinds = {str(d.path): d.kind for d in defects}
        row_kinds = tuple(kinds[row_position(label)[0]] for label in rows.rows)
        return LabelledDefects(TensorSplit(rows.x, None, seed=seed + 4), rows.rows, row_kinds,
                               None if mask_rows is None else MaskRows(mask_rows),
                               self.split_rows(seed)["test"].rows)

