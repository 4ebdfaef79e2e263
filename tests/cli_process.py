"""``vaereg run`` in a real subprocess (real signals, real exit codes), with the test
plugins of ``reliability_plugins`` registered."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

import tomli_w
import torch

TESTS = Path(__file__).parent
CLI = "import reliability_plugins; from vaereg.cli import main; main()"


def run_recipe(folder: Path, table: dict) -> subprocess.CompletedProcess:
    """Write ``table`` to folder/recipe.toml and run it from ``folder``, with as many
    torch threads as this process uses (so results can be compared bit for bit)."""
    (folder / "recipe.toml").write_text(tomli_w.dumps(table))
    return cli_with_test_plugins("run", "recipe.toml", cwd=folder)


def cli_with_test_plugins(*args: str, cwd: Path, wait: bool = True
                          ) -> subprocess.CompletedProcess | subprocess.Popen:
    """``vaereg ARGS`` with the test plugins registered; ``wait=False``: the started
    process (its output piped), for a test that acts while it runs."""
    threads = str(torch.get_num_threads())
    env = {**os.environ, "PYTHONPATH": str(TESTS), "OMP_NUM_THREADS": threads,
           "MKL_NUM_THREADS": threads}
    command = [sys.executable, "-c", CLI, *args]
    if not wait:
        return subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def in_process(*args: str | Path):
    """``vaereg ARGS`` in this process (click's runner): the same exit code and messages
    without a new interpreter's seconds of start-up, for the many bad-input cases (a real
    subprocess stays where signals, warnings or the process's end are the point)."""
    from click.testing import CliRunner

    from vaereg.cli import main
    return CliRunner().invoke(main, [str(arg) for arg in args])


def vaereg(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """``python -m vaereg ARGS`` in ``cwd``, as a user types it."""
    return subprocess.run([sys.executable, "-m", "vaereg", *args], cwd=cwd,
                          env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=300)


def small_fmnist_run(out: Path, recipe: str, *overrides: str) -> Path:
    """``vaereg run`` of ``recipes/<recipe>.toml`` for one epoch on a small real
    Fashion-MNIST subset, into ``out``: its run folder (skips where the data are missing)."""
    import pytest
    from vaereg.data.fashion_mnist import SYSTEM_DIR
    if not SYSTEM_DIR.is_dir():
        pytest.skip("apt-get install dataset-fashion-mnist")
    result = vaereg("run", str(TESTS.parent / "recipes" / f"{recipe}.toml"), "--set",
                    "run.epochs=1", *overrides, "--set", f"run.out_dir='{out}'", "--quiet",
                    cwd=out)
    assert result.returncode == 0, result.stderr
    return out / recipe / "version_0"


def assert_refuses_out_below_a_file(command: Callable[..., subprocess.CompletedProcess],
                                    folder: Path) -> None:
    """``command("--out", PATH, cwd=folder)`` with PATH below a file: exit 2, a message
    naming PATH, no traceback."""
    (folder / "file").write_text("not a folder")
    out = folder / "file" / "out"
    result = command("--out", str(out), cwd=folder)
    assert result.returncode == 2
    assert str(out) in result.stderr and "Traceback" not in result.stderr
