"""The runs behind ``vaereg compare``: one per recipe and seed, in
``<out>/<recipe file stem>/seed_<k>/version_<v>``, trained in subprocesses
(``python -m vaereg run``), ``jobs`` at a time, each with its share of the cores.

A run is reused when a version folder holds the same resolved recipe (trainer included)
and a ``metrics.json``; one with ``last.pt`` but no metrics (an interrupted compare) is
resumed with ``vaereg run --resume``; otherwise a new version is trained. So the same
command after Ctrl-C, or with one more recipe, trains only what is missing.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Sequence

import attrs

from vaereg.core.common.errors import VaeregError
from vaereg.core.loop.trainer_class import trainer_class, with_trainer
from vaereg.core.recipes.recipe import load_recipe
from vaereg.core.run_folder.resume import LAST
from vaereg.core.run_folder.run_dir import METRICS_FILE, RECIPE_FILE
from vaereg.experiments.parallel_processes import run_logged


class RunsFailed(VaeregError):
    """Some runs of a compare ended with an error; the others are kept for the next call.
    Exit code 1, as for a failed run: the input was valid."""

    exit_code = 1


@attrs.frozen
class PlannedRun:
    """One recipe at one seed: what ``vaereg run`` is given, and the resolved table a
    finished folder must hold to be reused."""

    label: str
    recipe: str
    seed: int
    overrides: tuple[str, ...]
    parent: Path
    table: dict[str, Any] = attrs.field(eq=False, repr=False)

    @property
    def log(self) -> Path:
        return self.parent.with_suffix(".log")

    def folders(self, state: str) -> list[Path]:
        """Version folders of this run with the same resolved recipe that are ``done``
        (metrics.json) or ``resumable`` (last.pt, no metrics)."""
        found = []
        for folder in sorted(self.parent.glob("version_*")):
            done = (folder / METRICS_FILE).is_file()
            if (done if state == "done" else not done and (folder / LAST).is_file()) \
                    and resolved_table(folder / RECIPE_FILE) == self.table:
                found.append(folder)
        return found


def resolved_table(path: Path, overrides: Sequence[str] = ()) -> dict[str, Any] | None:
    """The fully resolved recipe, with the trainer class it would run (a run folder
    records it); None for a file that no longer loads."""
    try:
        recipe = load_recipe(path, overrides)
        return with_trainer(recipe, trainer_class(recipe)).to_table()
    except VaeregError:
        return None


def plan_runs(recipes: Sequence[str], seeds: int, overrides: Sequence[str],
              out: Path) -> list[PlannedRun]:
    """Every (recipe, seed) pair, recipe-major; every recipe is checked before anything
    trains, and two recipes with the same file name are refused (their folders would mix)."""
    labels = [Path(recipe).stem for recipe in recipes]
    twice = sorted({label for label in labels if labels.count(label) > 1})
    if twice:
        raise VaeregError(f"two recipes share the file name {', '.join(twice)}: compare names "
                          f"each recipe's folder after its file; rename one")
    planned = []
    for recipe, label in zip(recipes, labels):
        for seed in range(seeds):
            parent = out / label / f"seed_{seed}"
            own = (*overrides, f"run.seed={seed}", f"run.out_dir={json.dumps(str(out / label))}",
                   f"run.name=\"seed_{seed}\"")
            loaded = load_recipe(recipe, own)  # raises RecipeError: exit 2 before training
            table = with_trainer(loaded, trainer_class(loaded)).to_table()
            planned.append(PlannedRun(label, recipe, seed, own, parent, table))
    return planned


def command_for(run: PlannedRun) -> list[str] | None:
    """The ``vaereg run`` command that finishes ``run``, or None when it is done."""
    if run.folders("done"):
        return None
    base = [sys.executable, "-m", "vaereg", "run", "--quiet"]
    resumable = run.folders("resumable")
    if resumable:
        return base + ["--resume", str(resumable[-1])]
    return base + [run.recipe] + [arg for item in run.overrides for arg in ("--set", item)]


def train_missing(planned: Sequence[PlannedRun], jobs: int, echo) -> dict[PlannedRun, Path]:
    """Train (or resume) the runs not done yet, ``jobs`` subprocesses at a time, each
    logging to ``<parent>.log``; returns each run's finished folder."""
    todo = [(run, command) for run in planned if (command := command_for(run))]
    echo(f"{len(planned) - len(todo)} of {len(planned)} runs already done; training {len(todo)}"
         + (f", {jobs} at a time" if todo and jobs > 1 else ""))

    for run, _ in todo:
        run.parent.mkdir(parents=True, exist_ok=True)
    codes = run_logged([(f"{run.label} seed {run.seed}", command, run.log) for run, command in todo],
                       jobs, echo, done="done", failed="exit code")
    failed = [run for (run, _), code in zip(todo, codes) if code != 0]
    if failed:
        raise RunsFailed("these runs failed (the others are kept; the same command retries "
                         "only these): " + ", ".join(f"{run.label} seed {run.seed} "
                                                     f"(log: {run.log})" for run in failed))
    return {run: run.folders("done")[-1] for run in planned}
