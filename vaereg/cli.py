"""The ``vaereg`` command: parse arguments, call the library, print. No training logic."""
from __future__ import annotations

import functools
import json
import sys
import warnings
from pathlib import Path

import click

from vaereg.core.common.errors import VaeregError
from vaereg.core.common.writable import writable_folder


def user_errors(command):
    """Bad input is printed as a message with exit code 2, never a traceback; a plugin
    failure exits 1 with the plugin's traceback (see
    ``vaereg.core.reliability.run_main.clean_exit``)."""
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from vaereg.core.reliability.run_main import clean_exit

        with clean_exit():
            return command(*args, **kwargs)
    return wrapper


PACKAGE = Path(__file__).resolve().parent
python_warning_format = warnings.formatwarning


def warning_line(message, category, filename, lineno, line=None) -> str:
    """vaereg's own warnings as ``warning: <message>``: they are written for the person at
    the shell, to whom vaereg's file and line say nothing. Any other code's keep Python's
    form, which names where they come from."""
    if Path(filename).resolve().is_relative_to(PACKAGE):
        return f"warning: {message}\n"
    return python_warning_format(message, category, filename, lineno, line)


def disable_option(command):
    """``--disable-plugin NAME`` (repeatable), merged with ``$VAEREG_DISABLE_PLUGINS``."""
    return click.option(
        "--disable-plugin", "disabled", multiple=True, metavar="NAME",
        help="Leave out a recipe plugin (its recipe name or installed name) without "
             "uninstalling it. Repeatable; VAEREG_DISABLE_PLUGINS=a,b does the same.")(command)


def trainer_option(command):
    """``--trainer MODULE:CLASS``, the same as ``--set run.trainer=...``."""
    return click.option(
        "--trainer", metavar="MODULE:CLASS",
        help="Train with a vaereg.Trainer subclass, package.module:Class or "
             "path/to/file.py:Class (the same as --set run.trainer=...). A run records "
             "its trainer; --resume rebuilds it.")(command)


def load_with_disabled(recipe: str, overrides: tuple[str, ...], disabled: tuple[str, ...]):
    """The recipe without the disabled plugins; says on stderr what was left out."""
    from vaereg.core.recipes.disable import requested
    from vaereg.core.recipes.recipe import load_recipe

    asked = requested(disabled)
    loaded = load_recipe(recipe, overrides, disable=asked)
    if asked:
        click.echo(f"disabled plugins: {', '.join(loaded.disabled) or 'none'} "
                   f"(asked: {', '.join(asked)})", err=True)
    return loaded


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="vaereg")
def main() -> None:
    """Train variational autoencoders with regularization composed from plugins.

    \b
    Exit codes: 0 done; 1 a plugin failed (import, hook names, an exception in a
    hook; the message names it); 2 bad input (recipe, --set, data, checkpoint, run
    folder); 3 a non-finite loss or gradient stopped the run; 130/143 stopped by
    Ctrl-C/SIGTERM (the message says which checkpoint to resume from, if any).
    """
    from vaereg.core.scale.host_memory import reuse_freed_memory

    warnings.formatwarning = warning_line
    reuse_freed_memory()


