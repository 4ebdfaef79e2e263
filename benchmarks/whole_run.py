"""Whole-process cost of `vaereg run` against a plain PyTorch script doing the same work.

Two cases from the core's cost goals, each as two processes started from the shell:

1. small data: 1,000 training images, 40 epochs (8 steps each), validated every epoch on
   5,000 images — goal <= 1.15x the plain script;
2. full data: 55,000 training images, 3 epochs — goal <= 1.10x.

The plain script (``plain_script.py`` beside this file) loads the same Fashion-MNIST
tensors, builds the same MLP VAE (784-512-256-16, Bernoulli, batch 128, Adam 1e-3),
trains, validates every epoch, evaluates train/val/test at the end and saves the weights
once. vaereg runs `recipes/vanilla.toml` with its default cadences (per-step TensorBoard
scalars, checkpoints and pictures at most every 30 s and at the end, best.pt, the final
evaluation). Runs alternate A B B A; medians and fastest runs are printed, with the
ratio of each, and the ratio of median CPU time (user + system): work, which other jobs
on a shared machine move less than they move wall-clock time. ``--threads N`` runs both
with N torch threads (on a loaded machine 1 avoids threads waiting on each other; the
default is torch's). Absolute times on these machines mean little; the ratio is the figure.

    python benchmarks/whole_run.py [--repeats 2] [--case small|full|both] [--threads N]
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RECIPE = HERE.parent / "recipes" / "vanilla.toml"
CASES = {"small": (1000, 40), "full": (0, 3)}


def timed(command: list[str], cwd: str, env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def commands(train_size: int, epochs: int, out: str) -> dict[str, list[str]]:
    return {
        "vaereg": [sys.executable, "-m", "vaereg", "run", str(RECIPE), "--quiet",
                   "--set", f"data.train_size={train_size}", "--set", f"run.epochs={epochs}",
                   "--set", "run.device='cpu'", "--set", f"run.out_dir='{out}'"],
        "plain": [sys.executable, str(HERE / "plain_script.py"), "--train-size",
                  str(train_size), "--epochs", str(epochs), "--out", out],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2, help="ABBA rounds")
    parser.add_argument("--case", choices=("small", "full", "both"), default="both")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's)")
    args = parser.parse_args()
    env = dict(os.environ)
    if args.threads:
        env.update(OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for case in (("small", "full") if args.case == "both" else (args.case,)):
        train_size, epochs = CASES[case]
        times: dict[str, list[float]] = {"vaereg": [], "plain": []}
        cpu: dict[str, list[float]] = {"vaereg": [], "plain": []}
        with tempfile.TemporaryDirectory() as out:
            runs = commands(train_size, epochs, out)
            for _ in range(args.repeats):
                for name in ("vaereg", "plain", "plain", "vaereg"):
                    wall, seconds = timed(runs[name], out, env)
                    times[name].append(wall)
                    cpu[name].append(seconds)
        med = {k: statistics.median(v) for k, v in times.items()}
        low = {k: min(v) for k, v in times.items()}
        work = {k: statistics.median(v) for k, v in cpu.items()}
        print(f"{case}: train_size={train_size or 55000} epochs={epochs}  "
              f"vaereg median {med['vaereg']:.1f} s, plain {med['plain']:.1f} s, "
              f"ratio {med['vaereg'] / med['plain']:.3f}  |  fastest {low['vaereg']:.1f} s "
              f"vs {low['plain']:.1f} s, ratio {low['vaereg'] / low['plain']:.3f}  |  CPU "
              f"median {work['vaereg']:.1f} s vs {work['plain']:.1f} s, ratio "
              f"{work['vaereg'] / work['plain']:.3f}  ({2 * args.repeats} runs each, load "
              f"average now {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
