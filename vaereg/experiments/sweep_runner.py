"""``vaereg sweep`` from arguments to reports: parse and check everything before the
first trial, open (or resume) the study, run trials here or in ``workers`` processes
(each ``python -m vaereg sweep ... --worker`` on the same storage), then write the
reports."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Sequence

from vaereg.core.errors import RunInterrupted, VaeregError
from vaereg.core.recipe import load_recipe
from vaereg.experiments.param_specs import Param, parse_params
from vaereg.experiments.sweep_study import SweepSetup, counted, open_study, requeue_interrupted, work

DEFAULT_TRIALS = 20


def check_values(recipe: str, overrides: Sequence[str], params: Sequence[Param]) -> None:
    """Every grid or choice value, and both ends of every range, make a valid recipe: a
    misspelt key or an out-of-range value fails now, with the recipe's own message."""
    load_recipe(recipe, overrides)
    for param in params:
        for value in param.values:
            load_recipe(recipe, (*overrides, param.override(value)))


def study_total(params: Sequence[Param], trials: int | None, echo) -> int:
    if not all(param.is_grid for param in params):
        return trials or DEFAULT_TRIALS
    size = 1
    for param in params:
        size *= len(param.values)
    if trials and trials > size:
        echo(f"--trials {trials}: the grid has {size} points; running {size}")
    return min(trials or size, size)


def worker_command(recipe: str, params: Sequence[Param], total: int, objective: str,
                   maximize: bool, overrides: Sequence[str], out: Path, storage: str | None,
                   prune_after: int) -> list[str]:
    command = [sys.executable, "-m", "vaereg", "sweep", recipe, "--worker", "--trials", str(total),
               "--objective", objective, "--out", str(out), "--prune-after", str(prune_after)]
    command += [arg for param in params for arg in ("--param", param.text)]
    command += [arg for item in overrides for arg in ("--set", item)]
    command += (["--maximize"] if maximize else []) + (["--storage", storage] if storage else [])
    return command


def run_sweep(recipe: str, specs: tuple[str, ...], trials: int | None, objective: str,
              maximize: bool, overrides: tuple[str, ...], out: Path, storage: str | None,
              workers: int, prune_after: int, as_worker: bool, echo) -> None:
    import optuna

    from vaereg.experiments.sweep_report import write_reports

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    params = parse_params(specs)
    check_values(recipe, overrides, params)
    total = study_total(params, trials, echo)
    setup = SweepSetup(recipe, overrides, tuple(params), objective, maximize, out, prune_after)
    study = open_study(setup, storage)
    if not as_worker:
        again = requeue_interrupted(study, local=storage is None)
        echo(f"study {storage or out / 'study.db'}: {counted(study)} of {total} trials done"
             + (f"; {again} interrupted trial(s) queued again" if again else ""))
    try:
        if workers > 1 and not as_worker:
            command = worker_command(recipe, params, total, objective, maximize, overrides,
                                     out, storage, prune_after)
            processes = [subprocess.Popen(command) for _ in range(workers)]
            codes = [process.wait() for process in processes]
            if any(codes):
                raise VaeregError(f"sweep workers ended with exit codes {codes}")
        else:
            work(study, setup, total, echo)
    except RunInterrupted:
        raise RunInterrupted(f"interrupted: the study keeps its {counted(study)} finished "
                             f"trials; the same command again goes on", 2) from None
    if as_worker:
        return
    paths, best = write_reports(study, setup)
    states = [t.state.name for t in study.get_trials(deepcopy=False)]
    print(f"{len(states)} trials: " + ", ".join(f"{states.count(s)} {s.lower()}"
                                                for s in ("COMPLETE", "PRUNED", "FAIL")))
    if best is not None:
        print(f"best trial {best.number}: {objective} {best.value:.4f}  {json.dumps(best.params)}")
    print(f"wrote {', '.join(str(path) for path in paths)}")