class OverrideCommand(click.Command):
    """A command taking ``--set``: ``--set run.epochs 3`` (a space for '=') gets a message
    with the right form, not click's "unexpected extra argument" or "no such file: 3"."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        for flag, key, *value in zip(args, args[1:], args[2:] + [None]):
            if flag == "--set" and "=" not in key:
                shown = value[0] and not value[0].startswith("-") and not value[0].endswith(".toml")
                example = f"{key}={value[0] if shown else 'VALUE'}"
                raise click.UsageError(f"--set {key}: expected KEY.PATH=VALUE as one "
                                       f"argument, with '=' and no spaces around it: "
                                       f"--set {example}", ctx)
        return super().parse_args(ctx, args)


@main.command(cls=OverrideCommand)
@click.argument("recipe", type=click.Path(dir_okay=False), required=False)
@click.option("--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE",
              help="Override a recipe key; VALUE is a TOML literal. Repeatable.")
@click.option("--quiet", is_flag=True,
              help="No progress: no bar on a terminal, no per-epoch lines elsewhere.")
@click.option("--resume", "resume_dir", type=click.Path(file_okay=False), metavar="RUN_DIR",
              help="Continue the run in RUN_DIR from its last checkpoint, instead of "
                   "starting RECIPE; --set may raise run.epochs.")
@trainer_option
@disable_option
@click.option("--trace-hooks", is_flag=True,
              help="Print every hook call and the plugins that answered it (implies --quiet).")
@user_errors
def run(recipe: str | None, overrides: tuple[str, ...], quiet: bool, resume_dir: str | None,
        trainer: str | None, disabled: tuple[str, ...], trace_hooks: bool) -> None:
    """Train RECIPE, log to TensorBoard, checkpoint, report test metrics.

    Ctrl-C or SIGTERM checkpoints and exits with 130/143 and the command that resumes;
    a second Ctrl-C exits at once. Exit code 2: bad input; 3: non-finite loss.
    """
    from vaereg.core.run_folder.resume import load_run_recipe
    from vaereg.core.reliability.run_main import run_main

    if (recipe is None) == (resume_dir is None):
        raise VaeregError("give a RECIPE to start a run, or --resume RUN_DIR to continue "
                          "one (not both)")
    if resume_dir and disabled:
        raise VaeregError("--disable-plugin cannot change a run being resumed: a resumed run "
                          "keeps the plugins it started with")
    overrides += trainer_override(trainer)
    loaded = (load_run_recipe(resume_dir, overrides) if resume_dir
              else load_with_disabled(recipe, overrides, disabled))
    writable_folder(resume_dir or loaded.run.out_dir, "--resume" if resume_dir else "run.out_dir")
    trace = functools.partial(click.echo, err=True) if trace_hooks else None
    built = build_trainer(loaded, resume_dir)(loaded, quiet=quiet or trace_hooks,
                                              trace_hooks=trace)
    run_main(built, resume_dir, resume=resume_dir is not None)
    if resume_dir:
        echo_stale(resume_dir)


def trainer_override(trainer: str | None) -> tuple[str, ...]:
    """``--trainer X`` as ``--set run.trainer="X"`` (a file path made absolute)."""
    from vaereg.core.common.import_path import normalize

    return (f"run.trainer={json.dumps(normalize(trainer))}",) if trainer else ()


def build_trainer(loaded, resume_dir: str | None) -> type:
    """The class ``run.trainer`` names; for a resume, a class that cannot be imported
    here is refused with what to do (continuing with another class would change the run)."""
    from vaereg.core.loop.trainer_class import trainer_class

    try:
        return trainer_class(loaded)
    except VaeregError as error:
        if resume_dir is None:
            raise
        raise type(error)(f"{error}.\nThe run in {resume_dir} was trained by "
                          f"{loaded.run.trainer}; resuming it with another trainer would "
                          f"change the run. Make that class importable here and run the "
                          f"same command again, or resume from your own code: "
                          f"vaereg.run_main(YourTrainer(vaereg.load_recipe("
                          f"'{resume_dir}/recipe.toml')), run_dir='{resume_dir}', "
                          f"resume=True)") from error.__cause__


@main.command(cls=OverrideCommand)
@click.argument("recipe", type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE",
              help="Override a recipe key, as for 'run'.")
@trainer_option
@disable_option
@user_errors
def validate(recipe: str, overrides: tuple[str, ...], trainer: str | None,
             disabled: tuple[str, ...]) -> None:
    """Check RECIPE (and overrides) without training: its keys, its trainer class, and
    that its model can be built for its data's images."""
    from vaereg.core.recipes.model_fit import check_model_fits_data

    loaded = load_with_disabled(recipe, overrides + trainer_override(trainer), disabled)
    build_trainer(loaded, None)  # run.trainer imports, as run would need
    shape = "x".join(map(str, check_model_fits_data(loaded)))
    names = ", ".join(spec.name for spec in loaded.plugins) or "none"
    click.echo(f"{recipe}: valid (model {loaded.model.name}, data {loaded.data.name} "
               f"{shape}, plugins: {names})")


