"""The labelled-defects protocol: a dataset's normal test images and its defects (the
MVTec AD layout of ``image_folder``), with masks, defect types and file paths.

The images are read a batch at a time from the two splits (the run's test split, then
the defects'), never copied into one tensor; only the masks ([N, H, W] bool, one byte a
pixel) are held in memory, read once when first asked for."""
from __future__ import annotations

from typing import Any

import attrs
import torch
from torch import Tensor

from vaereg.core.common.errors import VaeregError
from vaereg.core.data.split_preparation import prepare_anomalies
from vaereg.data.concatenated_split import ConcatenatedSplit
from vaereg.data.defect_layout import NORMAL
from vaereg.data.split_images import read_positions
from vaereg.evaluation.anomaly_sets import StreamedAnomalySet, held_out_classes
from vaereg.evaluation.run_loading import LoadedRun

PROTOCOL = "labelled defects"
#: the validation images and the defects of ``val/<type>/`` (what a sweep may tune on)
VALIDATION_PROTOCOL = "labelled validation defects"


@attrs.frozen
class DefectSet:
    """``anomaly_set`` (the normal test images, then the defects, streamed) and, aligned
    with the images a pass over it yields (a streamed split leaves out unreadable files:
    read these after the pass, as :class:`StreamedAnomalySet`'s ``index``), each image's
    ``kind`` (``good`` or its defect type), file ``paths`` and ``masks`` ([N, H, W] bool,
    all False for a normal image; None when the folder has none)."""

    anomaly_set: StreamedAnomalySet
    defects: Any
    _masks_read: dict = attrs.field(factory=dict, init=False, eq=False, repr=False)

    def _positions(self) -> tuple[list[int], list[int]]:
        normal, anomalous = self.anomaly_set.parts
        return read_positions(normal).tolist(), read_positions(anomalous).tolist()

    @property
    def kinds(self) -> tuple[str, ...]:
        normal_at, anomalous_at = self._positions()
        return (NORMAL,) * len(normal_at) + tuple(self.defects.kinds[i] for i in anomalous_at)

    @property
    def paths(self) -> tuple[str, ...]:
        normal_at, anomalous_at = self._positions()
        return (tuple(self.defects.normal_paths[i] for i in normal_at)
                + tuple(self.defects.paths[i] for i in anomalous_at))

    @property
    def masks(self) -> Tensor | None:
        if self.defects.masks is None:
            return None
        normal_at, anomalous_at = self._positions()
        key = (len(normal_at), tuple(anomalous_at))
        if key not in self._masks_read:  # the files are read once for the images a pass gave
            anomalous = self.defects.masks.read(anomalous_at)
            self._masks_read.clear()
            self._masks_read[key] = torch.cat(
                [anomalous.new_zeros(len(normal_at), *anomalous.shape[1:]), anomalous])
        return self._masks_read[key]


def labelled_defects(run: LoadedRun, part: str = "test") -> DefectSet | None:
    """The run's test split and its dataset's defects (``part="val"``: the validation
    split and the validation defects); None for a dataset without them."""
    defects = prepare_anomalies(run.dataset, run.recipe.seed_for_data, run.recipe.data.loader,
                                run.device, part)
    if defects is None:
        return None
    if not len(defects.split):
        raise VaeregError(f"{run.recipe.data.options.root} has no defect images: --anomaly "
                          f"needs {part}/<defect type>/ folders beside {part}/{NORMAL}/")
    normal_split = getattr(run.splits, part)
    protocol = PROTOCOL if part == "test" else VALIDATION_PROTOCOL
    anomaly_set = StreamedAnomalySet(ConcatenatedSplit(normal_split, defects.split),
                                     (normal_split, defects.split), None, protocol,
                                     f"{part}+defects", protocol)
    return DefectSet(anomaly_set, defects)


def anomaly_protocol(run: LoadedRun) -> tuple[StreamedAnomalySet, DefectSet | None]:
    """What ``--anomaly`` scores: the labelled defects where the dataset has them, else
    the held-out classes."""
    defect_set = labelled_defects(run)
    return (defect_set.anomaly_set, defect_set) if defect_set else (held_out_classes(run), None)
