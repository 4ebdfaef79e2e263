"""``vaereg.sweep``, the library function behind ``vaereg sweep``: parse and check
everything before the first trial, open (or resume) the study, run trials here or in
``workers`` processes (each ``python -m vaereg sweep ... --worker`` on the same
storage, with its share of the cores), then write the reports."""
from __future__ import annotations

import contextlib
import logging
import signal
from pathlib import Path
from typing import Any, Callable, Sequence

import attrs
from optuna.trial import TrialState

from vaereg.core.common.errors import RunInterrupted, VaeregError
from vaereg.core.recipes.recipe import load_recipe
from vaereg.experiments.anomaly_objective import check_anomaly_objective
from vaereg.experiments.param_specs import Param, parse_params
from vaereg.experiments.sweep_resume import requeue_interrupted
from vaereg.experiments.sweep_study import SweepSetup, counted, open_study, work
from vaereg.experiments.sweep_workers import again_command, run_workers
from vaereg.experiments.trial_slots import TrialSlots
from vaereg.tracking.parent_run import parent_run

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


@attrs.frozen
class SweepResult:
    """What a finished sweep found: trial counts by state (``COMPLETE``, ``PRUNED``,
    ``FAIL``, and ``INTERRUPTED``: cut short by a signal or a killed process, and run
    again by another trial), the best trial (or None when none completed) and the reports written."""

    states: dict[str, int]
    best_number: int | None
    best_value: float | None
    best_params: dict[str, Any]
    best_recipe: Path | None
    reports: tuple[Path, ...]


def sweep(recipe: str | Path, params: Sequence[str], *, trials: int | None = None,
          objective: str = "val/neg_elbo", maximize: bool = False,
          overrides: Sequence[str] = (), out: str | Path = "runs/sweep",
          storage: str | None = None, workers: int = 1, prune_after: int = 5,
          echo: Callable[[str], Any] = print) -> SweepResult:
    """Search the recipe keys of ``params`` (``KEY=SPEC`` strings, as ``--param``) with
    Optuna until the study in ``storage`` (default: ``out/study.db``) holds ``trials``
    trials, here or in ``workers`` processes; then write ``trials.csv``, ``sweep.png``
    and ``best.toml`` in ``out``. Calling it again resumes the study."""
    from vaereg.experiments.sweep_report import write_reports

    if workers < 1:
        raise VaeregError(f"workers must be at least 1, not {workers}")
    study, setup, total = _open(recipe, params, trials, objective, maximize, overrides, out,
                                storage, prune_after, echo)
    with TrialSlots(study._storage).held():
        again = requeue_interrupted(study, local=storage is None)
    echo(f"study {storage or setup.out / 'study.db'}: {counted(study)} of {total} trials done"
         + (f"; {again} interrupted trial(s) queued again" if again else ""))
    arguments = {"recipe": str(recipe), "params": [param.text for param in setup.params],
                 "objective": objective, "maximize": maximize, "overrides": list(overrides),
                 "trials": total}
    tables = [load_recipe(str(recipe), tuple(overrides)).to_table()]
    with parent_run(setup.out, tables, "sweep", arguments) as parent:
        with _kept_on_interrupt(study, again_command(setup, total, storage, workers)):
            if workers > 1:
                run_workers(setup, total, storage, workers)
            else:
                work(study, setup, total, echo)
        paths, best = write_reports(study, setup)
        if parent is not None:
            parent.upload([str(path.relative_to(setup.out)) for path in paths])
            if best is not None:
                parent.log_metrics({f"best/{objective}": best.value}, best.number)
            parent.finish()
    states = ["INTERRUPTED" if t.state == TrialState.FAIL and "error" not in t.user_attrs
              else t.state.name for t in study.get_trials(deepcopy=False)]
    counts = {s: states.count(s) for s in ("COMPLETE", "PRUNED", "FAIL", "INTERRUPTED")}
    return SweepResult(counts,
                       None if best is None else best.number,
                       None if best is None else best.value,
                       {} if best is None else dict(best.params),
                       setup.out / "best.toml" if best is not None else None, tuple(paths))


def run_worker(recipe: str, params: Sequence[str], trials: int, objective: str,
               maximize: bool, overrides: Sequence[str], out: str | Path, storage: str | None,
               prune_after: int, echo: Callable[[str], Any] = print) -> None:
    """One of ``sweep``'s ``workers`` processes: run trials until the study is full."""
    study, setup, total = _open(recipe, params, trials, objective, maximize, overrides, out,
                                storage, prune_after, echo)
    with _kept_on_interrupt(study):
        work(study, setup, total, echo)


def _open(recipe, params, trials, objective, maximize, overrides, out, storage, prune_after,
          echo):
    """Parse and check everything, then create or load the study."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # each trial is reported by the sweep's own line (with its error); Optuna's, with a
    # traceback for a failed or interrupted trial, is not wanted
    logging.getLogger("optuna.study._optimize").setLevel(logging.ERROR)
    parsed = parse_params((params,) if isinstance(params, str) else tuple(params))
    check_values(str(recipe), tuple(overrides), parsed)
    check_anomaly_objective(objective, load_recipe(recipe, tuple(overrides)))
    total = study_total(parsed, trials, echo)
    setup = SweepSetup(str(recipe), tuple(overrides), tuple(parsed), objective, maximize,
                       Path(out), prune_after)
    return open_study(setup, storage), setup, total


@contextlib.contextmanager
def _kept_on_interrupt(study, command: str | None = None):
    """A signal ends the sweep (or a worker) with a message, never a traceback; the
    sweep's names the command that goes on (a worker's goes to the same terminal)."""
    try:
        yield
    except (RunInterrupted, KeyboardInterrupt) as stop:  # KeyboardInterrupt: a second signal
        signum = getattr(stop, "exit_code", 130) - 128
        name = signal.Signals(signum).name
        if command is None:  # a worker: the sweep's process says the rest
            raise RunInterrupted(f"sweep worker stopped by {name}: {stop}", signum) from None
        done = counted(study)
        raise RunInterrupted(f"interrupted by {name}: {stop}; the study keeps its {done} "
                             f"finished trial{'' if done == 1 else 's'}.\nGo on with: "
                             f"{command}", signum) from None