@main.command()
@click.argument("name", required=False)
@user_errors
def plugins(name: str | None) -> None:
    """List installed plugins, models and datasets, or show one's options.

    NAME is looked up among all three (a recipe's [plugins.NAME], [model] name = NAME,
    [data] name = NAME).
    """
    from vaereg.core.recipes.disable import ENV_VAR, requested
    from vaereg.core.common.errors import did_you_mean
    from vaereg.core.common.options import field_help
    from vaereg.core.recipes.registry import DATASETS, MODELS, PLUGINS

    kinds = ((PLUGINS, "plugins", "[plugins.NAME]"), (MODELS, "models", "[model] name"),
             (DATASETS, "datasets", "[data] name"))
    listings = [(registry, heading, where, registry.entries()) for registry, heading, where in kinds]
    if name is None:
        disabled = requested()
        for registry, heading, where, entries in listings:
            click.echo(f"{heading} ({where}):")
            for entry in entries.values():
                note = (f"  (disabled by {ENV_VAR})"
                        if registry is PLUGINS and entry.name in disabled else "")
                click.echo(f"{entry.name:<16} {entry.distribution} {entry.version}{note}")
        return
    matches = [(registry, entries[name]) for registry, _, _, entries in listings
               if name in entries]
    if not matches:
        known = [n for *_, entries in listings for n in entries]
        raise VaeregError(f"no plugin, model or dataset is called '{name}'"
                          + did_you_mean(name, known) + "; 'vaereg plugins' lists them")
    for registry, entry in matches:
        cls = registry.load(name)
        doc = cls.__doc__ or sys.modules[cls.__module__].__doc__ or "(no description)"
        click.echo(f"{name} ({registry.kind}, {entry.origin}): {doc.strip().splitlines()[0]}")
        if getattr(cls, "requires", ()):
            click.echo(f"  requires of the model: {', '.join(cls.requires)}")
        if registry is MODELS:
            click.echo(f"  capabilities: {', '.join(sorted(getattr(cls, 'capabilities', ())))}"
                       f"; loss terms: {', '.join(getattr(cls, 'loss_terms', ()))}"
                       f"; ELBO terms: {', '.join(getattr(cls, 'elbo_terms', ())) or 'none'}")
        for option_name, type_text, default, help_text in field_help(cls.Options):
            click.echo(f"  {option_name} = {default!r}  ({type_text})\n      {help_text}")


def run_dir_argument(command):
    """RUN_DIR, ``--checkpoint`` and ``--device``: the run folder, which of its weights to
    load and onto what; the command gets the loaded run as ``loaded`` (bad input in the
    loading or the command: exit 2, see :func:`user_errors`). What the command writes into
    a run folder tracked in MLflow is sent there too (``vaereg.tracking.run_outputs``)."""
    @user_errors
    @functools.wraps(command)
    def with_run(run_dir: str, checkpoint: str, device: str, **kwargs):
        from vaereg.evaluation.run_loading import load_run
        from vaereg.tracking.run_outputs import outputs_tracked

        loaded = load_run(run_dir, checkpoint, device)
        with outputs_tracked(loaded.run_dir, loaded.recipe.to_table()):
            return command(loaded=loaded, **kwargs)

    with_run = click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]),
                            default="auto", show_default=True,
                            help="Where to load the model and data (auto: CUDA when "
                                 "available).")(with_run)
    with_run = click.option("--checkpoint", type=click.Choice(["best", "last"]),
                            default="best", show_default=True,
                            help="best.pt (best validation loss) or last.pt (also an "
                                 "interrupted run's)")(with_run)
    return click.argument("run_dir", type=click.Path())(with_run)


@main.command("eval")
@run_dir_argument
@click.option("--split", type=click.Choice(["test", "val", "train"]), default="test",
              show_default=True)
@click.option("--iw-samples", type=int, metavar="K",
              help="Also compute the K-sample importance-weighted bound (iwae_nll).")
