"""The Optuna study behind ``vaereg sweep``: one trial = one in-process run of the recipe
with the trial's values set, its objective read from the run's metrics.

* Pruning: :class:`PruningReporter` (an ``extra_plugins`` entry) reports the objective
  after every epoch; when the pruner says so it sets ``trainer.should_stop``, so the run
  ends cleanly (final metrics, checkpoint) and the trial is told PRUNED, not FAIL.
* Failures (NaN with ``on_nonfinite = "stop"``, a plugin error, bad data) are recorded
  FAIL with the message in the ``error`` user attribute; the study goes on.
* Resuming: ``--trials`` is the study's total. A trial counts when COMPLETE, PRUNED or
  FAIL with an ``error``; a trial cut short (Ctrl-C, a killed process: RUNNING left
  behind, or failed by Optuna's heartbeat) has no ``error`` and is queued again once
  with the same values, continuing its run from its checkpoint (``sweep_resume``), so
  nothing finished is lost or repeated.
* Signals: the first SIGINT/SIGTERM stops the trial in progress after a checkpoint (the
  trainer's own handling), or, between trials, before the next one; either way the
  worker ends with :class:`RunInterrupted`. Optuna's log of that "failure" is silenced.
"""
from __future__ import annotations

import json
import os
import socket
import time
import warnings
from pathlib import Path
from typing import Any, Sequence

import attrs
import optuna
from optuna.trial import TrialState

from vaereg.core.common.errors import RunInterrupted, VaeregError
from vaereg.core.common.writable import writable_folder
from vaereg.core.hooks.hookspecs import hookimpl
from vaereg.core.loop.trainer_class import trainer_class
from vaereg.core.recipes.recipe import load_recipe
from vaereg.core.reliability.run_main import fit_or_explain
from vaereg.core.reliability.stop_signals import StopRequests
from vaereg.core.run_folder.resume import LAST, load_run_recipe
from vaereg.experiments.anomaly_objective import is_anomaly_objective, validation_anomaly_figure
from vaereg.experiments.param_specs import Param
from vaereg.experiments.sweep_resume import (carry_over, checkpointed_run, interrupted_trial,
                                             requeue_interrupted)
from vaereg.experiments.trial_slots import TrialSlots

STUDY_NAME = "vaereg-sweep"
#: seconds between a trial's heartbeats, and after which a silent trial is failed
HEARTBEAT, GRACE = 20, 120
#: seconds between looks at trials running elsewhere
POLL = 1.0
#: which machine and process ran a trial (trials.csv's ``worker``)
WORKER = f"{socket.gethostname()}:{os.getpid()}"


class TrialFailed(Exception):
    """A trial's run failed; the message is in its ``error`` attribute."""


@attrs.frozen
class SweepSetup:
    """What every trial shares: the recipe, ``--set`` overrides, the searched params,
    the objective and where trial runs go."""

    recipe: str
    overrides: tuple[str, ...]
    params: tuple[Param, ...]
    objective: str
    maximize: bool
    out: Path
    prune_after: int = 5

    def signature(self) -> dict[str, Any]:
        """What a resumed study must have been started with."""
        return {"recipe": str(Path(self.recipe).resolve()), "overrides": list(self.overrides),
                "params": [p.text for p in self.params], "objective": self.objective,
                "maximize": self.maximize}

    def trial_overrides(self, values: dict[str, Any]) -> tuple[str, ...]:
        return (*self.overrides, *(p.override(values[p.key]) for p in self.params))


class PruningReporter:
    """Reports ``metrics[objective]`` to the trial after each epoch that has it (but the
    ``reported`` ones, carried over from the trial it continues), and stops the run when
    the pruner prunes the trial. Records the run folder as training starts, so that a
    trial whose process is killed is continued from its last checkpoint."""

    def __init__(self, trial: optuna.Trial, objective: str, pruned_at: int | None = None,
                 reported: frozenset[int] = frozenset()):
        self.trial, self.objective, self.pruned_at = trial, objective, pruned_at
        self.reported = reported

    @hookimpl
    def on_train_start(self, trainer) -> None:
        self.trial.set_user_attr("run_dir", str(trainer.run_dir))

    @hookimpl
    def on_train_epoch_end(self, trainer, epoch: int, metrics: dict[str, float]) -> None:
        if self.objective in metrics and epoch not in self.reported:
            self.trial.report(float(metrics[self.objective]), epoch)
            if self.trial.should_prune():
                self.pruned_at = epoch
                self.trial.set_user_attr("pruned_at", epoch)  # for a retry, if cut short
                trainer.should_stop = True


