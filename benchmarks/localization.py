"""Did regularization help the detector find *where* the anomaly is? Anomaly maps of VAEs
trained with each regularizer, against the baselines, on synthetic defects.

1. Builds a synthetic-defect set in the MVTec AD layout from Fashion-MNIST in
   ``<out>/data`` (kinds ``brighter``, ``darker``, ``stripes`` and ``pasted``, the last
   at the image's own intensities; how each is made: ``synthetic_defects.py``).
2. Trains, with ``vaereg.compare`` in ``<out>/runs`` over ``--seeds`` seeds, the MLP VAE
   of recipes/vanilla.toml (512-256, 16 latents, Bernoulli pixels, Adam 1e-3, batch 128,
   ``EPOCHS`` epochs) on ``train/good/`` without regularization and with each of
   dropout (p 0.2), decoupled weight decay (0.05), batch norm (before the activation)
   and a linear KL warm-up over the first half of the steps; and ``swept``, the best
   point of a grid sweep (dropout p x weight decay, seed 0, in ``<out>/sweep``) chosen by
   validation negative ELBO on ``val/good/``, normal images only.
3. Evaluates each run's best-validation checkpoint with ``vaereg eval --anomaly``
   (every map and baseline; ``eval/best-test-labelled-defects/`` in the run).
4. Writes ``<out>/localization.md``: per defect kind, pixel AUPRC, best Dice and image
   AUROC (top-1% mean of the map) with 95% t-intervals over seeds, for every map and
   baseline; whether a vaereg map beats both baselines; the recipes side by side.

Finished runs, the sweep's trials and evaluations are reused, so the same command
resumes. ``--set`` (and the image counts) shrink it for a smoke test; the report says so.

    python benchmarks/localization.py [--seeds 3] [--out runs/localization]
        [--recipe NAME]... [--sweep-trials N] [--train-images 2000] [--val-images 200]
        [--test-images 200] [--defects 50] [--jobs 1] [--set KEY=VALUE]...
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import click

sys.path.insert(0, str(Path(__file__).resolve().parent))

from localization_table import full_table, recipe_table, summarize, verdict_table  # noqa: E402
import synthetic_defects  # noqa: E402
from synthetic_defects import KINDS, DefectSetSize  # noqa: E402

#: 1,600 optimizer steps on the 2,000 training images: at 5 epochs (80 steps) the
#: reconstructions were too blurry for any map to beat the intensity on brighter patches,
#: and the validation loss still falls at 100 (253.9 nats against 312.7 at 5, unregularized)
EPOCHS = 100
BATCH = 128
BASE = {
    "run": {"name": "localization", "seed": 0, "epochs": EPOCHS, "out_dir": "runs",
            "device": "cpu"},
    "data": {"name": "image_folder", "batch_size": BATCH},
    "model": {"name": "vanilla", "backbone": "mlp", "hidden_dims": [512, 256],
              "latent_dim": 16, "likelihood": "bernoulli"},
    "optimizer": {"name": "adam", "lr": 1e-3},
}
#: recipe name -> its plugins (the settings of recipes/vanilla_dropout.toml, weight_decay.toml)
PLUGINS = {
    "unregularized": {},
    "dropout": {"dropout": {"p": 0.2, "where": "both"}},
    "weight_decay": {"weight_decay": {"value": 0.05, "mode": "decoupled"}},
    "batchnorm": {"batchnorm": {"position": "before", "momentum": 0.1}},
    "kl_warmup": {"kl_schedule": {"schedule": "linear", "beta": 1.0}},  # ramp: half the steps
}
SWEPT = "swept"
RECIPES = (*PLUGINS, SWEPT)
SWEEP_PLUGINS = {"dropout": {"p": 0.2, "where": "both"},
                 "weight_decay": {"value": 0.05, "mode": "decoupled"}}
SWEEP_GRID = ("plugins.dropout.p=0,0.2", "plugins.weight_decay.value=0.01,0.1")
EVAL_FOLDER = Path("eval") / "best-test-labelled-defects"


def write_recipes(folder: Path, data_root: Path, steps: int, base: dict = BASE,
                  recipes: dict | None = None) -> dict[str, Path]:
    """The benchmark's ``recipes`` (name -> plugins; default: ``PLUGINS`` and the sweep's
    base) on ``base`` as TOML files in ``folder`` (rewritten identically each time, so
    compare recognizes its finished runs); a KL warm-up ramps over half of ``steps``."""
    import tomli_w

    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, plugins in (recipes or {**PLUGINS, "sweep_base": SWEEP_PLUGINS}).items():
        table = json.loads(json.dumps(base))
        table["run"]["name"] = name
        table["data"]["root"] = str(data_root)
        if plugins:
            table["plugins"] = json.loads(json.dumps(plugins))
        if "kl_schedule" in plugins:
            table["plugins"]["kl_schedule"]["ramp_steps"] = steps // 2
        paths[name] = folder / f"{name}.toml"
        paths[name].write_text(tomli_w.dumps(table))
    return paths


def defect_set(root: Path, size: Any, builder: Any = synthetic_defects,
               what: str = "defect") -> Path:
    """The set in ``root``, built by ``builder`` (its ``build`` and ``existing_size``)
    unless it is there with the same size."""
    from vaereg.core.common.errors import VaeregError

    found = builder.existing_size(root)
    if found is None:
        click.echo(f"building the synthetic-{what} set in {root}", err=True)
        builder.build(root, size)
    elif found != size:
        raise VaeregError(f"{root} holds a {what} set of {found}, not the {size} asked for; "
                          f"use another --out or the same counts")
    return root


def swept_recipe(base: Path, trials: int | None, overrides: tuple[str, ...], out: Path,
                 jobs: int) -> str:
    """The sweep's best recipe (lowest validation negative ELBO), as TOML text."""
    import vaereg

    result = vaereg.sweep(base, SWEEP_GRID, trials=trials, objective="val/neg_elbo",
                          overrides=overrides, out=out, workers=jobs,
                          echo=lambda line: click.echo(line, err=True))
    if result.best_recipe is None:
        raise click.ClickException(f"no sweep trial completed; see {out}")
    click.echo(f"swept: best of the sweep is {result.best_params} "
               f"(val/neg_elbo {result.best_value:.2f})", err=True)
    return result.best_recipe.read_text()


