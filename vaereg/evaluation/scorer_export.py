"""``vaereg export RUN_DIR``: the run's scorer (:class:`ScorerGraph`) as an ONNX or
TorchScript file that scores images without vaereg, with what a user of the file needs
to know in its metadata (``METADATA_KEY``, JSON): the input it takes and how the run's
dataset prepared its images, the output names, and the run's calibration (computed and
stored first where the checkpoint has none, as ``vaereg score`` does).

ONNX goes through torch's ``torch.export``-based exporter (``dynamo=True``, which needs
onnxscript): it gives the eager numbers to float rounding at any batch size, and where a
model's code would fix the batch size it refuses to export instead of writing a graph
that is wrong at other sizes, as the deprecated TorchScript-based exporter did (measured:
a batch of 64 failed in onnxruntime after an export at 2). See docs/export.md."""
from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path
from typing import Any

import attrs
import torch

from vaereg.core.common.atomic_file import atomic_write
from vaereg.core.common.errors import VaeregError, first_line
from vaereg.core.run_folder.run_identity import run_id
from vaereg.evaluation.run_loading import LoadedRun
from vaereg.core.common.writable import writable_folder
from vaereg.data.split_images import dynamic_binarization
from vaereg.evaluation.baseline_maps import PixelGaussian
from vaereg.evaluation.calibration import Calibration, load_or_calibrate
from vaereg.evaluation.image_scoring import HEADLINE
from vaereg.evaluation.scorer_graph import (GRAPH_MAPS, MAP_ORDER, RECONSTRUCTION, ScorerGraph,
                                           aggregate_names, left_out, split_outputs)
from vaereg.evaluation.volume_runs import on_volumes, refuse_whole_volumes

METADATA_KEY = "vaereg"
#: format name -> file suffix
FORMATS = {"onnx": ".onnx", "torchscript": ".pt"}
EXPORT_DIR = "export"
INPUT_NAME = "images"


@attrs.frozen
class ExportResult:
    path: Path
    outputs: tuple[str, ...]
    left_out: dict[str, str]


def default_path(run: LoadedRun, format: str) -> Path:
    return run.run_dir / EXPORT_DIR / f"{run.checkpoint_info['name']}{FORMATS[format]}"


#: volume reader options that choose files or splits, not how a slice's values are made
NOT_PREPROCESSING = ("root", "volumes", "val_fraction", "test_fraction")


def preprocessing(run: LoadedRun) -> dict[str, Any]:
    """How the run's dataset turns a file into the model's input, which a user of the
    exported file repeats (the graph takes the result)."""
    options = run.recipe.data.options
    channels = run.dataset.input_shape[0]
    binarization = ("dynamic: Bernoulli pixels drawn from the grey values, as the run's "
                    "splits and vaereg score draw them"
                    if dynamic_binarization(run.splits.val) else "none")
    if on_volumes(run):
        return {"volumes": run.recipe.data.name, "binarization": binarization,
                "options": {name: value for name, value in attrs.asdict(options).items()
                            if name not in NOT_PREPROCESSING},
                "steps": ["read each volume, reorient it to RAS+, normalize it, pad and "
                          "resize it, and cut it into slices along `axis`, as vaereg's "
                          "volume reader does with these options (docs/medical.md); "
                          "`vaereg score RUN_DIR PATH... --onnx FILE` does it for you"]}
    return {"mode": "L" if channels == 1 else "RGB",
            "crop": getattr(options, "crop", 0), "size": getattr(options, "size", 0),
            "steps": ["convert the image to `mode` (Pillow)",
                      "center-crop to `crop` pixels (0: no crop)",
                      "resize the shorter side to `size`, then center-crop to `size` x "
                      "`size` (0: neither; bilinear, antialiased)",
                      "divide the 8-bit values by 255 (float32 in [0, 1]), channels first"],
            "binarization": binarization}