def objective_value(metrics: dict[str, Any], objective: str) -> float:
    """The run's figure for ``objective``: the best validation value for the monitored
    metric (``best/monitored``), else the final figure, else the last epoch's."""
    if objective == metrics.get("monitor") and "best/monitored" in metrics:
        return float(metrics["best/monitored"])
    if isinstance(metrics.get(objective), (int, float)):
        return float(metrics[objective])
    for epoch in reversed(metrics.get("history", [])):
        if objective in epoch:
            return float(epoch[objective])
    known = sorted(k for k, v in metrics.items() if isinstance(v, (int, float)) and "/" in k)
    raise VaeregError(f"--objective {objective}: the run reports no such metric; it has "
                      f"{', '.join(known)}")


def run_trial(trial: optuna.Trial, setup: SweepSetup) -> float:
    """Run the trial's recipe (or continue the run of the trial it retries) and return
    its objective; cut short, it records its run folder if that holds a checkpoint."""
    trial.set_user_attr("worker", WORKER)
    values = {param.key: param.suggest(trial) for param in setup.params}
    earlier = interrupted_trial(trial)
    folder = checkpointed_run(earlier)
    try:
        if folder is not None:
            recipe, (pruned_at, reported) = load_run_recipe(folder), carry_over(earlier, trial)
        else:
            recipe = load_recipe(setup.recipe, setup.trial_overrides(values) + (
                f"run.out_dir={json.dumps(str(setup.out / 'trials'))}",
                f"run.name=\"trial_{trial.number}\""))
            pruned_at, reported = None, frozenset()
        reporter = PruningReporter(trial, setup.objective, pruned_at, reported)
        trainer = trainer_class(recipe)(recipe, quiet=True,
                                        extra_plugins=(("sweep_pruning", reporter),))
        metrics = _fit(trainer, trial, folder)
    except RunInterrupted:
        raise  # no ``error``: the next call runs it again
    except VaeregError as error:
        trial.set_user_attr("error", f"{type(error).__name__}: {error}")
        raise TrialFailed(str(error)) from None
    trial.set_user_attr("run_dir", str(trainer.run_dir))
    value = (validation_anomaly_figure(trainer.run_dir, setup.objective)
             if is_anomaly_objective(setup.objective)
             else objective_value(metrics, setup.objective))
    if reporter.pruned_at is not None:
        raise optuna.TrialPruned(f"pruned after epoch {reporter.pruned_at + 1}")
    return value


def _fit(trainer: Any, trial: optuna.Trial, folder: Path | None) -> dict[str, Any]:
    """Train; a signal raises :class:`RunInterrupted` saying what becomes of the trial
    (the next call continues it from its checkpoint, if it wrote one)."""
    try:
        return fit_or_explain(trainer, folder, resume=folder is not None)
    except RunInterrupted as stop:
        kept = trainer.run_dir is not None and (trainer.run_dir / LAST).is_file()
        raise RunInterrupted(f"trial {trial.number} " + (
            f"keeps its checkpoint {trainer.run_dir / LAST} and goes on from it" if kept
            else "had written no checkpoint: it runs again"), stop.exit_code - 128) from None


def open_study(setup: SweepSetup, storage_url: str | None) -> optuna.Study:
    """Create or load the study; one started with other arguments is refused."""
    url = storage_url or f"sqlite:///{(setup.out / 'study.db').resolve()}"
    writable_folder(setup.out, "--out")
    kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    storage = connect(url, kwargs)
    grid = all(param.is_grid for param in setup.params)
    sampler = (optuna.samplers.GridSampler({p.key: list(p.values) for p in setup.params}, seed=0)
               if grid else optuna.samplers.TPESampler())
    study = optuna.create_study(storage=storage, study_name=STUDY_NAME, sampler=sampler,
                                pruner=setup_pruner(setup.prune_after), load_if_exists=True,
                                direction="maximize" if setup.maximize else "minimize")
    started = study.user_attrs.get("setup")
    if started is None:
        study.set_user_attr("setup", setup.signature())
    elif started != setup.signature():
        raise VaeregError(f"the study in {url} was started with other arguments "
                          f"({json.dumps(started)}); repeat those, or use another --out")
    return study


