"""How a sweep stopped in the middle of a trial goes on.

A trial cut short (Ctrl-C or SIGTERM, a killed process or machine) ends FAIL without an
``error`` (or is left RUNNING by a killed process); it recorded its run folder as its
training started. The next call queues its values again,
once, as a new trial whose ``retry_of`` names it. That trial continues the interrupted
run from its checkpoint when the checkpoint is on this machine, with the objective values
the pruner had already seen (and its decision, if it had pruned the trial); otherwise it
runs the values again from the start. A finished trial is never run again.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from vaereg.core.run_folder.resume import LAST


def requeue_interrupted(study: optuna.Study, local: bool) -> int:
    """Queue again, once, the values of each trial cut short. With the sweep's own file
    (``local``) a RUNNING trial can only be left by a killed process: it is failed first.
    Callers hold the study's trial slots, so two workers never queue the same trial."""
    storage, again = study._storage, 0
    trials = study.get_trials(deepcopy=False)
    queued = {t.user_attrs.get("retry_of") for t in trials}
    for trial in trials:
        if local and trial.state == TrialState.RUNNING:
            storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        elif trial.state != TrialState.FAIL:
            continue
        if "error" not in trial.user_attrs and trial.number not in queued and trial.params:
            study.add_trial(optuna.trial.create_trial(  # as Optuna's RetryFailedTrialCallback
                state=TrialState.WAITING, params=trial.params,
                distributions=trial.distributions, user_attrs={"retry_of": trial.number},
                system_attrs=trial.system_attrs))  # (the grid sampler's point)
            again += 1
    return again


def interrupted_trial(trial: optuna.Trial) -> FrozenTrial | None:
    """The trial ``trial`` runs again, if it is a retry."""
    number = trial.user_attrs.get("retry_of")
    if number is None:
        return None
    return next(t for t in trial.study.get_trials(deepcopy=False) if t.number == number)


def checkpointed_run(earlier: FrozenTrial | None) -> Path | None:
    """The run folder of ``earlier`` when its checkpoint is here, to be continued."""
    folder = earlier.user_attrs.get("run_dir") if earlier is not None else None
    return Path(folder) if folder and (Path(folder) / LAST).is_file() else None


def carry_over(earlier: FrozenTrial, trial: optuna.Trial) -> tuple[Any, frozenset[int]]:
    """Report to ``trial`` the epochs ``earlier`` had reported (the resumed run goes on
    after them, or, after a kill, trains again those its checkpoint missed); returns the
    epoch after which the pruner had pruned it (or None) and the epochs reported."""
    for epoch, value in sorted(earlier.intermediate_values.items()):
        trial.report(value, epoch)
    pruned_at = earlier.user_attrs.get("pruned_at")
    if pruned_at is not None:
        trial.set_user_attr("pruned_at", pruned_at)
    return pruned_at, frozenset(earlier.intermediate_values)