def scorer_metadata(run: LoadedRun, outputs: list[str], calibration: Calibration,
                    format: str) -> dict[str, Any]:
    """What the exported file records of its run, input, outputs and calibration."""
    scores, maps = split_outputs(dict.fromkeys(outputs))
    info = run.checkpoint_info
    return {
        "format": format, "vaereg_scorer": 1,
        "run": {"id": run_id(run.run_dir), "dir": str(run.run_dir.resolve()),
                "model": run.recipe.model.name, "data": run.recipe.data.name},
        "checkpoint": {"name": info["name"], "epoch": info["epoch"], "step": info["step"],
                       "sha256": info["sha256"]},
        "input": {"name": INPUT_NAME, "shape": ["N", *run.dataset.input_shape],
                  "channels": run.dataset.input_shape[0], "dtype": "float32",
                  "value_range": [0.0, 1.0]},
        "preprocessing": preprocessing(run),
        "scores": list(scores), "maps": list(maps), "reconstruction": RECONSTRUCTION,
        "headline": HEADLINE, "scored_at": "the posterior mean z = E[z|x]",
        "left_out": left_out([*MAP_ORDER, *(score for name in MAP_ORDER
                                            for score in aggregate_names(name))], outputs),
        "calibration": attrs.asdict(calibration),
    }


def _onnx_bytes(graph: ScorerGraph, example: torch.Tensor, outputs: list[str],
                metadata: dict[str, Any]) -> bytes:
    program = torch.onnx.export(graph, (example,), input_names=[INPUT_NAME],
                                output_names=outputs, dynamo=True, verbose=False,
                                report=False, dynamic_shapes=({0: torch.export.Dim("N")},))
    program.model.metadata_props[METADATA_KEY] = json.dumps(metadata)
    buffer = io.BytesIO()
    program.save(buffer)
    return buffer.getvalue()


def _torchscript_bytes(graph: ScorerGraph, example: torch.Tensor, outputs: list[str],
                       metadata: dict[str, Any]) -> bytes:
    traced = torch.jit.trace(graph, (example,), strict=False)
    buffer = io.BytesIO()
    torch.jit.save(traced, buffer, _extra_files={f"{METADATA_KEY}.json": json.dumps(metadata)})
    return buffer.getvalue()


ENCODERS = {"onnx": _onnx_bytes, "torchscript": _torchscript_bytes}


def save_scorer(graph: ScorerGraph, input_shape: tuple[int, ...], format: str,
                metadata: dict[str, Any], path: str | Path) -> None:
    """``graph`` (on the CPU, eval mode) as a ``format`` file at ``path`` for images of
    ``input_shape`` [C, H, W] and any batch size, written atomically; a model the
    exporter cannot handle is refused, saying why."""
    example = torch.rand(2, *input_shape)
    graph.eval()
    with torch.no_grad():
        outputs = list(graph(example))
        try:
            data = ENCODERS[format](graph, example, outputs, metadata)
        except Exception as error:  # the exporters raise many kinds; the cause says why
            cause = error.__cause__ or error
            raise VaeregError(f"model {type(graph.model).__name__} cannot be exported to "
                              f"{format}: {first_line(cause)}") from None
    atomic_write(path, lambda handle: handle.write(data))


def export_scorer(run: LoadedRun, format: str, out: str | Path | None = None,
                  batch_size: int = 500) -> ExportResult:
    """Write the run's scorer to ``out`` (default ``RUN_DIR/export/<checkpoint>.onnx`` or
    ``.pt``); the folder is checked to be writable before any work, and the file is
    replaced atomically (a failed export leaves an earlier one whole)."""
    from vaereg.evaluation.score_command import refuse_unscorable

    refuse_unscorable(run)
    refuse_whole_volumes(run, "export")
    if format == "onnx" and importlib.util.find_spec("onnxscript") is None:
        raise VaeregError("export --format onnx needs onnxscript (torch's ONNX exporter): "
                          "pip install 'vaereg[onnx]'")
    path = Path(out) if out else default_path(run, format)
    writable_folder(path.parent, "the folder of --out" if out else "RUN_DIR/export")
    gaussian = PixelGaussian.fit(run.splits.train, batch_size)
    calibration = load_or_calibrate(run, gaussian, batch_size, GRAPH_MAPS)  # all it holds
    graph = ScorerGraph(run.model.cpu().eval(), gaussian)
    with torch.no_grad():
        outputs = list(graph(torch.rand(1, *run.dataset.input_shape)))
    metadata = scorer_metadata(run, outputs, calibration, format)
    save_scorer(graph, run.dataset.input_shape, format, metadata, path)
    return ExportResult(path, tuple(outputs), metadata["left_out"])