def evaluate(run_dirs: list[Path], jobs: int) -> list[Path]:
    """Each run's ``vaereg eval RUN --anomaly`` folder, evaluating (``jobs`` at a time,
    each logging to ``eval.log`` in its run) the runs that have none yet."""
    from vaereg.experiments.compare_runs import RunsFailed
    from vaereg.experiments.parallel_processes import run_logged

    folders = [run_dir / EVAL_FOLDER for run_dir in run_dirs]
    todo = [(str(run_dir), [sys.executable, "-m", "vaereg", "eval", str(run_dir), "--anomaly",
                            "--metrics", "elbo", "--projector-points", "0"],
             run_dir / "eval.log")
            for run_dir, folder in zip(run_dirs, folders) if not (folder / "eval.json").is_file()]
    click.echo(f"evaluating {len(todo)} of {len(run_dirs)} runs with --anomaly", err=True)
    codes = run_logged(todo, jobs, lambda line: click.echo(line, err=True), done="evaluated",
                       failed="evaluation exit code")
    failed = [f"{run} (log: {log})" for (run, _, log), code in zip(todo, codes) if code]
    if failed:
        raise RunsFailed("these evaluations failed (the same command retries only these): "
                         + ", ".join(failed))
    return folders


def compared_and_evaluated(recipes: list[Path], seeds: int, overrides: tuple[str, ...],
                           runs: Path, jobs: int) -> dict[str, list[Path]]:
    """Recipe label -> the evaluation folder of each seed's run, training (``vaereg.compare``
    in ``runs``) and evaluating what is not done yet, seed by seed (every recipe's seed 0
    first: a benchmark stopped early has its first seeds of every recipe)."""
    import vaereg
    from vaereg.experiments.compare_runs import plan_runs

    vaereg.compare(recipes, seeds=seeds, overrides=overrides, out=runs, jobs=jobs,
                   echo=lambda line: click.echo(line, err=True))
    planned = sorted(plan_runs([str(path) for path in recipes], seeds, overrides, runs),
                     key=lambda run: run.seed)
    evaluated = evaluate([run.folders("done")[-1] for run in planned], jobs)
    folders: dict[str, list[Path]] = {}
    for run, folder in zip(planned, evaluated):
        folders.setdefault(run.label, []).append(folder)
    return folders


