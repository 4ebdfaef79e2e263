"""Several machines on one study: two ``vaereg sweep --storage postgresql://...`` processes
at once against a real PostgreSQL server started for the test. Every grid point is run
exactly once, none is lost, and both processes' reports describe the same study.

Without the server binaries (Debian's ``postgresql``) or the ``postgresql`` extra the test
skips, saying so; under CI (``CI`` set) it fails instead: there it must run."""
import json
import os
import signal
import subprocess
import sys
import tomllib

import pytest
import tomli_w

from interrupted_sweep import (GRID as LRS, assert_each_point_finished_once, gated_recipe,
                               go_on, interrupt, start, trial_rows)
from postgres_server import PostgresServer, server_binaries
from vaereg.testing import tiny_recipe

GRID = (1e-4, 3e-4, 1e-3, 3e-3)


def unavailable(reason: str) -> None:
    message = f"{reason}; scripts/bootstrap installs it (as root, with apt-get)"
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the PostgreSQL sweep test: {message}")
    pytest.skip(message)


@pytest.fixture(scope="module")
def postgres_server():
    binaries = server_binaries()
    if binaries is None:
        unavailable("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin "
                    "(Debian package postgresql)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        unavailable("psycopg is not installed (pip extra vaereg[postgresql])")
    server = PostgresServer(binaries)
    try:
        server.start()
        yield server
    finally:
        server.stop()


def test_two_workers_on_postgresql_run_each_grid_point_once(tmp_path, postgres_server):
    import optuna

    postgres_url = postgres_server.new_database("grid")
    (tmp_path / "tiny.toml").write_text(tomli_w.dumps(tiny_recipe()))
    grid = ",".join(str(lr) for lr in GRID)
    workers = [subprocess.Popen(
        [sys.executable, "-m", "vaereg", "sweep", "tiny.toml", "--param", f"optimizer.lr={grid}",
         "--storage", postgres_url, "--out", f"machine_{name}"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name in "ab"]
    outputs = [worker.communicate(timeout=300) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], outputs

    study = optuna.load_study(study_name="vaereg-sweep", storage=postgres_url)
    stored = study.get_trials(deepcopy=False)
    assert sorted(t.params["optimizer.lr"] for t in stored) == sorted(GRID)
    assert {t.state.name for t in stored} == {"COMPLETE"}
    ran_by = {t.user_attrs["worker"].rpartition(":")[2] for t in stored}
    assert ran_by <= {str(worker.pid) for worker in workers}
    machines = {(tmp_path / f"machine_{name}").resolve() for name in "ab"}
    for trial in stored:  # each value is its own run's best validation figure
        run_dir = (tmp_path / trial.user_attrs["run_dir"]).resolve()
        metrics = json.loads((run_dir / "metrics.json").read_text())
        assert trial.value == pytest.approx(metrics["best/monitored"])
        assert run_dir.parents[2] in machines  # <out>/trials/trial_<n>/version_<k>

    best = min(stored, key=lambda t: t.value)
    for name in "ab":
        out = tmp_path / f"machine_{name}"
        table = {float(r["optimizer.lr"]): float(r["value"]) for r in trial_rows(out)}
        assert table == pytest.approx({t.params["optimizer.lr"]: t.value for t in stored})
        best_toml = tomllib.loads((out / "best.toml").read_text())
        assert best_toml["optimizer"]["lr"] == best.params["optimizer.lr"]
        assert not (out / "study.db").exists()  # the shared study, not a local file



def test_a_sweep_on_postgresql_stopped_mid_trial_goes_on(tmp_path, postgres_server):
    """Ctrl-C to the process group of a two-worker sweep on PostgreSQL: the held trial is
    checkpointed and cut short; the command the message names continues it from there."""
    url = postgres_server.new_database("interrupted")
    recipe = gated_recipe(tmp_path, "on_train_epoch_end")
    sweep = start(tmp_path, recipe, "--param", "optimizer.lr=" + ",".join(map(str, LRS)),
                  "--workers", "2", "--storage", url, "--out", "sw")
    code, stderr, held = interrupt(sweep, tmp_path, signal.SIGINT, group=True)
    assert code == 130 and "Traceback" not in stderr, stderr
    assert f"--storage {url}" in stderr

    again = go_on(stderr, tmp_path)
    assert again.returncode == 0, again.stderr
    rows = trial_rows(tmp_path / "sw")
    assert_each_point_finished_once(rows, "optimizer.lr", LRS)
    states = [r["state"] for r in rows if (tmp_path / r["run_dir"]).resolve() == held.resolve()]
    assert states == ["FAIL", "COMPLETE"]  # cut short, then continued from its checkpoint
    assert not (tmp_path / "sw" / "study.db").exists()
