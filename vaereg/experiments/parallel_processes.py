"""Parallel subprocesses of ``compare --jobs`` and ``sweep --workers``: each logs to a
file of its own and gets its share of the cores.

Each runs in a session of its own, and a SIGINT/SIGTERM (or a hang-up, as SIGTERM) to
the parent is passed on to every one once: the first stops each training after a
checkpoint (one still starting, before its handlers are set, stops at once). In the
parent's group a Ctrl-C would reach a child twice and stop it at once, without a
checkpoint; and a signal to the parent alone would leave the children training, holding
their runs' locks, after the parent had gone.
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
        def run(task: tuple[str, list[str], Path]) -> tuple[int, bool] | None:
            if forwarding.received:
                return None
            description, command, log_path = task
            with open(log_path, "ab") as log:
                process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                           env=child_environment(jobs),
                                           start_new_session=forwarding.active)
                forwarding.add(process)
                code = process.wait()
            echo(f"  {description}: {done if code == 0 else f'{failed} {code}'}")
            return code, process.pid in forwarding.signalled

        with ThreadPoolExecutor(max_workers=jobs) as pool:
            results = list(pool.map(run, tasks))
    if forwarding.received:
        signum = forwarding.received[0]
        stopped = [task[0] for task, result in zip(tasks, results) if result and result[1]]
        raise RunInterrupted(
            f"interrupted by {signal.Signals(signum).name}: "
            + (f"stopped {', '.join(stopped)} (each log says what was kept); " if stopped
               else "")
            + f"{results.count(None)} not started. The same command goes on.", signum)
    return [code for code, _ in results]


#: what the parent passes on; a hang-up (the terminal closed) ends each child as SIGTERM
FORWARDED = (*SIGNALS, signal.SIGHUP)


class SignalForwarding:
    """While entered in the main thread (``active``), each SIGINT/SIGTERM/SIGHUP is
    recorded in ``received`` and sent on to each of ``processes`` still running (SIGHUP as
    SIGTERM), whose pids go in ``signalled``; one added after a signal gets it too (twice,
    if the signal came just as it was added: it is then still starting, and stops at
    once). Start children in a session of their own only while ``active``: elsewhere
    Python lets no handler run, and children in the caller's group still get a Ctrl-C."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self.processes: list[subprocess.Popen] = []
        self.signalled: set[int] = set()
        self._previous: dict[int, Any] = {}

    @property
    def active(self) -> bool:
        return bool(self._previous)

    def add(self, process: subprocess.Popen) -> None:
        self.processes.append(process)
        for signum in list(self.received):
            self._send(process, signum)

    def _send(self, process: subprocess.Popen, signum: int) -> None:
        self.signalled.add(process.pid)
        process.send_signal(signal.SIGTERM if signum == signal.SIGHUP else signum)

    def _forward(self, signum: int, frame: object) -> None:
        self.received.append(signum)
        for process in list(self.processes):
            if process.poll() is None:
                self._send(process, signum)

    def __enter__(self) -> "SignalForwarding":
        if threading.current_thread() is threading.main_thread():
            self._previous = {signum: signal.signal(signum, self._forward)
                              for signum in FORWARDED}
        return self

    def __exit__(self, *exc: Any) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