@click.option("--metrics", "metric_names", metavar="A,B,...",
              help="Registered metrics to run (default: elbo, reconstruction, active_units, "
                   "mutual_information; elbo, reconstruction, complexity, combined, "
                   "latent_mahalanobis, latent_knn, latent_class_mahalanobis, "
                   "latent_class_energy, feature_knn, feature_cosine_knn, "
                   "feature_class_energy, combined_latent, mean_mse_latent_knn, "
                   "mean_mse_latent_knn_class_energy, mean_mse_feature_knn_class_energy, "
                   "mean_elbo_complexity_feature_knn, mean_elbo_latent_knn_feature_cosine_knn, "
                   "mean_mse_feature_knn_feature_cosine_knn "
                   "with --ood/--anomaly; defaults the model "
                   "cannot serve, or that need class labels the data lacks, are skipped, named "
                   "ones refused).")
@click.option("--batch-size", type=click.IntRange(1),
              help="Images per pass [the run's data.batch_size: then elbo gives the figures "
                   "of metrics.json for the same weights].")
@click.option("--ood", metavar="DATASET",
              help="Anomaly detection: the run's test split against DATASET's test split.")
@click.option("--set", "ood_options", multiple=True, metavar="KEY=VALUE",
              help="An option of the --ood dataset (TOML literal). Repeatable.")
@click.option("--anomaly", is_flag=True,
              help="Anomaly detection: the defects of an MVTec-layout folder (with maps and "
                   "localization figures where it has masks), else the test images of "
                   "classes outside the run's data.classes.")
@click.option("--projector-points", type=click.IntRange(0), default=2000, show_default=True,
              metavar="N", help="Test posterior means written for TensorBoard's embedding "
                                "projector (the first N; 0 = none).")
def eval_(loaded, split: str, iw_samples: int | None, metric_names: str | None,
          batch_size: int | None, ood: str | None, ood_options: tuple[str, ...], anomaly: bool,
          projector_points: int) -> None:
    """Evaluate a run: eval.json, scores.csv, latent_space.png (and roc.png; maps.npz and
    heat maps for labelled defects) in RUN_DIR/eval/<checkpoint>-<split>-<protocol>/, the
    figures in TensorBoard's hparams view and the test posterior means in its embedding
    projector."""
    from vaereg.evaluation.eval_command import evaluate_and_save

    names = [name.strip() for name in metric_names.split(",")] if metric_names else None
    evaluation, paths = evaluate_and_save(
        loaded, split=split, metrics=names, iw_samples=iw_samples, batch_size=batch_size,
        ood=ood, ood_options=ood_options, anomaly=anomaly, projector_points=projector_points)
    kind = "" if evaluation.is_log_likelihood else ", a loss: not a log-likelihood"
    protocol = split if evaluation.is_anomaly is None else evaluation.protocol
    anomalies = ("" if evaluation.is_anomaly is None
                 else f" ({int(evaluation.is_anomaly.sum())} anomalies)")
    click.echo(f"{protocol}: {len(evaluation.index)} images{anomalies}, {evaluation.likelihood} "
               f"likelihood, binarization {evaluation.binarization}{kind}")
    for name, value in evaluation.summary.items():
        low_high = evaluation.intervals.get(name)
        interval = f" [{low_high[0]:.4f}, {low_high[1]:.4f}]" if low_high else ""
        click.echo(f"  {name}: {value:.4f}{interval}")
    for name, reason in evaluation.skipped.items():
        click.echo(f"  skipped {name}: {reason}")
    click.echo(f"wrote {', '.join(str(path) for path in paths.values())}")
    echo_stale(loaded.run_dir)


def echo_stale(run_dir) -> None:
    """Mark the run's evaluations of weights a checkpoint no longer holds, and name them."""
    from vaereg.evaluation.stale_evaluations import STALE_FILE, mark_stale

    for folder, why in mark_stale(run_dir).items():
        click.echo(f"stale: {folder} ({why}; marked in {STALE_FILE}; evaluate again to "
                   f"replace it)", err=True)


@main.command()
@run_dir_argument
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=0.05, show_default=True,
              help="Flag p <= alpha: at most this false-positive rate on normal images.")
