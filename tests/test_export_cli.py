"""`vaereg export` and `vaereg score --onnx` in real subprocesses, on a run trained on real
Fashion-MNIST images (resized by the run's `data.size`): the exported file gives the
eager scores.csv and maps.npz, the docs' example gives them without ever importing
torch, and a file of another run or input shape is refused by name."""
from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from cli_process import vaereg
from vaereg.core.common.errors import VaeregError
from vaereg.evaluation.exported_scorer import check_fits, load_exported
from vaereg.evaluation.run_loading import load_run
from vaereg.evaluation.scorer_graph import GRAPH_LACKS, GRAPH_MAPS, aggregate_names
from vaereg.testing import make_trainer, tiny_recipe

from image_fixtures import fashion_mnist_files

ROOT = Path(__file__).parents[1]


def trained_run(root: Path, size: int) -> Path:
    fashion_mnist_files(root / "data", 60, split="train")
    table = tiny_recipe(run={"epochs": 1},
                        data={"name": "image_folder", "root": str(root / "data"), "size": size,
                              "batch_size": 8, "val_fraction": 0.3})
    trainer = make_trainer(table, root / "runs")
    trainer.fit()
    return trainer.run_dir


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return trained_run(tmp_path_factory.mktemp("export"), 20)


@pytest.fixture(scope="module")
def exported(run_dir):
    result = vaereg("export", str(run_dir), cwd=run_dir)
    assert result.returncode == 0, result.stderr
    return run_dir / "export" / "best.onnx", result


@pytest.fixture(scope="module")
def test_files(tmp_path_factory):
    return fashion_mnist_files(tmp_path_factory.mktemp("test") / "images", 12)


def read_rows(folder: Path) -> list[dict[str, str]]:
    with open(folder / "scores.csv", newline="") as handle:
        return list(csv.DictReader(handle))


GRAPH_LACKS_SCORES = {score for name in GRAPH_LACKS for score in aggregate_names(name)}


def test_export_writes_a_graph_with_its_metadata(exported, run_dir):
    path, result = exported
    assert f"wrote {path}" in result.stdout
    assert "left out gradient, combi, restoration, gradient_max, " in result.stderr
    model = onnx.load(str(path))
    metadata = json.loads({p.key: p.value for p in model.metadata_props}["vaereg"])
    assert metadata["input"]["shape"] == ["N", 1, 20, 20]
    assert metadata["preprocessing"]["mode"] == "L" and metadata["preprocessing"]["size"] == 20
    assert metadata["run"]["id"] == (run_dir / "run_id.txt").read_text().strip()
    calibration = json.loads((run_dir / "calibration" / "best.json").read_text())
    assert metadata["calibration"] == calibration  # stored first, then carried
    assert set(calibration["pixel_thresholds"]) == set(GRAPH_MAPS)  # no gradient passes
    outputs = [output.name for output in model.graph.output]
    assert outputs[:3] == ["recon", "kl", "neg_elbo"] and "reconstruction" in outputs
    assert set(metadata["left_out"]) == GRAPH_LACKS_SCORES | set(GRAPH_LACKS)
    dims = {o.name: [d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim]
            for o in [*model.graph.input, *model.graph.output]}
    assert dims["images"] == ["N", 1, 20, 20] and dims["nll"] == ["N", 20, 20]
    assert dims["neg_elbo"] == ["N"]


