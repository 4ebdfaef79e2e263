"""The small-data benchmark: does any regularizer beat the unregularized MLP VAE, and its
early stopping, when data are scarce?

Fashion-MNIST, 1,000 training images (``data.seed`` follows the seed: each seed draws its
own 1,000), 5,000 validation images, the official 10,000 test images, binarized
(``dynamic``); the MLP VAE of ``recipes/vanilla.toml``; the same budget of optimizer steps
for every recipe. Arms, each a small recipe extending one in ``recipes/``: unregularized,
dropout, dropout + weight decay, batch norm, a KL warm-up, and the best recipe a TPE sweep
of dropout + weight decay finds (on a seed the comparison does not use). Over the seeds:
test NLL (IWAE), the train-test gap (test - train negative ELBO) and active units, for the
final model and the best-validation checkpoint, with 95% t-intervals; then the verdict on
the goal: a regularized recipe halves the unregularized gap and improves its test NLL,
with intervals that do not overlap.

Built on ``vaereg.compare`` and ``vaereg.sweep``: the same command again reuses finished
runs, evaluations and trials, so it resumes after Ctrl-C. The knobs shrink the protocol
(the full one, IWAE K = 1000 on 10,000 images for 18 runs x 2 checkpoints, took about 2
hours on 2 cores with ``--jobs 2``, most of it in the evaluations):

    python benchmarks/small_data.py [--steps 3000] [--seeds 3] [--trials 20]
        [--prune-after 5] [--iw-samples 1000] [--test-images 10000] [--jobs 2] [--out DIR]
"""
from __future__ import annotations

import math
import os
import shutil
import textwrap
from pathlib import Path

import click

RECIPES = Path(__file__).resolve().parents[1] / "recipes"
TRAIN_IMAGES, VAL_IMAGES, BATCH = 1000, 5000, 128
SWEEP_SEED = 100  # the sweep picks its recipe on a seed (and data subset) of its own
BASELINE = "unregularized"
#: arm -> (recipe it extends, what it adds: TOML)
ARMS = {
    BASELINE: ("vanilla.toml", ""),
    "dropout": ("vanilla_dropout.toml", ""),
    "dropout_weight_decay": ("vanilla_dropout.toml",
                             '[plugins.weight_decay]\nvalue = 0.05\nmode = "decoupled"\n'),
    "batchnorm": ("vanilla.toml", '[plugins.batchnorm]\nposition = "before"\nmomentum = 0.1\n'),
    "kl_warmup": ("kl_warmup.toml", "[plugins.kl_schedule]\nramp_steps = {ramp}\n"),
}
SWEPT_ARM, BEST_ARM = "dropout_weight_decay", "sweep_best"
SEARCH = ("plugins.dropout.p=uniform(0.0, 0.5)",
          "plugins.weight_decay.value=loguniform(0.01, 3.0)")
#: table columns: (heading, figure name without the checkpoint prefix)
COLUMNS = (("test NLL (IWAE)", "test/iwae_nll"), ("train-test gap", "gap/neg_elbo"),
           ("active units", "test/active_units"))
CHECKPOINTS = (("final", ""), ("best-val", "best/"))


def protocol(steps: int) -> list[str]:
    """``--set`` overrides shared by every run: the data regime and the step budget."""
    per_epoch = math.ceil(TRAIN_IMAGES / BATCH)
    epochs = max(1, round(steps / per_epoch))
    return [f"data.train_size={TRAIN_IMAGES}", f"data.val_size={VAL_IMAGES}",
            f"data.batch_size={BATCH}", 'data.binarize="dynamic"', f"run.epochs={epochs}",
            f"run.validate_every_n_epochs={max(1, epochs // 30)}", "run.progress=false",
            "logging.images=false", "logging.histograms=false"]


