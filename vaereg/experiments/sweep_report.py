"""What ``vaereg sweep`` writes: ``trials.csv``, ``sweep.png`` (the objective against each
parameter, and its history) and ``best.toml`` (the recipe with the best values, checked
by loading it, ready for ``vaereg run``)."""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any, Sequence

import optuna
import tomli_w
from optuna.trial import TrialState

from vaereg.core.recipes.recipe import load_recipe
from vaereg.core.run_folder.run_dir import write_atomic
from vaereg.experiments.param_specs import Param
from vaereg.experiments.sweep_study import SweepSetup, trials_table


def write_trials_csv(rows: Sequence[dict[str, Any]], path: Path) -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else ["number"])
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(path, buffer.getvalue())
    return path


def best_trial(study: optuna.Study) -> optuna.trial.FrozenTrial | None:
    complete, _ = _finished(study)
    if not complete:
        return None
    pick = max if study.direction == optuna.study.StudyDirection.MAXIMIZE else min
    return pick(complete, key=lambda t: t.value)


def write_best(setup: SweepSetup, best: optuna.trial.FrozenTrial, path: Path) -> Path:
    """The recipe resolved with the best trial's values; loading it again is the check
    that ``vaereg run best.toml`` will accept it."""
    table = load_recipe(setup.recipe, setup.trial_overrides(best.params)).to_table()
    shown = ", ".join(f"{k} = {v!r}" for k, v in best.params.items())
    text = (f"# Best trial {best.number} of the sweep in {setup.out}: {setup.objective} = "
            f"{best.value:.6g}\n# {shown}\n\n" + tomli_w.dumps(table))
    write_atomic(path, text)
    load_recipe(path)
    return path


def _log_scaled(param: Param) -> bool:
    """loguniform, or a grid of positive numbers spanning two decades or more."""
    if param.kind == "loguniform":
        return True
    numbers = [v for v in param.values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return (param.kind == "grid" and len(numbers) == len(param.values)
            and min(numbers) > 0 and max(numbers) / min(numbers) >= 100)


def _finished(study: optuna.Study) -> tuple[list, list]:
    """(complete trials with a finite value, pruned trials with a finite last report)."""
    complete = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                if t.value is not None and math.isfinite(t.value)]
    pruned = [t for t in study.get_trials(deepcopy=False, states=(TrialState.PRUNED,))
              if t.intermediate_values and math.isfinite(_last_report(t))]
    return complete, pruned


def _last_report(trial: optuna.trial.FrozenTrial) -> float:
    """The objective a pruned trial reported last (at its last epoch)."""
    return trial.intermediate_values[max(trial.intermediate_values)]


def plot(study: optuna.Study, setup: SweepSetup, path: Path) -> Path:
    """sweep.png: :func:`sweep_figure`, written atomically."""
    from vaereg.evaluation.pictures import save_figure

    save_figure(sweep_figure(study, setup), path)
    return path


def sweep_figure(study: optuna.Study, setup: SweepSetup):
    """A panel per parameter (the objective of each trial against its value, log-scaled
    for loguniform), and the history with the best so far. Pruned trials are drawn at
    the value they reported last, as grey crosses: where the search stopped looking."""
    from matplotlib.figure import Figure

    complete, pruned = _finished(study)
    kinds = ((complete, lambda t: t.value, dict(color="tab:blue", marker="o", label="complete")),
             (pruned, _last_report, dict(color="tab:grey", marker="x",
                                         label="pruned (last report)")))
    panels = len(setup.params) + 1
    figure = Figure(figsize=(3.4 * panels, 3.2), layout="constrained")
    axes = figure.subplots(1, panels, squeeze=False)[0]
    for ax, param in zip(axes, setup.params):
        every = [t.params[param.key] for t in complete + pruned]
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in every)
        labels = [str(v) for v in param.values]
        for trials, value, style in kinds:
            xs = [t.params[param.key] if numeric else labels.index(str(t.params[param.key]))
                  for t in trials]
            ax.scatter(xs, [value(t) for t in trials], **style)
        if numeric and _log_scaled(param):
            ax.set_xscale("log")
        elif not numeric:
            ax.set_xticks(range(len(labels)), labels)
        ax.set_xlabel(param.key)
        ax.set_ylabel(setup.objective)
    history = axes[-1]
    for trials, value, style in kinds:
        history.scatter([t.number for t in trials], [value(t) for t in trials], **style)
    if complete:
        numbers, objective = [t.number for t in complete], [t.value for t in complete]
        better = max if setup.maximize else min
        running = [better(objective[: i + 1]) for i in range(len(objective))]
        history.step(numbers, running, where="post", color="tab:red", label="best so far")
    if complete or pruned:
        history.legend(fontsize=8)
    history.set_xlabel("trial")
    history.set_title(f"history: {len(complete)} complete, {len(pruned)} pruned", fontsize=9)
    return figure


def write_reports(study: optuna.Study, setup: SweepSetup) -> tuple[list[Path], Any]:
    """trials.csv, sweep.png and, when a trial completed, best.toml; and the best trial."""
    paths = [write_trials_csv(trials_table(study, setup.params), setup.out / "trials.csv"),
             plot(study, setup, setup.out / "sweep.png")]
    best = best_trial(study)
    if best is not None:
        paths.append(write_best(setup, best, setup.out / "best.toml"))
    return paths, best