def connect(url: str, engine_kwargs: dict, attempts: int = 5) -> optuna.storages.RDBStorage:
    """The storage at ``url``. Machines starting at once on an empty database race to
    create Optuna's tables; the losers see a unique-key violation and try again."""
    from sqlalchemy.exc import IntegrityError

    for attempt in range(1, attempts + 1):
        try:
            return optuna.storages.RDBStorage(url, heartbeat_interval=HEARTBEAT,
                                              grace_period=GRACE, engine_kwargs=engine_kwargs)
        except Exception as error:  # SQLAlchemy's many error types: a bad URL or no server
            if not isinstance(error, IntegrityError) or attempt == attempts:
                raise VaeregError(f"--storage {url}: {error}") from None
            time.sleep(attempt)


def setup_pruner(prune_after: int) -> optuna.pruners.BasePruner:
    """Median pruning (a trial worse than the median of the others at the same epoch
    stops), once ``prune_after`` trials have finished."""
    return optuna.pruners.MedianPruner(n_startup_trials=prune_after, n_warmup_steps=0)


def counted(study: optuna.Study) -> int:
    """Trials that count towards ``--trials``: finished, or failed with an error."""
    return sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED)
               or (t.state == TrialState.FAIL and "error" in t.user_attrs)
               for t in study.get_trials(deepcopy=False))


def work(study: optuna.Study, setup: SweepSetup, total: int, echo) -> None:
    """Run trials until ``total`` count; while the rest run elsewhere (other workers or
    machines), wait for them, so that the reports written next describe the whole study.
    A trial whose machine died (no heartbeat for ``GRACE`` seconds) is failed and queued
    again, and this worker runs it: none is lost."""
    def report(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                          for k, v in trial.params.items())
        tail = (f"{setup.objective} {trial.value:.4f}" if trial.value is not None
                else trial.user_attrs.get("error", "").splitlines()[0] if trial.user_attrs.get("error")
                else "")
        echo(f"trial {trial.number} {trial.state.name}: {shown}  {tail}".rstrip())

    slots = TrialSlots(study._storage)

    def started(trial: optuna.Trial) -> float:
        slots.release()  # the trial exists (RUNNING): other workers count it now
        return run_trial(trial, setup)

    with StopRequests() as stop:  # a trial's own handling takes over while it trains
        while counted(study) < total:
            if stop.signum is not None:
                raise RunInterrupted("stopped between trials", stop.signum)
            with slots.held():
                free = counted(study) + len(
                    study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))) < total
                if free:
                    study.optimize(started, n_trials=1, catch=(TrialFailed,),
                                   callbacks=[report])
            if not free:
                time.sleep(POLL)
                optuna.storages.fail_stale_trials(study)
                with slots.held():
                    requeue_interrupted(study, local=False)


def trials_table(study: optuna.Study, params: Sequence[Param]) -> list[dict[str, Any]]:
    """One row per trial, for trials.csv (a trial cut short says which one went on)."""
    rows, trials = [], study.get_trials(deepcopy=False)
    retries = {t.user_attrs["retry_of"]: t.number for t in trials if "retry_of" in t.user_attrs}
    for trial in trials:
        row = {"number": trial.number, "state": trial.state.name, "value": trial.value}
        row.update({p.key: trial.params.get(p.key) for p in params})
        duration = trial.duration.total_seconds() if trial.duration else None
        error = trial.user_attrs.get("error", "") if trial.state != TrialState.FAIL else (
            trial.user_attrs.get("error") or "interrupted" + (
                f"; continued by trial {retries[trial.number]}" if trial.number in retries else ""))
        row.update({"seconds": duration, "error": error,
                    "run_dir": trial.user_attrs.get("run_dir", ""),
                    "worker": trial.user_attrs.get("worker", "")})
        rows.append(row)
    return rows
