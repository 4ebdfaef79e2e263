"""Which runs trained on volumes, and what their maps can be: maps go back into the
scanner's space from 2-D slices; a run on whole volumes (``volumes = true``) has no
localization or scoring of files yet, and says so instead of failing half-way."""
from __future__ import annotations

from typing import Any

from vaereg.core.common.errors import VaeregError


def on_volumes(run: Any) -> bool:
    """Whether the run's dataset reads volumes (``nifti``, ``dicom``)."""
    return getattr(run.dataset, "placements", None) is not None


def scores_slices(run: Any) -> bool:
    """Whether the run trained on slices of volumes: then maps go back into them."""
    return on_volumes(run) and bool(run.dataset.axis)


def refuse_whole_volumes(run: Any, command: str) -> None:
    if on_volumes(run) and not run.dataset.axis:
        raise VaeregError(f"{command} localizes 2-D slices of volumes; {run.run_dir} trained "
                          f"on whole volumes (data.volumes = true). Train on slices "
                          f"(data.volumes = false, data.axis) to get maps in the scanner's "
                          f"space")
