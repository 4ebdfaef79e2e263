"""What the torchrun tests name by import path in their recipes (``use = "module:Class"``,
``[model] name = "module:Class"``), and how they launch a real torchrun job.

* ``MeanCodeVAE``: the vanilla VAE with z = the posterior mean, so a run has no random
  draws and a job of 2 processes must match one process up to float summation order.
* ``DumpParameters``: each process saves its own weights at the end of training into
  ``$VAEREG_TEST_DUMP`` (the test's folder, not the run folder), to compare ranks.
* ``DieAt``: process rank 1 exits at once (``os._exit``) after optimizer step ``step``,
  when ``$VAEREG_TEST_DIE`` is set: a crashed GPU or a killed process, mid-epoch.
* ``NaNOnRank1``: a NaN penalty on process rank 1 only, at optimizer step ``step``.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import tomli_w
import torch

from fake_plugins import OptionlessPlugin
from vaereg import hookimpl, option, positive
from vaereg.models.vanilla import VanillaVAE

TESTS = Path(__file__).parent
ROOT = TESTS.parent


class MeanCodeVAE(VanillaVAE):
    def forward(self, x, y=None) -> dict[str, Any]:
        posterior = self.encode(x, y)
        z = posterior.mean
        return {"output": self.decode(z, y), "posterior": posterior, "z": z}


class DumpParameters(OptionlessPlugin):
    @hookimpl
    def on_train_end(self, trainer) -> None:
        folder = Path(os.environ["VAEREG_TEST_DUMP"])
        torch.save(trainer.model.state_dict(), folder / f"rank{trainer.job.rank}.pt")


@attrs.frozen
class DieOptions:
    step: int = option(1, "the optimizer step after which rank 1 dies", check=positive)


class DieAt:
    Options = DieOptions

    def __init__(self, options: DieOptions):
        self.options = options

    @hookimpl
    def on_batch_end(self, trainer) -> None:
        if os.environ.get("VAEREG_TEST_DIE") and trainer.job.rank == 1 \
                and trainer.step == self.options.step:
            os._exit(1)


class NaNOnRank1:
    Options = DieOptions

    def __init__(self, options: DieOptions):
        self.options = options

    @hookimpl
    def compute_penalties(self, trainer) -> dict[str, torch.Tensor]:
        bad = trainer.job.rank == 1 and trainer.step + 1 == self.options.step
        return {"rank1": torch.tensor(float("nan") if bad else 0.0)}


def torchrun(folder: Path, *args: str, processes: int = 2,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``python -m torch.distributed.run --nproc_per_node N -m vaereg ARGS`` in ``folder``
    (the repository's vaereg and these helpers importable, one thread per process)."""
    environment = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{TESTS}",
                   "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", **(env or {})}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node",
               str(processes), "--standalone", "-m", "vaereg", *args]
    with subprocess.Popen(command, cwd=folder, env=environment, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, start_new_session=True) as job:
        try:
            stdout, stderr = job.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(job.pid, signal.SIGKILL)  # torchrun and every worker it started
            raise
    return subprocess.CompletedProcess(command, job.returncode, stdout, stderr)


def write_recipe(folder: Path, table: dict) -> Path:
    path = folder / "recipe.toml"
    path.write_text(tomli_w.dumps(table))
    return path
