"""Parallel subprocesses of ``compare --jobs`` and ``sweep --workers``: each logs to a
file of its own and gets its share of the cores."""
from __future__ import annotations

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence


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
    each ends; returns the exit codes in order."""
    def run(task: tuple[str, list[str], Path]) -> int:
        description, command, log_path = task
        with open(log_path, "ab") as log:
            code = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT,
                                  env=child_environment(jobs)).returncode
        echo(f"  {description}: {done if code == 0 else f'{failed} {code}'}")
        return code

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(run, tasks))