def test_score_onnx_writes_the_eager_columns_and_maps(exported, run_dir, test_files, tmp_path):
    path, _ = exported
    files = [str(file) for file in test_files]
    eager = vaereg("score", str(run_dir), *files, "--alpha", "0.3", "--maps", "all", "--out",
                   str(tmp_path / "eager"), cwd=tmp_path)
    assert eager.returncode == 0, eager.stderr
    onnx_run = vaereg("score", str(run_dir), *files, "--alpha", "0.3", "--maps", "all",
                      "--onnx", str(path), "--out", str(tmp_path / "onnx"), cwd=tmp_path)
    assert onnx_run.returncode == 0, onnx_run.stderr
    assert re.search(r"--onnx: left out gradient, combi, restoration, gradient_max, .*restoration_top1pct",
                     onnx_run.stderr)
    expected, got = read_rows(tmp_path / "eager"), read_rows(tmp_path / "onnx")
    left_out = set(expected[0]) - set(got[0])
    assert left_out == GRAPH_LACKS_SCORES | {f"p_value/{name}" for name in GRAPH_LACKS_SCORES}
    assert list(got[0]) == [column for column in expected[0] if column not in left_out]
    assert sum(int(row["flagged"]) for row in expected) not in (0, len(expected))
    assert len(got) == len(expected) == len(files)
    for want, have in zip(expected, got):
        assert have["path"] == want["path"]
        assert have["flagged"] == want["flagged"] and have["p_value"] == want["p_value"]
        for column in got[0]:
            if column not in ("path", "flagged"):
                assert float(have[column]) == pytest.approx(float(want[column]), rel=1e-4,
                                                            abs=1e-6), column
    with np.load(tmp_path / "eager" / "maps.npz") as want, \
            np.load(tmp_path / "onnx" / "maps.npz") as have:
        assert set(want.files) - set(have.files) == set(GRAPH_LACKS)
        for name in have.files:
            np.testing.assert_allclose(have[name], want[name], rtol=1e-4,
                                       atol=1e-6 * np.abs(want[name]).max())
    assert len(list((tmp_path / "onnx" / "heat_maps").glob("*.png"))) == len(files)


def docs_example() -> str:
    page = (ROOT / "docs" / "export.md").read_text(encoding="utf-8")
    return re.findall(r"^```python\n(.*?)^```", page, re.S | re.M)[0]


def test_the_docs_example_scores_without_torch(exported, run_dir, test_files, tmp_path):
    path, _ = exported
    script = docs_example() + f"""
import sys
rows, outputs = score_files({str(path)!r}, {[str(f) for f in test_files]!r}, alpha=0.3)
print(json.dumps({{"rows": rows, "torch": [m for m in sys.modules if m.split(".")[0] == "torch"],
                  "vaereg": "vaereg" in sys.modules, "nll": outputs["nll"].shape}}))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["torch"] == [] and not printed["vaereg"]
    assert printed["nll"] == [len(test_files), 20, 20]
    scored = vaereg("score", str(run_dir), *map(str, test_files), "--alpha", "0.3", "--out",
                    str(tmp_path / "eager"), cwd=tmp_path)
    assert scored.returncode == 0, scored.stderr
    eager = read_rows(tmp_path / "eager")
    assert [row["path"] for row in printed["rows"]] == [row["path"] for row in eager]
    assert len(eager) == len(test_files)
    for row, want in zip(printed["rows"], eager):
        assert row["path"] == want["path"]
        assert row["neg_elbo"] == pytest.approx(float(want["neg_elbo"]), rel=1e-4)
        assert row["p_value"] == pytest.approx(float(want["p_value"]), rel=1e-5)
        assert int(row["flagged"]) == int(want["flagged"])


def test_a_file_of_another_run_or_input_shape_is_refused_by_name(exported, run_dir,
                                                                 test_files, tmp_path):
    path, _ = exported
    other_shape = trained_run(tmp_path / "small", 16)
    other_run = trained_run(tmp_path / "same", 20)
    for folder, message in ((other_shape, f"--onnx {path} takes 1x20x20 images"),
                            (other_run, f"--onnx {path} was exported from the run in "
                                        f"{run_dir.resolve()}, not from {other_run}")):
        result = vaereg("score", str(folder), str(test_files[0]), "--onnx", str(path),
                        cwd=tmp_path)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert message in result.stderr
        assert not (folder / "scored").exists()


def test_export_to_a_folder_that_cannot_be_written_exits_2(run_dir, tmp_path):
    (tmp_path / "blocker").write_text("a file, not a folder")
    result = vaereg("export", str(run_dir), "--out", str(tmp_path / "blocker" / "a.onnx"),
                    cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "the folder of --out" in result.stderr and "blocker is a file" in result.stderr


def test_torchscript_export_loads_with_its_metadata(run_dir, tmp_path):
    result = vaereg("export", str(run_dir), "--format", "torchscript", "--out",
                    str(tmp_path / "scorer.pt"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    files = {"vaereg.json": ""}
    scorer = torch.jit.load(str(tmp_path / "scorer.pt"), _extra_files=files)
    metadata = json.loads(files["vaereg.json"])
    assert metadata["format"] == "torchscript" and metadata["input"]["shape"] == ["N", 1, 20, 20]
    outputs = scorer(torch.rand(3, 1, 20, 20))
    assert outputs["neg_elbo"].shape == (3,) and outputs["nll"].shape == (3, 20, 20)


def test_a_file_of_other_weights_is_refused_naming_both(exported, run_dir):
    """A file exported before the checkpoint changed (a resume wrote new weights), or from
    the other checkpoint, holds weights the run's --checkpoint no longer has."""
    path, _ = exported
    metadata = json.loads({p.key: p.value for p in onnx.load(str(path)).metadata_props}["vaereg"])
    run = load_run(run_dir, "best", "cpu")
    check_fits(metadata, run, path)  # its own run and weights: accepted
    metadata["checkpoint"]["sha256"] = "0" * 64
    with pytest.raises(VaeregError, match=f"--onnx {path} holds the weights of best.pt at "
                                          f"epoch 1, not those of .*best.pt"):
        check_fits(metadata, run, path)


