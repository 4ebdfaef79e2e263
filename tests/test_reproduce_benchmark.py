"""benchmarks/reproduce.py in a real subprocess: its options, a tiny end-to-end protocol
(real Fashion-MNIST, two optimizer steps, IWAE with K = 3) that yields a table row, the
reuse of finished runs by a second invocation, and a refused output folder."""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from cli_process import assert_refuses_out_below_a_file

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "reproduce.py"
ROW = "exemplar_vae_gaussian"
TINY = ("--row", ROW, "--seeds", "2", "--iw-samples", "3", "--test-images", "20",
        "--set", "data.train_size=200", "--set", "data.val_size=100", "--set", "run.epochs=1")


def reproduce(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600)


def table_row(stdout: str) -> list[str]:
    rows = [line for line in stdout.splitlines() if line.startswith("| Norouzi")]
    assert len(rows) == 1, stdout
    return [cell.strip() for cell in rows[0].strip().strip("|").split("|")]


def test_help_lists_the_options_and_writes_nothing(tmp_path):
    result = reproduce("--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for option in ("--seeds", "--iw-samples", "--test-images", "--jobs", "--out", "--row",
                   "--set"):
        assert option in result.stdout
    assert list(tmp_path.iterdir()) == []


def test_tiny_protocol_gives_a_row_and_a_second_call_reuses_the_runs(tmp_path):
    out = tmp_path / "runs"
    first = reproduce(*TINY, "--out", str(out), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    paper, setting, published, ours, difference, agreement = table_row(first.stdout)
    assert "Exemplar VAE" in paper and "shrunk" in setting and "run.epochs=1" in setting
    assert published == "228.70 ± 0.15"
    mean, interval = ours.split(" ", 1)
    low, high = (float(value) for value in interval.split("]")[0].strip("[").split(","))
    assert low <= float(mean) <= high and "(2 seeds)" in ours
    summary = json.loads((out / ROW / "compare.json").read_text())
    values = summary["metrics"]["best/test/iwae_nll"][ROW]["values"]
    assert float(mean) == pytest.approx(statistics.mean(values), abs=0.006)
    assert float(difference) == pytest.approx(float(mean) - 228.70, abs=0.011)
    # two optimizer steps are hundreds of nats from the paper, and the row says so
    assert float(mean) > 300 and agreement.startswith("not reproduced:")
    assert (out / "reproduce.md").read_text().strip() in first.stdout

    versions = sorted(out.glob(f"{ROW}/{ROW}/seed_*/version_*"))
    assert len(versions) == 2
    second = reproduce(*TINY, "--out", str(out), cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert table_row(second.stdout) == table_row(first.stdout)
    assert sorted(out.glob(f"{ROW}/{ROW}/seed_*/version_*")) == versions


def test_an_output_folder_that_cannot_be_made_exits_2_naming_it(tmp_path):
    assert_refuses_out_below_a_file(reproduce, tmp_path)
