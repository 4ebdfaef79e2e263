"""Whole evaluations of the K-sample importance-weighted bound over the Fashion-MNIST test
set: `vaereg eval RUN --iw-samples K --metrics iwae` against `plain_iwae.py` (beside this
file: no vaereg code, PyTorch's BCE, the same weights), alternated whole processes.

The run is a vanilla MLP VAE (784-512-256-16, Bernoulli) trained briefly here (`--run`
takes an existing one of that architecture instead); the weights change the bound, not
its cost. Each round starts the two processes A B B A; printed per process: wall-clock
and CPU seconds (user + system, which other jobs on a shared machine move less), the
seconds of the computation alone (eval.json's ``seconds``; the plain script's own timer)
and the bound (each draws its own z: the figures differ by Monte Carlo noise); then the
median of each and vaereg's ratio to the plain script. ``--threads N`` sets both
processes' torch threads (default: torch's).

    python benchmarks/iwae_cost.py [--k 1000] [--repeats 1] [--run RUN_DIR] [--threads N]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
RECIPE = HERE.parent / "recipes" / "vanilla.toml"


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall-clock and CPU seconds of one process, and what it printed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), done.stdout


def train(out: str, env: dict[str, str]) -> Path:
    """A briefly trained vanilla run in ``out``: its folder."""
    subprocess.run([sys.executable, "-m", "vaereg", "run", str(RECIPE), "--quiet",
                    "--set", "data.train_size=2000", "--set", "run.epochs=1",
                    "--set", "run.device='cpu'", "--set", f"run.out_dir='{out}'"],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    return next(Path(out).glob("vanilla/version_*"))


def vaereg_figures(run: Path, stdout: str) -> tuple[float, float]:
    """(bound, seconds of the evaluation) of a `vaereg eval` just finished: eval.json's."""
    record = json.loads((run / "eval" / "best-test-none" / "eval.json").read_text())
    return record["metrics"]["test/iwae_nll"], record["seconds"]


def plain_figures(run: Path, stdout: str) -> tuple[float, float]:
    """(bound, seconds of the computation) that `plain_iwae.py` printed."""
    found = re.search(r"iwae_nll ([\d.]+) .*, ([\d.]+) s", stdout)
    return float(found[1]), float(found[2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=1000, help="importance samples per image")
    parser.add_argument("--repeats", type=int, default=1, help="ABBA rounds")
    parser.add_argument("--run", type=Path, help="an MLP vanilla run (default: train one)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's)")
    args = parser.parse_args()
    env = dict(os.environ)
    if args.threads:
        env.update(OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    with tempfile.TemporaryDirectory() as out:
        run = args.run or train(out, env)
        print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
              f"K={args.k}, run {run}", flush=True)
        batch_size = tomllib.loads((run / "recipe.toml").read_text())["data"]["batch_size"]
        commands = {
            "vaereg": ([sys.executable, "-m", "vaereg", "eval", str(run), "--device", "cpu",
                        "--metrics", "iwae", "--iw-samples", str(args.k)], vaereg_figures),
            "plain": ([sys.executable, str(HERE / "plain_iwae.py"),
                       str(run / "checkpoints" / "best.pt"), "--k", str(args.k),
                       "--batch-size", str(batch_size)], plain_figures),
        }
        rows: dict[str, list[tuple[float, ...]]] = {"vaereg": [], "plain": []}
        for _ in range(args.repeats):
            for name in ("vaereg", "plain", "plain", "vaereg"):
                command, figures = commands[name]
                wall, cpu, stdout = timed(command, env)
                bound, inner = figures(run, stdout)
                rows[name].append((wall, cpu, inner))
                print(f"{name:6s} wall {wall:7.1f} s  CPU {cpu:7.1f} s  evaluation {inner:7.1f} s"
                      f"  iwae_nll {bound:.4f}", flush=True)
    med = {name: [statistics.median(column) for column in zip(*values)]
           for name, values in rows.items()}
    ratios = [v / p for v, p in zip(med["vaereg"], med["plain"])]
    print(f"medians of {2 * args.repeats} runs each, vaereg / plain: whole process "
          f"{med['vaereg'][0]:.1f} / {med['plain'][0]:.1f} s = {ratios[0]:.3f}; CPU "
          f"{med['vaereg'][1]:.1f} / {med['plain'][1]:.1f} s = {ratios[1]:.3f}; evaluation "
          f"{med['vaereg'][2]:.1f} / {med['plain'][2]:.1f} s = {ratios[2]:.3f} (load average "
          f"now {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