def write_arms(folder: Path, steps: int) -> dict[str, Path]:
    """One recipe file per arm: ``extends`` a recipe of ``recipes/`` and adds its table."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for arm, (parent, extra) in ARMS.items():
        text = f'extends = "{RECIPES / parent}"\n\n' + extra.format(ramp=max(1, steps // 3))
        paths[arm] = folder / f"{arm}.toml"
        if not paths[arm].is_file() or paths[arm].read_text() != text:
            paths[arm].write_text(text)
    return paths


def cell(row: dict | None) -> str:
    if row is None:
        return "—"
    if math.isnan(row["low"]):
        return f"{row['mean']:.2f}"
    return f"{row['mean']:.2f} [{row['low']:.2f}, {row['high']:.2f}]"


def table(summary: dict) -> str:
    """Recipes down, each column's figure for the final model and the best checkpoint."""
    metrics = summary["metrics"]
    head = [f"{heading}, {checkpoint}" for checkpoint, _ in CHECKPOINTS for heading, _ in COLUMNS]
    lines = ["| recipe | " + " | ".join(head) + " |", "| --- |" + " ---: |" * len(head)]
    for label in summary["recipes"]:
        cells = [cell(metrics.get(prefix + name, {}).get(label))
                 for _, prefix in CHECKPOINTS for _, name in COLUMNS]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def meets_goal(summary: dict, label: str, prefix: str) -> tuple[bool, str]:
    """Whether ``label`` halves the baseline's gap and improves its test NLL, both with
    95% intervals that do not overlap the baseline's (same checkpoint for both)."""
    metrics = summary["metrics"]
    nll, gap = metrics[prefix + "test/iwae_nll"], metrics[prefix + "gap/neg_elbo"]
    ours, base = (nll[label], gap[label]), (nll[BASELINE], gap[BASELINE])
    halves = 0 < base[1]["mean"] and ours[1]["mean"] <= base[1]["mean"] / 2
    better = ours[0]["mean"] < base[0]["mean"]
    apart = ours[0]["high"] < base[0]["low"] and ours[1]["high"] < base[1]["low"]  # False on NaN
    why = (f"gap {ours[1]['mean']:.2f} vs {base[1]['mean']:.2f} ({'halved' if halves else 'not halved'}), "
           f"NLL {ours[0]['mean'] - base[0]['mean']:+.2f} nats, intervals "
           + ("apart" if apart else "overlap (or one seed)"))
    return halves and better and apart, why


def verdict(summary: dict) -> str:
    lines = []
    for checkpoint, prefix in CHECKPOINTS:
        for label in summary["recipes"][1:]:
            met, why = meets_goal(summary, label, prefix)
            lines.append(f"- {checkpoint}: {label} {'MEETS' if met else 'misses'} the goal: {why}")
    met = [line for line in lines if "MEETS" in line]
    lines.append(f"Verdict: {'goal met by ' + str(len(met)) + ' comparison(s)' if met else 'goal not met'}.")
    return "\n".join(lines)


@click.command()
@click.option("--steps", type=click.IntRange(1), default=3000, show_default=True,
              help="Optimizer steps of every run (epochs of 8 steps, rounded).")
@click.option("--seeds", type=click.IntRange(1), default=3, show_default=True)
@click.option("--trials", type=click.IntRange(1), default=20, show_default=True,
              help="TPE trials of the dropout + weight decay sweep.")
@click.option("--prune-after", type=click.IntRange(0), default=5, show_default=True,
              help="The sweep's median pruning starts once N trials have finished.")
@click.option("--iw-samples", type=click.IntRange(1), default=1000, show_default=True)
@click.option("--test-images", type=click.IntRange(1), default=None,
              help="IWAE and active units on the first N test images [all 10,000].")
@click.option("--jobs", type=click.IntRange(1), default=2, show_default=True,
              help="Runs (and sweep workers) in parallel, one torch thread each.")
@click.option("--out", type=click.Path(file_okay=False), default="runs/small_data",
              show_default=True)
def main(steps: int, seeds: int, trials: int, prune_after: int, iw_samples: int, test_images: int | None,
         jobs: int, out: str) -> None:
    # one torch thread per process (the runs, sweep workers and evaluations here): on a
    # shared machine more thrash
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import vaereg

    out_dir, overrides = Path(out), protocol(steps)
    arms = write_arms(out_dir / "recipes", steps)
    click.echo(f"protocol: {' '.join(overrides)}; seeds {seeds}; IWAE K={iw_samples} on "
               f"{test_images or 'all'} test images")
    found = vaereg.sweep(arms[SWEPT_ARM], SEARCH, trials=trials, out=out_dir / "sweep",
                         overrides=[*overrides, f"run.seed={SWEEP_SEED}"], workers=jobs,
                         prune_after=prune_after, echo=click.echo)
    if found.best_recipe is None:
        raise click.ClickException("no sweep trial completed; see the sweep folder's trials.csv")
    best = out_dir / "recipes" / f"{BEST_ARM}.toml"
    shutil.copyfile(found.best_recipe, best)
    click.echo(f"sweep: best of {trials} trials {found.best_params}, val/neg_elbo {found.best_value:.2f}")
    summary = vaereg.compare([*arms.values(), best], out=out_dir / "compare", seeds=seeds,
                             overrides=overrides, metrics=["iwae", "active_units"],
                             iw_samples=iw_samples, test_images=test_images, jobs=jobs,
                             echo=click.echo)
    report = textwrap.dedent(f"""\
        Steps {steps}, seeds {seeds}, IWAE K={iw_samples} on {test_images or 10000} test images;
        means with 95% t-intervals over seeds (nats; gap = test - train negative ELBO).

        {{table}}

        {{verdict}}
        """).format(table=table(summary), verdict=verdict(summary))
    (out_dir / "small_data.md").write_text(report)
    click.echo("\n" + report)


if __name__ == "__main__":
    main()