@click.option("--fdr", is_flag=True,
              help="Flag by Benjamini-Hochberg: false-discovery rate alpha over the batch.")
@click.option("--out", type=click.Path(file_okay=False),
              help="Folder for scores.csv, maps.npz, heat_maps/ [RUN_DIR/scored/<checkpoint>-<k>]")
@click.option("--batch-size", type=click.IntRange(1), default=500, show_default=True)
@click.option("--onnx", type=click.Path(dir_okay=False), metavar="FILE",
              help="Score with the run's scorer exported by 'vaereg export' (onnxruntime), "
                   "against the calibration it carries; scores its graph cannot hold are "
                   "left out, with a warning.")
@click.option("--maps", metavar="A,B,...",
              help="The maps to compute, with their scores, or 'all' [the maps that come with "
                   "the forward pass: nll, residual, hyperintensity, intensity, "
                   "intensity_inverted, gaussian; gradient and combi cost a backward pass, "
                   "restoration ten].")
@click.option("--heat-maps/--no-heat-maps", default=True, show_default=True,
              help="A heat-map picture per image (drawing it takes longer than scoring it).")
def score(loaded, paths: tuple[str, ...], alpha: float, fdr: bool, out: str | None,
          batch_size: int, onnx: str | None, maps: str | None, heat_maps: bool) -> None:
    """Score image files or folders against the run's calibration on its validation
    images (computed and stored first where the checkpoint has none): scores at the
    posterior mean, conformal p-values, flags, maps and a heat map per image."""
    from vaereg.evaluation.score_command import score_paths

    result = score_paths(loaded, paths, alpha=alpha, fdr=fdr, out=out, batch_size=batch_size,
                         onnx=onnx, heat_maps=heat_maps, **({} if maps is None else
                                       {"maps": [name.strip() for name in maps.split(",")]}))
    rule = f"false-discovery rate {alpha}" if fdr else f"p <= {alpha}"
    click.echo(f"{result.images} images scored, {result.flagged} flagged ({rule}); "
               f"wrote {result.folder}")


@main.command()
@run_dir_argument
@click.option("--format", "format_", type=click.Choice(["onnx", "torchscript"]),
              default="onnx", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), metavar="FILE",
              help="The file [RUN_DIR/export/<checkpoint>.onnx or .pt]")
@click.option("--batch-size", type=click.IntRange(1), default=500, show_default=True,
              help="Images per pass of the calibration, where one is computed.")
def export(loaded, format_: str, out: str | None, batch_size: int) -> None:
    """Export the run's scorer: images [N, C, H, W] in [0, 1] to the scores and maps of
    'vaereg score' (at the posterior mean), one named output each, with the input it
    takes, the preprocessing and the calibration in its metadata."""
    from vaereg.evaluation.scorer_export import export_scorer

    result = export_scorer(loaded, format_, out, batch_size)
    by_reason: dict[str, list[str]] = {}
    for name, reason in result.left_out.items():
        by_reason.setdefault(reason, []).append(name)
    for reason, names in by_reason.items():
        click.echo(f"left out {', '.join(names)}: {reason}", err=True)
    click.echo(f"wrote {result.path} ({len(result.outputs)} outputs: "
               f"{', '.join(result.outputs)})")


def picture_path(out: str | None, loaded, name: str):
    """--out, or RUN_DIR/name, once its folder is known to be writable."""
    from pathlib import Path

    path = Path(out) if out else loaded.run_dir / name
    writable_folder(path.parent, "the folder of --out" if out else "RUN_DIR")
    return path


@main.command()
@run_dir_argument
@click.option("--n", type=click.IntRange(1), default=64, show_default=True)
@click.option("--class", "label", type=int, metavar="K",
              help="Sample class K (conditional models only).")
@click.option("--out", type=click.Path(dir_okay=False), help="PNG file [RUN_DIR/samples.png]")
@click.option("--seed", type=int, default=0, show_default=True)
def sample(loaded, n: int, label: int | None, out: str | None, seed: int) -> None:
    """A grid of N images sampled from the run's model."""
    from vaereg.evaluation.pictures import sample_grid

    click.echo(f"wrote {sample_grid(loaded, picture_path(out, loaded, 'samples.png'), n, label, seed)}")


