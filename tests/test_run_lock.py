"""One process at a time trains in a run folder: a second ``vaereg run --resume`` of a
folder in use exits 2 naming the folder and the holder's pid; the lock goes with the
process, however it ends (here ``kill -9``), so the folder can then be resumed."""
from __future__ import annotations

import signal
import time

import tomli_w

from cli_process import cli_with_test_plugins
from vaereg.core.run_folder.run_lock import LOCK_FILE, RunFolderLock
from vaereg.testing import tiny_recipe


def wait_for(path, process, seconds=120):
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_a_folder_in_use_is_refused_until_its_holder_ends(tmp_path):
    table = tiny_recipe(run={"out_dir": "runs"},
                        plugins={"test_pause": {"epoch": 1, "folder": str(tmp_path)}})
    (tmp_path / "recipe.toml").write_text(tomli_w.dumps(table))
    holder = cli_with_test_plugins("run", "recipe.toml", "--quiet", cwd=tmp_path, wait=False)
    try:
        wait_for(tmp_path / "paused", holder)  # epoch 1 checkpointed, epoch 2 held
        run_dir = tmp_path / "runs" / "test" / "version_0"
        last = (run_dir / "checkpoints" / "last.pt").read_bytes()
        second = cli_with_test_plugins("run", "--resume", str(run_dir), "--quiet",
                                       cwd=tmp_path)
        assert second.returncode == 2, second.stderr
        assert f"the run folder {run_dir} is in use" in second.stderr
        assert f"(pid {holder.pid})" in second.stderr and "Traceback" not in second.stderr
        assert (run_dir / "checkpoints" / "last.pt").read_bytes() == last
    finally:
        holder.send_signal(signal.SIGKILL)  # a crash: the OS releases the lock
        holder.communicate()
    assert (run_dir / LOCK_FILE).is_file()  # left behind, yet no longer held:
    RunFolderLock(run_dir).release()  # (VaeregError if it were)
