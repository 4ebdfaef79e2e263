"""Stopping a real ``vaereg sweep`` process with a signal at an exact moment (a trial held
there by ``sweep_gate``), then going on with the command its message names."""
from __future__ import annotations

import csv
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import tomli_w

from vaereg.testing import tiny_recipe

GATE = Path(__file__).with_name("sweep_gate.py")
GRID = (1e-4, 1e-3, 1e-2)


def gated_recipe(folder: Path, hook: str, only_stopping: bool = False, epoch: int = -1,
                 **sections) -> str:
    """tiny.toml in ``folder``: the tiny recipe with the gate plugin; returns its name."""
    gate = {"use": f"{GATE}:Gate", "folder": str(folder), "hook": hook,
            "only_stopping": only_stopping, "epoch": epoch}
    (folder / "tiny.toml").write_text(tomli_w.dumps(tiny_recipe(plugins={"gate": gate},
                                                                **sections)))
    return "tiny.toml"


def start(folder: Path, *args: str) -> subprocess.Popen:
    """``vaereg sweep ARGS`` in ``folder``, in a process group of its own (a signal to the
    group reaches it as a Ctrl-C at its terminal would), stderr to ``folder/stderr``."""
    with open(folder / "stderr", "w") as log:
        return subprocess.Popen([sys.executable, "-m", "vaereg", "sweep", *args], cwd=folder,
                                stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)


def interrupt(process: subprocess.Popen, folder: Path, signum: int, group: bool) -> tuple[int, str, Path]:
    """Once a trial is held at the gate, signal the sweep (its process or its group), let
    the trial go and wait for the sweep to end: (exit code, stderr, the held run folder)."""
    reached = folder / "reached"
    while not reached.exists():
        assert process.poll() is None, (folder / "stderr").read_text()
        time.sleep(0.05)
    (os.killpg if group else os.kill)(process.pid, signum)
    (folder / "gate").touch()
    code = process.wait(timeout=300)
    return code, (folder / "stderr").read_text(), folder / reached.read_text()


def go_on(stderr: str, folder: Path) -> subprocess.CompletedProcess:
    """Run the command the interrupted sweep's message names, as a user would."""
    line = next(line for line in stderr.splitlines() if line.startswith("Go on with: "))
    words = shlex.split(line.removeprefix("Go on with: "))
    assert words[0] == "vaereg"
    return subprocess.run([sys.executable, "-m", "vaereg", *words[1:]], cwd=folder,
                          capture_output=True, text=True, timeout=300)


def trial_rows(out: Path) -> list[dict[str, str]]:
    with open(out / "trials.csv") as handle:
        return list(csv.DictReader(handle))


def assert_each_point_finished_once(rows: list[dict[str, str]], key: str, grid) -> None:
    """Every value finished (COMPLETE or PRUNED) exactly once; every other trial was cut
    short and names the trial that went on in its place."""
    finished = [r for r in rows if r["state"] in ("COMPLETE", "PRUNED")]
    assert sorted(float(r[key]) for r in finished) == sorted(grid), rows
    continued = {r["error"].rpartition(" ")[2] for r in rows if r["state"] == "FAIL"}
    assert all(r["error"].startswith("interrupted; continued by trial ")
               for r in rows if r["state"] == "FAIL"), rows
    assert continued <= {r["number"] for r in rows}