def test_maps_the_graph_cannot_hold_are_refused_before_anything_is_written(
        exported, run_dir, test_files, tmp_path):
    path, _ = exported
    result = vaereg("score", str(run_dir), str(test_files[0]), "--onnx", str(path),
                    "--maps", "gradient,restoration", "--out",
                    str(tmp_path / "scored"), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert ("--onnx: the exported graph holds none of --maps gradient, restoration"
            in result.stderr)
    assert not (tmp_path / "scored").exists()


FOREIGN_METADATA = {
    "not JSON": (lambda text: "{not json", "JSONDecodeError"),
    "no input shape": (lambda text: '{"input": {}}', "KeyError: 'shape'"),
    "no calibration": (lambda text: json.dumps({k: v for k, v in json.loads(text).items()
                                                if k != "calibration"}), "KeyError: 'calibration'"),
    "left_out a list": (lambda text: json.dumps({**json.loads(text), "left_out": []}),
                        "TypeError: 'left_out' is not a table"),
}


@pytest.mark.parametrize("case", FOREIGN_METADATA)
def test_a_file_with_foreign_metadata_is_refused_by_name(exported, run_dir, tmp_path, case):
    path, _ = exported
    change, problem = FOREIGN_METADATA[case]
    model = onnx.load(str(path))
    for prop in model.metadata_props:
        if prop.key == "vaereg":
            prop.value = change(prop.value)
    edited = tmp_path / "edited.onnx"
    onnx.save(model, str(edited))
    with pytest.raises(VaeregError, match=f"--onnx {edited}: its 'vaereg' metadata is not "
                                          f"what this vaereg's export writes \\({problem}"):
        load_exported(edited, load_run(run_dir, "best", "cpu"))


def test_a_missing_onnx_exporter_is_named_with_its_install(run_dir, tmp_path, monkeypatch):
    """Without onnxscript torch cannot write ONNX: the message says what to install, not
    that the model cannot be exported."""
    import importlib.util

    from vaereg.evaluation.scorer_export import export_scorer

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "onnxscript" else find_spec(name, *args))
    with pytest.raises(VaeregError, match=r"export --format onnx needs onnxscript .*"
                                          r"pip install 'vaereg\[onnx\]'"):
        export_scorer(load_run(run_dir, "best", "cpu"), "onnx", tmp_path / "a.onnx")
    assert not (tmp_path / "a.onnx").exists()