def write_report(stem: Path, folders: dict[str, list[Path]], text: str) -> None:
    """``<stem>.md`` (``text``, also printed) and ``<stem>.json`` (the folders it read)."""
    stem.with_suffix(".json").write_text(json.dumps(
        {"eval_folders": {name: [str(f) for f in fs] for name, fs in folders.items()}},
        indent=2) + "\n")
    stem.with_suffix(".md").write_text(text)
    click.echo(text)


def report(folders: dict[str, list[Path]], size: DefectSetSize, seeds: int,
           overrides: tuple[str, ...]) -> str:
    table = summarize(folders)
    recipes = list(folders)
    shrunk = "" if size == DefectSetSize() and not overrides else (
        " Shrunk: " + ", ".join([f"{size}", *overrides]) + ".")
    head = (f"Synthetic defects on Fashion-MNIST ({size.train} training, {size.val} validation, "
            f"{size.test} normal test images, {size.defects} defects per kind); MLP VAE, "
            f"{EPOCHS} epochs, best-validation checkpoint; means over {seeds} seeds with 95% "
            f"t-intervals.{shrunk}")
    return "\n\n".join([head, verdict_table(table, recipes), recipe_table(table, recipes),
                        full_table(table, recipes)]) + "\n"


#: options every recipe-comparing benchmark shares (lesions.py takes them from here)
SEEDS_OPTION = click.option("--seeds", type=click.IntRange(1), default=3, show_default=True,
                            help="Training seeds per recipe (run.seed 0..N-1).")
OVERRIDES_OPTION = click.option(
    "--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE",
    help="Override a recipe key in every run, e.g. run.epochs=1 (a smoke test; the report "
         "says it was shrunk). Repeatable.")


@click.command()
@SEEDS_OPTION
@click.option("--out", type=click.Path(file_okay=False), default="runs/localization",
              show_default=True, help="Folder of the defect set, runs, sweep and report.")
@click.option("--recipe", "recipe_names", multiple=True, type=click.Choice(RECIPES),
              help="Only these recipes (repeatable) [all].")
@click.option("--sweep-trials", type=click.IntRange(1), default=None,
              help="Grid points the sweep runs [all 4].")
@click.option("--train-images", type=click.IntRange(1), default=DefectSetSize().train,
              show_default=True)
@click.option("--val-images", type=click.IntRange(1), default=DefectSetSize().val,
              show_default=True)
@click.option("--test-images", type=click.IntRange(1), default=DefectSetSize().test,
              show_default=True, help="Normal test images.")
@click.option("--defects", type=click.IntRange(1), default=DefectSetSize().defects,
              show_default=True, help=f"Defect images per kind ({', '.join(KINDS)}).")
@click.option("--jobs", type=click.IntRange(1), default=1, show_default=True,
              help="Runs, sweep trials and evaluations in parallel (1/K of the cores each).")
@OVERRIDES_OPTION
def main(seeds: int, out: str, recipe_names: tuple[str, ...], sweep_trials: int | None,
         train_images: int, val_images: int, test_images: int, defects: int, jobs: int,
         overrides: tuple[str, ...]) -> None:
    """Build the defect set, train and evaluate every recipe, write the report."""
    from vaereg.core.reliability.run_main import clean_exit
    from vaereg.core.common.writable import writable_folder

    with clean_exit():
        out_dir = writable_folder(out, "--out")  # exit 2 before any work
        size = DefectSetSize(train_images, val_images, test_images, defects)
        data_root = defect_set(out_dir / "data", size)
        paths = write_recipes(out_dir / "recipes", data_root,
                              EPOCHS * math.ceil(train_images / BATCH))
        names = [name for name in RECIPES if not recipe_names or name in recipe_names]
        if SWEPT in names:
            paths[SWEPT] = out_dir / "recipes" / f"{SWEPT}.toml"
            paths[SWEPT].write_text(swept_recipe(paths["sweep_base"], sweep_trials, overrides,
                                                 out_dir / "sweep", jobs))
        folders = compared_and_evaluated([paths[name] for name in names], seeds, overrides,
                                         out_dir / "runs", jobs)
        write_report(out_dir / "localization", folders, report(folders, size, seeds, overrides))


if __name__ == "__main__":
    main()
