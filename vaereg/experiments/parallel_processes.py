"""Parallel subprocesses of ``compare --jobs`` and ``sweep --workers`` share the cores."""
from __future__ import annotations

import os


def child_environment(jobs: int) -> dict[str, str]:
    """The environment of one of ``jobs`` parallel subprocesses: unless the user chose
    (``OMP_NUM_THREADS``), an equal share of the cores, so K processes do not each start
    a thread per core and thrash."""
    environment = dict(os.environ)
    if jobs > 1 and "OMP_NUM_THREADS" not in environment:
        environment["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // jobs))
    return environment