@main.command()
@run_dir_argument
@click.option("--n", type=click.IntRange(1), default=32, show_default=True)
@click.option("--class", "classes", multiple=True, metavar="K",
              help="Only images of class K (a label, or a class name); repeatable: the "
                   "classes take turns.")
@click.option("--random", "at_random", is_flag=True,
              help="A random sample of the test split (seeded by --seed), not its first images.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", type=click.Path(dir_okay=False),
              help="PNG file [RUN_DIR/reconstructions.png]")
def reconstruct(loaded, n: int, classes: tuple[str, ...], at_random: bool, seed: int,
                out: str | None) -> None:
    """N test images (the first, or --random, or of --class K), each beside its
    reconstruction."""
    from vaereg.evaluation.pictures import reconstruction_grid

    path = picture_path(out, loaded, "reconstructions.png")
    labels = [int(k) if k.isdigit() else k for k in classes]
    click.echo(f"wrote {reconstruction_grid(loaded, path, n, labels, at_random, seed)}")


@main.command()
@run_dir_argument
@click.option("--from", "start", type=int, required=True, metavar="I",
              help="Position of the first image in the split.")
@click.option("--to", "end", type=int, required=True, metavar="J",
              help="Position of the last image in the split.")
@click.option("--steps", type=int, default=10, show_default=True,
              help="Images in the row, both ends included.")
@click.option("--split", type=click.Choice(["test", "val", "train"]), default="test",
              show_default=True)
@click.option("--class", "label", type=int, metavar="K",
              help="Decode with class K (conditional models; default: the class of --from).")
@click.option("--out", type=click.Path(dir_okay=False),
              help="PNG file [RUN_DIR/interpolation.png]")
def interpolate(loaded, start: int, end: int, steps: int, split: str, label: int | None,
                out: str | None) -> None:
    """Decodes along the line between the posterior means of images I and J."""
    from vaereg.evaluation.pictures import interpolation_grid

    path = picture_path(out, loaded, "interpolation.png")
    click.echo(f"wrote {interpolation_grid(loaded, path, start, end, steps, split, label)}")


@main.command(cls=OverrideCommand)
@click.argument("recipes", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--seeds", type=click.IntRange(1), default=3, show_default=True,
              help="Seeds 0..N-1 (run.seed), the same for every recipe.")
@click.option("--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE",
              help="Override a key of every recipe, as for 'run'. Repeatable.")
@click.option("--metrics", "metric_names", metavar="A,B,...",
              help="Registered metrics to evaluate on the test split, for the final model "
                   "and the best checkpoint (e.g. iwae,active_units), besides "
                   "test/neg_elbo and gap/neg_elbo of both (test/loss and gap/loss for a model "
                   "without an ELBO; from metrics.json).")
@click.option("--iw-samples", type=click.IntRange(1), metavar="K",
              help="Importance samples of the iwae metric [1000].")
@click.option("--test-images", type=click.IntRange(1), metavar="N",
              help="Evaluate --metrics on the first N test images only [all].")
@click.option("--anomaly", is_flag=True,
              help="Also each run's anomaly figures, as 'vaereg eval --anomaly' makes them "
                   "(image AUROC of every score; localization figures of every map where "
                   "the test defects have masks), for both checkpoints.")
@click.option("--ood", metavar="DATASET",
              help="Also the anomaly figures of the test split against DATASET's, as "
                   "'vaereg eval --ood DATASET' makes them, for both checkpoints.")
@click.option("--out", type=click.Path(file_okay=False), default="runs/compare",
              show_default=True, help="Folder of the runs and the reports.")
@click.option("--jobs", type=click.IntRange(1), default=1, show_default=True,
              help="Runs trained, then evaluated, in parallel (subprocesses with 1/K of the "
                   "cores each, unless OMP_NUM_THREADS is set).")
