"""The labelled-defects protocol: a dataset's normal test images and its defects (the
MVTec AD layout of ``image_folder``), with masks, defect types and file paths."""
from __future__ import annotations

import attrs
import torch
from torch import Tensor

from vaereg.core.common.errors import VaeregError
from vaereg.core.data.split_preparation import prepare_anomalies
from vaereg.data.defect_layout import NORMAL
from vaereg.data.split_images import read_positions, split_images
from vaereg.data.tensor_split import TensorSplit
from vaereg.evaluation.anomaly_sets import AnomalySet, held_out_classes
from vaereg.evaluation.run_loading import LoadedRun

PROTOCOL = "labelled defects"
#: the validation images and the defects of ``val/<type>/`` (what a sweep may tune on)
VALIDATION_PROTOCOL = "labelled validation defects"


@attrs.frozen
class DefectSet:
    """``anomaly_set`` (the normal test images, then the defects) and, aligned with it,
    each image's ``kind`` (``good`` or its defect type), file ``paths`` and ``masks``
    ([N, H, W] bool, all False for a normal image; None when the folder has none)."""

    anomaly_set: AnomalySet
    kinds: tuple[str, ...]
    paths: tuple[str, ...]
    masks: Tensor | None


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
    normal, _ = split_images(normal_split)
    anomalous, _ = split_images(defects.split)
    normal_at = read_positions(normal_split).tolist()
    anomalous_at = read_positions(defects.split).tolist()
    masks = None
    if defects.masks is not None:
        masks = torch.cat([torch.zeros(len(normal_at), *normal.shape[2:], dtype=torch.bool),
                           defects.masks.read(anomalous_at)])
    is_anomaly = torch.cat([torch.zeros(len(normal_at)), torch.ones(len(anomalous_at))]).long()
    index = torch.tensor(normal_at + anomalous_at)
    protocol = PROTOCOL if part == "test" else VALIDATION_PROTOCOL
    anomaly_set = AnomalySet(TensorSplit(torch.cat([normal, anomalous]), None), index,
                             is_anomaly, protocol, f"{part}+defects", protocol)
    return DefectSet(anomaly_set,
                     (NORMAL,) * len(normal_at) + tuple(defects.kinds[i] for i in anomalous_at),
                     tuple(defects.normal_paths[i] for i in normal_at)
                     + tuple(defects.paths[i] for i in anomalous_at), masks)


def anomaly_protocol(run: LoadedRun) -> tuple[AnomalySet, DefectSet | None]:
    """What ``--anomaly`` scores: the labelled defects where the dataset has them, else
    the held-out classes."""
    defect_set = labelled_defects(run)
    return (defect_set.anomaly_set, defect_set) if defect_set else (held_out_classes(run), None)
