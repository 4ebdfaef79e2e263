"""Parallel subprocesses of ``compare --jobs`` and ``sweep --workers``: each logs to a
file of its own and gets its share of the cores.

Each runs in a session of its own, and a SIGINT/SIGTERM to the parent is passed on to
every one once: the first stops each training after a checkpoint. (In the parent's group
a Ctrl-C would reach a child twice and stop it at once, without a checkpoint; and a
SIGTERM to the parent alone would leave the children training, holding their runs' locks,
after the parent had gone.)
"""
from __future__ import annotations

import os
import signal
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Sequence

from vaereg.core.common.errors import RunInterrupted
from vaereg.core.reliability.stop_signals import SIGNALS


def child_environment(jobs: int) -> dict[str, str]:
    """The environment of one of ``jobs`` parallel subprocesses: unless the user chose
    (``OMP_NUM_THREADS``), an equal share of the cores, so K processes do not each start
    a thread per core and thrash."""
    environment = dict(os.environ)
    if jobs > 1 and "OMP_NUM_THREADS" not in environment:
        environment["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // jobs))
    return environment


def run_logged(tasks: Sequence[tuple[str, list[str], Path]], jobs: int, echo, done: str,
               failed: str) -> list[int]:
    """Run each (description, command, log file) task, ``jobs`` at a time, its output
    appended to its log; echo ``description: done`` (or ``failed`` and the exit code) as
    each ends; returns the exit codes in order. A signal is passed on to the tasks
    running, none is started after it, and :class:`RunInterrupted` is raised once the
    running ones have stopped."""
    with SignalForwarding() as forwarding:
        def run(task: tuple[str, list[str], Path]) -> int | None:
            if forwarding.received:
                return None
            description, command, log_path = task
            with open(log_path, "ab") as log:
                process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                           env=child_environment(jobs), start_new_session=True)
                forwarding.add(process)
                code = process.wait()
            echo(f"  {description}: {done if code == 0 else f'{failed} {code}'}")
            return code

        with ThreadPoolExecutor(max_workers=jobs) as pool:
            codes = list(pool.map(run, tasks))
    if forwarding.received:
        signum = forwarding.received[0]
        stopped = [task[0] for task, code in zip(tasks, codes) if code is not None]
        raise RunInterrupted(
            f"interrupted by {signal.Signals(signum).name}: "
            + (f"{', '.join(stopped)} stopped (a training keeps its last checkpoint; its "
               "log says where); " if stopped else "")
            + f"{len(tasks) - len(stopped)} not started. The same command goes on.", signum)
    return codes


class SignalForwarding:
    """While entered (in the main thread), each SIGINT/SIGTERM is recorded in
    ``received`` and sent on to each of ``processes`` still running; one added after a
    signal gets it too (twice, if the signal came just as it was added: harmless, as it
    has nothing to checkpoint yet). Elsewhere it forwards nothing: Python lets only the
    main thread handle signals."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self.processes: list[subprocess.Popen] = []
        self._previous: dict[int, Any] = {}

    def add(self, process: subprocess.Popen) -> None:
        self.processes.append(process)
        for signum in list(self.received):
            process.send_signal(signum)

    def _forward(self, signum: int, frame: object) -> None:
        self.received.append(signum)
        for process in list(self.processes):
            if process.poll() is None:
                process.send_signal(signum)

    def __enter__(self) -> "SignalForwarding":
        if threading.current_thread() is threading.main_thread():
            self._previous = {signum: signal.signal(signum, self._forward)
                              for signum in SIGNALS}
        return self

    def __exit__(self, *exc: Any) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