@user_errors
def compare(recipes: tuple[str, ...], seeds: int, overrides: tuple[str, ...],
            metric_names: str | None, iw_samples: int | None, test_images: int | None,
            anomaly: bool, ood: str | None, out: str, jobs: int) -> None:
    """Run each RECIPE with the same seeds and compare them: means with 95% intervals and
    each recipe's paired change against the first. Writes compare.md, compare.json and
    compare.png in --out; finished runs and evaluations are reused, interrupted runs
    resumed."""
    from pathlib import Path

    from vaereg.experiments.compare_report import REPORTS, markdown
    from vaereg.experiments.comparison import compare as compare_recipes

    names = [name.strip() for name in metric_names.split(",") if name.strip()] if metric_names else []
    summary = compare_recipes(recipes, seeds=seeds, overrides=overrides, metrics=names,
                              out=out, jobs=jobs, iw_samples=iw_samples, test_images=test_images,
                              anomaly=anomaly, ood=ood, echo=functools.partial(click.echo, err=True))
    click.echo(markdown(summary))
    click.echo(f"wrote {', '.join(str(Path(out) / name) for name in REPORTS)}")


@main.command(cls=OverrideCommand)
@click.argument("recipe", type=click.Path(dir_okay=False))
@click.option("--param", "param_specs", multiple=True, metavar="KEY=SPEC",
              help="A recipe key to search: a grid 1e-5,1e-4,1e-3, loguniform(lo, hi), "
                   "uniform(lo, hi), int(lo, hi) or choice(a, b, ...). Repeatable.")
@click.option("--trials", type=click.IntRange(1), metavar="N",
              help="The study's total trials, not N more [the grid's size when every "
                   "--param is a grid, else 20].")
@click.option("--objective", default="val/neg_elbo", show_default=True, metavar="METRIC",
              help="A metric of the run (the best validation value for the monitored one).")
@click.option("--maximize", is_flag=True, help="Maximize the objective (default: minimize).")
@click.option("--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE",
              help="Override a recipe key in every trial, as for 'run'. Repeatable.")
@click.option("--out", type=click.Path(file_okay=False), default="runs/sweep", show_default=True,
              help="The sweep folder: study.db, trials/, trials.csv, sweep.png, best.toml.")
@click.option("--storage", metavar="URL",
              help="An Optuna storage URL shared by machines (postgresql://...) "
                   "[sqlite:///OUT/study.db].")
@click.option("--workers", type=click.IntRange(1), default=1, show_default=True,
              help="Worker processes running trials on the same study (1/K of the cores each, "
                   "unless OMP_NUM_THREADS is set).")
@click.option("--prune-after", type=click.IntRange(0), default=5, show_default=True, metavar="N",
              help="Median pruning once N trials have finished.")
@click.option("--worker", "as_worker", is_flag=True, hidden=True)
@user_errors
def sweep(recipe: str, param_specs: tuple[str, ...], trials: int | None, objective: str,
          maximize: bool, overrides: tuple[str, ...], out: str, storage: str | None,
          workers: int, prune_after: int, as_worker: bool) -> None:
    """Search recipe keys with Optuna (grid sampler for grids, TPE otherwise), pruning
    bad trials from per-epoch reports. The same command again resumes the study."""
    from vaereg.experiments.sweep_runner import run_worker
    from vaereg.experiments.sweep_runner import sweep as run_sweep

    echo = functools.partial(click.echo, err=True)
    if as_worker:
        run_worker(recipe, param_specs, trials, objective, maximize, overrides, out, storage,
                   prune_after, echo)
        return
    result = run_sweep(recipe, param_specs, trials=trials, objective=objective,
                       maximize=maximize, overrides=overrides, out=out, storage=storage,
                       workers=workers, prune_after=prune_after, echo=echo)
    click.echo(f"{sum(result.states.values())} trials: "
               + ", ".join(f"{n} {state.lower()}" for state, n in result.states.items()))
    if result.best_number is not None:
        click.echo(f"best trial {result.best_number}: {objective} {result.best_value:.4f}  "
                   f"{json.dumps(result.best_params)}")
    click.echo(f"wrote {', '.join(str(path) for path in result.reports)}")
