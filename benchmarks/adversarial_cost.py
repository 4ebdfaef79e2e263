"""FGSM adversarial training time per epoch against clean training (goal: <= 2.2x).

Same recipe (recipes/vanilla.toml: MLP VAE, batch 128), data subset and seed for both;
runs alternate clean / adversarial so that machine noise hits both alike, and each figure
is the median over all measured epochs. Only the training part of an epoch is timed
(from ``on_train_epoch_start`` to ``on_validation_start``).

    python benchmarks/adversarial_cost.py [--repeats 3] [--epochs 2] [--train-size 10000]
"""
from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import click
import torch

from vaereg import Trainer, hookimpl, load_recipe

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "vanilla.toml"


class EpochTimer:
    """Seconds spent training in each epoch (validation excluded)."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self._start = 0.0

    @hookimpl
    def on_train_epoch_start(self) -> None:
        self._start = time.perf_counter()

    @hookimpl
    def on_validation_start(self) -> None:
        self.seconds.append(time.perf_counter() - self._start)


def epoch_seconds(overrides: list[str], out_dir: str) -> list[float]:
    timer = EpochTimer()
    recipe = load_recipe(RECIPE, overrides=overrides + [f"run.out_dir={out_dir!r}"])
    Trainer(recipe, quiet=True, extra_plugins=(("timer", timer),)).fit()
    return timer.seconds


@click.command()
@click.option("--repeats", default=3, show_default=True, help="runs of each kind, alternated")
@click.option("--epochs", default=2, show_default=True, help="epochs per run")
@click.option("--train-size", default=10000, show_default=True, help="training images")
@click.option("--ratio", default=1.0, show_default=True, help="fraction of each batch attacked")
@click.option("--device", default="cpu", show_default=True, type=click.Choice(["cpu", "cuda"]))
def main(repeats: int, epochs: int, train_size: int, ratio: float, device: str) -> None:
    common = [f"run.epochs={epochs}", f"run.device={device!r}", "logging.histograms=false",
              "run.progress=false", f"data.train_size={train_size}", "data.val_size=500"]
    adversarial = ["plugins.adversarial.attack='fgsm'", "plugins.adversarial.eps=0.1",
                   f"plugins.adversarial.ratio={ratio}", "plugins.adversarial.eval_size=1",
                   "plugins.adversarial.eval_steps=1"]
    times: dict[str, list[float]] = {"clean": [], "fgsm": []}
    with tempfile.TemporaryDirectory() as out_dir:
        for _ in range(repeats):
            times["clean"] += epoch_seconds(common, out_dir)
            times["fgsm"] += epoch_seconds(common + adversarial, out_dir)
    clean, fgsm = statistics.median(times["clean"]), statistics.median(times["fgsm"])
    print(f"device {device}, torch threads {torch.get_num_threads()}, {train_size} images, "
          f"{repeats} x {epochs} epochs each, FGSM ratio {ratio}")
    print(f"clean: {clean:.3f} s/epoch (median of {len(times['clean'])})")
    print(f"fgsm:  {fgsm:.3f} s/epoch (median of {len(times['fgsm'])})")
    print(f"ratio: {fgsm / clean:.2f}x (goal <= 2.2x)")


if __name__ == "__main__":
    main()
