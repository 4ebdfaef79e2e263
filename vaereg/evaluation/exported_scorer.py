"""A scorer file written by ``vaereg export --format onnx``, run through onnxruntime
(``vaereg score --onnx``): its metadata read, and the file refused by name when it was
exported from another run, from other weights or for another input shape."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import torch
from torch import Tensor

from vaereg.core.common.errors import VaeregError, first_line
from vaereg.core.run_folder.run_identity import RUN_ID_FILE, run_id
from vaereg.evaluation.run_loading import LoadedRun
from vaereg.evaluation.calibration import Calibration
from vaereg.evaluation.scorer_export import INPUT_NAME, METADATA_KEY


@attrs.frozen
class ExportedScorer:
    """``session``: onnxruntime's; ``metadata``: what ``vaereg export`` recorded."""

    path: Path
    session: Any
    metadata: dict[str, Any]

    @property
    def calibration(self) -> Calibration:
        return Calibration(**self.metadata["calibration"])

    @property
    def left_out(self) -> dict[str, str]:
        """The eager scorer's scores and maps the file does not hold, with why."""
        return self.metadata["left_out"]

    def outputs(self, split: Any, batch_size: int = 500) -> dict[str, Tensor]:
        """{output name: values} of every image of ``split``, in order (its batches: the
        pixels the eager scorer sees, binarized where the run's are)."""
        names = [output.name for output in self.session.get_outputs()]
        parts: dict[str, list[Tensor]] = {name: [] for name in names}
        for batch in split.batches(batch_size):
            images = batch.x.detach().float().cpu().numpy()
            for name, values in zip(names, self.session.run(names, {INPUT_NAME: images})):
                parts[name].append(torch.from_numpy(values))
        return {name: torch.cat(values) for name, values in parts.items()}


def _shape(shape: list[int]) -> str:
    return "x".join(map(str, shape))


def check_fits(metadata: dict[str, Any], run: LoadedRun, path: Path) -> None:
    """Refuse a file made for another input shape, another run or other weights."""
    recorded, exporter = metadata["input"]["shape"][1:], metadata["run"]["dir"]
    if recorded != list(run.dataset.input_shape):
        raise VaeregError(f"--onnx {path} takes {_shape(recorded)} images (exported from "
                          f"{exporter}); the model of {run.run_dir} takes "
                          f"{_shape(run.dataset.input_shape)}")
    if metadata["run"]["id"] != run_id(run.run_dir):
        raise VaeregError(f"--onnx {path} was exported from the run in {exporter}, not from "
                          f"{run.run_dir} (their {RUN_ID_FILE} differ): score it with its "
                          f"own run folder, or export this run (vaereg export {run.run_dir})")
    checkpoint = metadata["checkpoint"]
    if checkpoint["sha256"] != run.checkpoint_info["sha256"]:
        raise VaeregError(f"--onnx {path} holds the weights of {checkpoint['name']}.pt at epoch "
                          f"{checkpoint['epoch']}, not those of "
                          f"{run.checkpoint_info['path']}: pick that checkpoint with "
                          f"--checkpoint, or export again")


def load_exported(path: str | Path, run: LoadedRun) -> ExportedScorer:
    """The scorer in ``path`` once it is known to belong to ``run``'s weights."""
    try:
        import onnxruntime
    except ImportError:
        raise VaeregError("--onnx needs onnxruntime: pip install 'vaereg[onnx]'") from None
    path = Path(path)
    if not path.is_file():
        raise VaeregError(f"--onnx {path}: no such file")
    try:
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime's own exception types, one per kind of fault
        raise VaeregError(f"--onnx {path}: not an ONNX file onnxruntime can load "
                          f"({first_line(error)})") from None
    text = session.get_modelmeta().custom_metadata_map.get(METADATA_KEY)
    if text is None:
        raise VaeregError(f"--onnx {path} was not written by vaereg export (it has no "
                          f"'{METADATA_KEY}' metadata)")
    try:
        metadata = json.loads(text)
        check_fits(metadata, run, path)
        Calibration(**metadata["calibration"])
        if not isinstance(metadata["left_out"], dict):
            raise TypeError("'left_out' is not a table of names")
    except (ValueError, KeyError, TypeError, IndexError) as error:  # another version's, or edited
        raise VaeregError(f"--onnx {path}: its '{METADATA_KEY}' metadata is not what this "
                          f"vaereg's export writes ({type(error).__name__}: "
                          f"{first_line(error)}); export the run again") from None
    return ExportedScorer(path, session, metadata)
