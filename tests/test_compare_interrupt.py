"""A compare stopped by SIGTERM to its own process (as `kill PID` or a job scheduler
sends it) passes the signal on: each run in progress stops after a checkpoint before
compare exits 143, no run trains on behind it, and the same command resumes the stopped
run instead of training it again."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from interrupted_sweep import gated_recipe

EPOCHS = 30  # a run left training behind compare would still be at it when checked


def start_compare(folder, *args):
    with open(folder / "stderr", "w") as log:
        return subprocess.Popen([sys.executable, "-m", "vaereg", "compare", *args], cwd=folder,
                                stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_to_compare_stops_its_runs_and_the_same_command_resumes_them(tmp_path,
                                                                              signum):
    recipe = gated_recipe(tmp_path, "on_train_epoch_end", epoch=0, run={"epochs": EPOCHS})
    args = (recipe, "--seeds", "2", "--jobs", "2", "--out", "cmp")
    compare = start_compare(tmp_path, *args)
    while not (tmp_path / "reached").exists():
        assert compare.poll() is None, (tmp_path / "stderr").read_text()
        time.sleep(0.05)
    held = tmp_path / (tmp_path / "reached").read_text()
    trainer = int((held / "run.lock").read_text())
    os.kill(compare.pid, signum)  # the process only, not its group (a hang-up: the terminal)
    time.sleep(0.5)  # let the signal be passed on before the held run goes on
    (tmp_path / "gate").touch()
    assert compare.wait(timeout=300) == 128 + signum
    stderr = (tmp_path / "stderr").read_text()
    assert "Traceback" not in stderr and f"interrupted by {signum.name}" in stderr, stderr
    assert "stopped tiny seed 0, tiny seed 1 (" in stderr and "0 not started" in stderr
    assert not alive(trainer), "the held run trains on behind compare"
    assert (held / "checkpoints" / "last.pt").is_file() and not (held / "metrics.json").exists()

    again = subprocess.run([sys.executable, "-m", "vaereg", "compare", *args], cwd=tmp_path,
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    history = json.loads((held / "metrics.json").read_text())["history"]
    assert len(history) == EPOCHS  # resumed after epoch 0: no epoch lost or repeated
    assert sorted(p.name for p in held.parent.iterdir()) == ["version_0"]
