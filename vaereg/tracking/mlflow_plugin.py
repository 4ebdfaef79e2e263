"""The run tracked in MLflow, beside TensorBoard (``[plugins.mlflow]``).

What it sends, from the process that writes the run folder (rank 0 of a torchrun job):
the resolved recipe as params (``plugins.dropout.p``, ...); tags (``vaereg.version``,
``vaereg.trainer``, ``vaereg.run_dir``, and ``mlflow.source.git.commit`` when the working
directory is in a git checkout); per-step scalars under the names TensorBoard shows
(``train_step/loss``, ``lr``, ...; hook ``on_log_step``), each epoch's figures as
``epoch/<name>`` at step = the 0-based epoch (after every plugin added its own), the
final figures under metrics.json's names (``test/neg_elbo``, ``best/test/neg_elbo``,
``train_seconds``, ...), and the run folder's files the ``artifacts`` patterns match.

The folder's ``mlflow.json`` links it to its MLflow run, so a resume continues that run.
A tracking server that fails is one warning, never a stopped run (``mlflow_run.py``).
It lives beside the core rather than in ``vaereg.plugins``: like TensorBoard it reads
the run folder and the core's records, which the regularizers never need.
"""
from __future__ import annotations

import importlib.util
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator

import attrs

from vaereg.core.common.options import in_range, option
from vaereg.core.hooks.hookspecs import hookimpl
from vaereg.tracking.recipe_params import flatten

DEFAULT_ARTIFACTS = ("recipe.toml", "metrics.json", "data_source.json", "eval/**/*", "*.png")


def mlflow_installed() -> bool:
    try:
        return importlib.util.find_spec("mlflow") is not None
    except (ImportError, ValueError):  # ValueError: an import blocked in sys.modules
        return False


@attrs.frozen
class MLflowOptions:
    tracking_uri: str = option(
        "", "an MLflow tracking URI (http://host:5000, sqlite:///file.db) or a folder (a "
            "local store: mlflow.db and artifacts/ in it); '' = $MLFLOW_TRACKING_URI, else "
            "the folder mlruns/ in the working directory")
    experiment: str = option("", "the MLflow experiment, created when missing ('' = the "
                                 "parent run's under compare and sweep, else run.name)")
    run_name: str = option("", "the MLflow run's name ('' = <run.name>/version_<k>)")
    log_every_n_steps: int = option(
        0, "per-step scalars every n steps, a multiple of run.log_every_n_steps "
           "(0 = every run.log_every_n_steps)", check=in_range(0))
    artifacts: tuple[str, ...] = option(
        DEFAULT_ARTIFACTS, "run-folder files uploaded when the run ends (glob patterns "
                           "relative to the run folder; eval/**/* is every eval output)")


def git_commit() -> str | None:
    """HEAD of the git checkout holding the working directory, if any."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def run_tags(trainer: Any) -> dict[str, str]:
    cls = type(trainer)
    tags = {"vaereg.version": metadata.version("vaereg"),
            "vaereg.trainer": f"{cls.__module__}.{cls.__qualname__}",
            "vaereg.run_dir": str(Path(trainer.run_dir).resolve())}
    commit = git_commit()
    if commit:
        tags["mlflow.source.git.commit"] = commit
    return tags


def final_figures(metrics: dict[str, Any]) -> dict[str, float]:
    """metrics.json's numbers (not its lists, tables, strings, or booleans)."""
    return {name: value for name, value in metrics.items()
            if isinstance(value, (int, float)) and not isinstance(value, bool)}


@attrs.define(eq=False)  # identity equality: a recipe may run two equal instances
class MLflowTracking:
    Options = MLflowOptions
    options: MLflowOptions
    tracked: Any = attrs.field(default=None, init=False)  # a TrackedRun, in rank 0

    @classmethod
    def check_recipe(cls, recipe: Any, name: str) -> Iterator[tuple[str, str]]:
        if not mlflow_installed():
            yield f"plugins.{name}", ("needs the mlflow package, which is not installed: "
                                      "pip install vaereg[mlflow]")
        options = next(spec.options for spec in recipe.plugins if spec.name == name)
        if options.log_every_n_steps % recipe.run.log_every_n_steps:
            yield f"plugins.{name}.log_every_n_steps", (
                f"expected a multiple of run.log_every_n_steps "
                f"({recipe.run.log_every_n_steps}), the steps that have scalars, found "
                f"{options.log_every_n_steps}")

    @hookimpl
    def on_train_start(self, trainer: Any) -> None:
        if not trainer.job.is_main:
            return
        from vaereg.tracking.mlflow_run import TrackedRun

        run = trainer.recipe.run
        folder = Path(trainer.run_dir)
        self.tracked = TrackedRun(folder, self.options.tracking_uri)
        self.tracked.start(experiment=self.options.experiment,
                           run_name=self.options.run_name or f"{run.name}/{folder.name}",
                           params=flatten(trainer.recipe.to_table()),
                           tags=run_tags(trainer), default_experiment=run.name)

    @hookimpl
    def on_log_step(self, scalars: dict[str, float], step: int) -> None:
        every = self.options.log_every_n_steps
        if self.tracked is not None and (every == 0 or step % every == 0):
            self.tracked.log_metrics(scalars, step)

    @hookimpl(wrapper=True)
    def on_train_epoch_end(self, epoch: int, metrics: dict[str, float]) -> Any:
        """After every other plugin: the epoch's figures with what they all added."""
        result = yield
        if self.tracked is not None:
            self.tracked.log_metrics({f"epoch/{k}": v for k, v in metrics.items()}, epoch)
            self.tracked.flush()
        return result

    @hookimpl
    def on_before_save_checkpoint(self) -> None:
        """What a stopped run has logged is sent (or recorded) by its last checkpoint."""
        if self.tracked is not None:
            self.tracked.flush()
            self.tracked.save()

    @hookimpl(wrapper=True)
    def on_test_end(self, trainer: Any, metrics: dict[str, Any]) -> Any:
        """After every other plugin, the built-in run record last: metrics.json is written
        and ``metrics`` is what it holds."""
        result = yield
        if self.tracked is not None:
            self.tracked.log_metrics(final_figures(metrics), trainer.step)
            self.tracked.upload(self.options.artifacts)
            self.tracked.finish()
        return result
