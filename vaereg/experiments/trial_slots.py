"""One worker at a time decides whether the study has a free slot and creates its trial.

``--trials`` is the study's total, and several workers (``--workers`` on one machine,
several machines on one PostgreSQL database) each check "finished + running < total"
before starting a trial. Unguarded, two workers can pass that check at the same moment
and the study ends with one trial too many (a grid point run twice). The check and the
trial's creation therefore happen under a lock the storage's users share: a session-level
advisory lock on PostgreSQL, an exclusive ``flock`` beside a SQLite file; other storages
run unguarded.
"""
from __future__ import annotations

import fcntl
from contextlib import contextmanager
from typing import Any, Iterator

LOCK_KEY = 0x7AE5E6  # the advisory-lock number of vaereg sweeps


class TrialSlots:
    """``acquire()`` before the check, ``release()`` once the trial exists (idempotent)."""

    def __init__(self, storage: Any):
        storage = getattr(storage, "_backend", storage)  # optuna wraps an RDBStorage in a cache
        engine = getattr(storage, "engine", None)
        url = engine.url if engine is not None else None
        self._dialect = url.get_backend_name() if url is not None else ""
        self._database = url.database if url is not None else None
        self._engine, self._held, self._handle = engine, False, None

    def acquire(self) -> None:
        from sqlalchemy import text

        if self._dialect == "postgresql":
            self._handle = self._engine.connect()
            self._handle.execute(text("SELECT pg_advisory_lock(:key)"), {"key": LOCK_KEY})
            self._handle.commit()
        elif self._dialect == "sqlite" and self._database:
            self._handle = open(f"{self._database}.lock", "a")
            fcntl.flock(self._handle, fcntl.LOCK_EX)
        self._held = True

    def release(self) -> None:
        if not self._held:
            return
        self._held = False
        if self._dialect == "postgresql":
            from sqlalchemy import text

            self._handle.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
            self._handle.commit()
            self._handle.close()
        elif self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
        self._handle = None

    @contextmanager
    def held(self) -> Iterator["TrialSlots"]:
        self.acquire()
        try:
            yield self
        finally:
            self.release()
