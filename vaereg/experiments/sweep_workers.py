"""The processes of ``vaereg sweep --workers K``, and the command that continues a sweep.

Each worker runs in a session of its own, so a Ctrl-C at the terminal (or a signal to
the sweep's process group) reaches only the sweep's process, which passes each signal on
to every worker once: the first stops each worker's trial after a checkpoint, a second
stops them at once. (Were they in its group, a Ctrl-C would reach each worker twice, and
its trial would stop at once, without a checkpoint.)
"""
from __future__ import annotations

import shlex
import subprocess
import sys

from vaereg.core.common.errors import RunInterrupted, VaeregError
from vaereg.experiments.parallel_processes import SignalForwarding, child_environment
from vaereg.experiments.sweep_study import SweepSetup


def sweep_arguments(setup: SweepSetup, total: int, storage: str | None) -> list[str]:
    """``sweep ...``: the arguments that open this study again."""
    arguments = ["sweep", setup.recipe, "--trials", str(total), "--objective", setup.objective,
                 "--out", str(setup.out), "--prune-after", str(setup.prune_after)]
    arguments += [arg for param in setup.params for arg in ("--param", param.text)]
    arguments += [arg for item in setup.overrides for arg in ("--set", item)]
    return (arguments + (["--maximize"] if setup.maximize else [])
            + (["--storage", storage] if storage else []))


def again_command(setup: SweepSetup, total: int, storage: str | None, workers: int) -> str:
    """The shell command that goes on with this sweep."""
    workers_option = ["--workers", str(workers)] if workers > 1 else []
    return "vaereg " + shlex.join(sweep_arguments(setup, total, storage) + workers_option)


def worker_command(setup: SweepSetup, total: int, storage: str | None) -> list[str]:
    """``python -m vaereg sweep ... --worker``: one more process on the same study."""
    return [sys.executable, "-m", "vaereg", *sweep_arguments(setup, total, storage), "--worker"]


def run_workers(setup: SweepSetup, total: int, storage: str | None, workers: int) -> None:
    """Start ``workers`` workers and wait for them; a signal to this process is passed
    on and ends in :class:`RunInterrupted` once they have stopped."""
    command = worker_command(setup, total, storage)
    with SignalForwarding() as forwarding:
        for _ in range(workers):
            if forwarding.received:  # stopped while starting them: start no more
                break
            forwarding.add(subprocess.Popen(command, env=child_environment(workers),
                                            start_new_session=forwarding.active))
        codes = [process.wait() for process in forwarding.processes]
    if forwarding.received:
        raise RunInterrupted(f"{len(codes)} worker(s) stopped", forwarding.received[0])
    if any(codes):
        raise VaeregError(f"sweep workers ended with exit codes {codes}")
