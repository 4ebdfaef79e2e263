"""A throwaway PostgreSQL server for tests: Debian's binaries (``postgresql`` package,
``/usr/lib/postgresql/<version>/bin``), a cluster in a temporary folder, listening on
loopback at a free port (its unix socket in that folder too), trust authentication.

initdb refuses to run as root, so as root every server command runs as the ``postgres``
system user (``runuser``), which owns the folder.
"""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

USER = "vaereg"


def server_binaries() -> Path | None:
    """The newest installed ``.../bin`` holding initdb and pg_ctl, or None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0)
    return found[-1].parent if found and (found[-1].parent / "pg_ctl").is_file() else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    """``start()`` -> a ``postgresql://`` URL of a new empty database (``new_database``
    makes more); ``stop()`` ends the server and removes its folder."""

    def __init__(self, binaries: Path):
        self.bin, self.port = binaries, free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="vaereg-postgres-"))
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            account = pwd.getpwnam("postgres")
            os.chown(self.folder, account.pw_uid, account.pw_gid)

    def command(self, name: str, *args: str) -> subprocess.CompletedProcess:
        line = [str(self.bin / name), *args]
        if self.as_postgres:
            line = ["runuser", "-u", "postgres", "--", *line]
        result = subprocess.run(line, capture_output=True, text=True, timeout=120,
                                cwd=self.folder)
        if result.returncode != 0:
            log = self.folder / "server.log"
            raise RuntimeError(f"{name} failed ({result.returncode}): {result.stderr.strip()}\n"
                               + (log.read_text() if log.is_file() else ""))
        return result

    def start(self, database: str = "sweeps") -> str:
        data = self.folder / "data"
        self.command("initdb", "-D", str(data), "-U", USER, "-A", "trust", "-E", "UTF8",
                     "--no-sync")
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} "
                   f"-c fsync=off -c max_connections=50")
        self.command("pg_ctl", "-D", str(data), "-o", options, "-l", str(self.folder / "server.log"),
                     "-w", "-t", "60", "start")
        return self.new_database(database)

    def new_database(self, name: str) -> str:
        """A ``postgresql://`` URL of a new empty database ``name`` on the running server."""
        self.command("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, name)
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if (self.folder / "data" / "postmaster.pid").is_file():
            self.command("pg_ctl", "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)
