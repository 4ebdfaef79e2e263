"""Every command that writes checks first that it can: a folder under /proc, below an
existing file, or one it may not write is refused with exit 2 naming it, before any
training or evaluation, never a traceback."""
import os
import subprocess
from contextlib import contextmanager

import pytest
import tomli_w

from cli_process import vaereg
from vaereg.core.common.errors import VaeregError
from vaereg.core.common.writable import writable_folder
from vaereg.testing import make_trainer, tiny_recipe


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A folder holding tiny.toml and a finished run of it (its run folder returned)."""
    folder = tmp_path_factory.mktemp("finished")
    (folder / "tiny.toml").write_text(tomli_w.dumps(tiny_recipe(run={"epochs": 1})))
    trainer = make_trainer(tiny_recipe(run={"epochs": 1}), folder / "runs")
    trainer.fit()
    return trainer.run_dir


@contextmanager
def unwritable(folder):
    """``folder`` as no one may write it: immutable for root (who ignores modes), mode
    0555 for anyone else."""
    root = os.geteuid() == 0
    if not root:
        folder.chmod(0o555)
    elif subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available here: no folder root cannot write")
    try:
        yield
    finally:
        if root:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        else:
            folder.chmod(0o755)


def refused(result, named: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert named in result.stderr and "cannot write files there" in result.stderr


@pytest.mark.parametrize("out_dir, named", [
    ("/proc/vaereg_runs", "run.out_dir /proc/vaereg_runs"),
    ("tiny.toml/runs", "tiny.toml is a file, not a folder"),
])
def test_run_refuses_an_out_dir_it_cannot_write(finished, out_dir, named):
    folder = finished.parents[2]
    result = vaereg("run", "tiny.toml", "--set", f"run.out_dir={out_dir!r}", cwd=folder)
    refused(result, named)


@pytest.mark.parametrize("command, named", [
    (("sample", "RUN", "--out", "/proc/vaereg/samples.png"), "the folder of --out /proc/vaereg"),
    (("reconstruct", "RUN", "--out", "tiny.toml/r.png"), "tiny.toml is a file"),
    (("interpolate", "RUN", "--from", "0", "--to", "1", "--out", "/proc/vaereg/i.png"),
     "the folder of --out /proc/vaereg"),
    (("compare", "tiny.toml", "--seeds", "1", "--out", "/proc/vaereg"), "--out /proc/vaereg"),
    (("sweep", "tiny.toml", "--param", "optimizer.lr=1e-3", "--out", "/proc/vaereg"),
     "--out /proc/vaereg"),
])
def test_commands_refuse_an_out_they_cannot_write(finished, command, named):
    folder = finished.parents[2]
    args = [str(finished) if arg == "RUN" else arg for arg in command]
    refused(vaereg(*args, cwd=folder), named)
    assert not (folder / "runs" / "test" / "version_1").exists()  # nothing trained


def test_eval_and_pictures_refuse_a_run_folder_they_cannot_write(finished):
    before = sorted(p.name for p in finished.iterdir())
    with unwritable(finished):
        refused(vaereg("eval", str(finished), cwd=finished.parent),
                f"the evaluation's folder {finished / 'eval'}")
        refused(vaereg("sample", str(finished), cwd=finished.parent), f"RUN_DIR {finished}")
        refused(vaereg("run", "--resume", str(finished), "--set", "run.epochs=2",
                       cwd=finished.parent), f"--resume {finished}")
    assert sorted(p.name for p in finished.iterdir()) == before


def test_writable_folder_makes_it_and_leaves_nothing_else(tmp_path):
    made = writable_folder(tmp_path / "a" / "b", "--out")
    assert made.is_dir() and list(made.iterdir()) == []
    (tmp_path / "file").write_text("")
    with pytest.raises(VaeregError, match=r"--out .*file/x: .*file is a file, not a folder"):
        writable_folder(tmp_path / "file" / "x", "--out")
