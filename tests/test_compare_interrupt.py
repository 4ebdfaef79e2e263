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

from interrupted_sweep import gated_recipe


def start_compare(folder, *args):
    with open(folder / "stderr", "w") as log:
        return subprocess.Popen([sys.executable, "-m", "vaereg", "compare", *args], cwd=folder,
                                stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)


def test_sigterm_to_compare_stops_its_runs_and_the_same_command_resumes_them(tmp_path):
    recipe = gated_recipe(tmp_path, "on_train_epoch_end", epoch=0)
    args = (recipe, "--seeds", "2", "--jobs", "2", "--out", "cmp")
    compare = start_compare(tmp_path, *args)
    while not (tmp_path / "reached").exists():
        assert compare.poll() is None, (tmp_path / "stderr").read_text()
        time.sleep(0.05)
    os.kill(compare.pid, signal.SIGTERM)  # the process only, not its group
    time.sleep(0.5)  # let the signal be passed on before the held run goes on
    (tmp_path / "gate").touch()
    assert compare.wait(timeout=300) == 143
    stderr = (tmp_path / "stderr").read_text()
    assert "Traceback" not in stderr and "interrupted by SIGTERM" in stderr, stderr
    held = tmp_path / (tmp_path / "reached").read_text()
    time.sleep(1.0)  # a run still training behind compare would finish in this time
    assert (held / "checkpoints" / "last.pt").is_file()
    assert not (held / "metrics.json").exists(), "the held run trained on after compare"

    again = subprocess.run([sys.executable, "-m", "vaereg", "compare", *args], cwd=tmp_path,
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    history = json.loads((held / "metrics.json").read_text())["history"]
    assert len(history) == 2  # resumed after epoch 0: no epoch lost or repeated
    assert sorted(p.name for p in held.parent.iterdir()) == ["version_0"]
