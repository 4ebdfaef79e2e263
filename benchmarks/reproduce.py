"""Published VAE likelihoods reproduced with vaereg: the "published vs vaereg" table.

Each row is a published test negative log-likelihood and a recipe in
``recipes/reproduce/`` that expresses the paper's setting with vaereg's models and
plugins (what could not be expressed is said in the recipe and in README's table). The
recipe is trained with ``--seeds`` seeds and its best-validation checkpoint (the one the
papers report) evaluated with IWAE, with the paper's K, on the test images; the row
gives vaereg's mean with a 95% t-interval over seeds and its difference from the
published figure. A row agrees when vaereg's mean lies within the published mean +- its
published deviation plus 1 nat; otherwise its last cell starts ``not reproduced:``.

Built on ``vaereg.compare`` (one compare folder per row under ``--out``): the same
command again reuses finished runs and evaluations and resumes interrupted runs, so the
protocol can be stopped and finished later. ``--set`` shrinks it for a smoke test; rows
computed with overrides say so.

    python benchmarks/reproduce.py [--seeds 3] [--iw-samples K] [--test-images N]
        [--jobs 1] [--out runs/reproduce] [--row NAME]... [--set KEY=VALUE]...
"""
from __future__ import annotations

import math
from pathlib import Path

import attrs
import click

RECIPES = Path(__file__).resolve().parents[1] / "recipes" / "reproduce"
TOLERANCE = 1.0  # nats beyond the published interval that still count as agreement
FIGURE = "best/test/iwae_nll"  # the best-validation checkpoint, as the papers report


@attrs.frozen
class Row:
    """A published figure and the recipe that reproduces its setting."""

    name: str  # the recipe's file stem, and the row's folder under --out
    paper: str
    setting: str
    published: float  # test NLL, nats
    deviation: float  # the published +- (standard deviation over the paper's runs)
    iw_samples: int  # the paper's importance samples K

    @property
    def recipe(self) -> Path:
        return RECIPES / f"{self.name}.toml"


ROWS = (
    Row("exemplar_vae_gaussian",
        paper="Norouzi, Fleet & Norouzi 2020, Exemplar VAE (arXiv 2004.04795), "
              "'VAE w/ Gaussian prior', Fashion MNIST",
        setting="ReLU MLP 784-300-300 (theirs: gated layers), z 40, N(0, I) prior, "
                "Bernoulli decoder, dynamic binarization; Adam (theirs: on normalized "
                "gradients) lr 5e-4, batch 100; KL warm-up 100 epochs; early stopping, "
                "patience 50 epochs (at most 2,000); 50,000 train / 10,000 validation",
        published=228.70, deviation=0.15, iw_samples=5000),
    Row("exemplar_vae_gaussian_gated",
        paper="Norouzi, Fleet & Norouzi 2020, Exemplar VAE (arXiv 2004.04795), "
              "'VAE w/ Gaussian prior', Fashion MNIST",
        setting="their network: gated MLP 784-300-300, He initialization, log-variance "
                "clipped to [-6, 2], z 40, N(0, I) prior, Bernoulli decoder, dynamic "
                "binarization; their optimizer: Adam on normalized gradients, lr 5e-4, "
                "batch 100; KL warm-up 100 epochs; early stopping, patience 50 epochs (at "
                "most 2,000); 50,000 train / 10,000 validation",
        published=228.70, deviation=0.15, iw_samples=5000),
)


def verdict(row: Row, mean: float) -> str:
    """Agreement within the published interval plus ``TOLERANCE`` nats, or why not."""
    allowed = row.deviation + TOLERANCE
    difference = mean - row.published
    if abs(difference) <= allowed:
        return f"reproduced: within {row.deviation:.2f} + {TOLERANCE:.0f} nats"
    return (f"not reproduced: {abs(difference):.2f} nats {'above' if difference > 0 else 'below'}"
            f" the published figure, beyond {row.deviation:.2f} + {TOLERANCE:.0f}")


def cells(row: Row, figure: dict, seeds: int, iw_samples: int, test_images: int | None,
          overrides: tuple[str, ...]) -> list[str]:
    """The table cells of ``row`` from compare's summary of its figure."""
    mean, low, high = figure["mean"], figure["low"], figure["high"]
    interval = "" if math.isnan(low) else f" [{low:.2f}, {high:.2f}]"
    setting = f"{row.setting}; IWAE K = {row.iw_samples:,}"
    if overrides or iw_samples != row.iw_samples or test_images is not None:
        setting += (f" (shrunk: K = {iw_samples:,} on {test_images or 'all'} test images"
                    + "".join(f", {item}" for item in overrides) + ")")
    return [row.paper, setting, f"{row.published:.2f} ± {row.deviation:.2f}",
            f"{mean:.2f}{interval} ({seeds} seeds)", f"{mean - row.published:+.2f}",
            verdict(row, mean)]


HEAD = ("paper", "setting", "published test NLL", "vaereg test NLL, 95% CI", "difference",
        "agreement")


def table(rows: list[list[str]]) -> str:
    def line(cells_: list[str] | tuple[str, ...]) -> str:
        return "| " + " | ".join(cells_) + " |"
    return "\n".join([line(HEAD), "| --- | --- | ---: | ---: | ---: | --- |", *map(line, rows)])


@click.command()
@click.option("--seeds", type=click.IntRange(1), default=3, show_default=True,
              help="Training seeds per row (run.seed 0..N-1).")
@click.option("--iw-samples", type=click.IntRange(1), default=None,
              help="Importance samples K of the IWAE bound [each row's paper's, 5,000].")
@click.option("--test-images", type=click.IntRange(1), default=None,
              help="Evaluate on the first N test images only [all 10,000].")
@click.option("--jobs", type=click.IntRange(1), default=1, show_default=True,
              help="Runs trained, then evaluated, in parallel (1/K of the cores each).")
@click.option("--out", type=click.Path(file_okay=False), default="runs/reproduce",
              show_default=True, help="Folder of the runs (one compare folder per row) and "
                                      "reproduce.md.")
@click.option("--row", "row_names", multiple=True, type=click.Choice([row.name for row in ROWS]),
              help="Only these rows (repeatable) [all].")
@click.option("--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE",
              help="Override a recipe key in every run, e.g. run.epochs=1 (a smoke test; "
                   "the row says it was shrunk). Repeatable.")
def main(seeds: int, iw_samples: int | None, test_images: int | None, jobs: int, out: str,
         row_names: tuple[str, ...], overrides: tuple[str, ...]) -> None:
    """Train and evaluate each row's recipe, print and write the table."""
    from vaereg.core.reliability.run_main import clean_exit
    from vaereg.core.common.writable import writable_folder

    with clean_exit():
        import vaereg

        out_dir = writable_folder(out, "--out")  # exit 2 before any training
        rows = []
        for row in ROWS:
            if row_names and row.name not in row_names:
                continue
            k = iw_samples or row.iw_samples
            click.echo(f"{row.name}: {seeds} seeds, IWAE K={k} on {test_images or 'all'} "
                       f"test images, in {out_dir / row.name}", err=True)
            summary = vaereg.compare([row.recipe], seeds=seeds, overrides=overrides,
                                     metrics=["iwae"], out=out_dir / row.name, jobs=jobs,
                                     iw_samples=k, test_images=test_images,
                                     echo=lambda line: click.echo(line, err=True))
            figure = summary["metrics"][FIGURE][row.name]
            rows.append(cells(row, figure, seeds, k, test_images, overrides))
        report = table(rows)
        (out_dir / "reproduce.md").write_text(report + "\n")
        click.echo(report)


if __name__ == "__main__":
    main()
