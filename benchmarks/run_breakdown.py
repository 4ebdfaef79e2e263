"""Where a whole `vaereg run` spends its seconds, against `plain_script.py` doing the same
job: the two processes of `whole_run.py`'s full case (55,000 training images, 3 epochs,
`recipes/vanilla.toml` defaults), each once under cProfile with CPU time as the clock
(other jobs on a shared machine move it less than wall-clock time).

Printed per phase, CPU seconds of vaereg and of the plain script (cumulative time of the
functions that do it; "-" where the plain script has no such phase): start-up (imports,
everything outside the phases below), data, training steps, validation, the final
train/val/test evaluation, pictures (weight histograms and image grids), checkpoints,
TensorBoard scalars (also those the final evaluation writes) and the run record. Training
steps are forward, backward and optimizer step; batching, progress and hooks around them
fall in "the rest".

    python benchmarks/run_breakdown.py [--threads 1] [--epochs 3]
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import runpy
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RECIPE = HERE.parent / "recipes" / "vanilla.toml"
VAL_IMAGES, FINAL_IMAGES = 5000, 55000 + 5000 + 10000
#: phase -> (file name ending, function name[, sign]) whose cumulative times add up to it
PHASES = {
    "vaereg": {
        "data": [("loop/trainer.py", "splits")],
        "training steps": [("loop/trainer.py", "_train_batch"),
                           ("builtin/tensorboard_scalars.py", "on_batch_end", -1)],
        "validation": [("loop/trainer.py", "validate")],
        "final evaluation": [("loop/trainer.py", "evaluate_splits"),
                             ("builtin/best_checkpoint.py", "on_test_end")],
        "pictures": [("builtin/epoch_pictures.py", "on_train_epoch_end")],
        "checkpoints": [("loop/trainer.py", "save")],
        "TensorBoard scalars": [("builtin/tensorboard_scalars.py", "on_batch_end"),
                                ("builtin/tensorboard_scalars.py", "on_train_epoch_end"),
                                ("builtin/tensorboard_scalars.py", "on_test_end"),
                                ("run_folder/tensorboard_log.py", "__init__"),
                                ("run_folder/tensorboard_log.py", "close")],
        "run record (data hashes, metrics.json)": [("builtin/run_record.py", "on_train_start"),
                                                   ("builtin/run_record.py", "on_train_end"),
                                                   ("builtin/run_record.py", "on_test_end")],
    },
    "plain": {
        "data": [("torchvision/datasets/mnist.py", "__init__")],
        "training steps": [("plain_script.py", "forward"), ("torch/_tensor.py", "backward"),
                           ("torch/optim/adam.py", "step"),
                           ("torch/optim/optimizer.py", "zero_grad")],
        "checkpoints": [("torch/serialization.py", "save")],
    },
}


def child(name: str, epochs: int, out: str, stats: str) -> None:
    """Run one program in this process under cProfile (CPU clock); dump its stats."""
    started = time.process_time()
    profile = cProfile.Profile(timer=time.process_time)
    if name == "vaereg":
        sys.argv = ["vaereg", "run", str(RECIPE), "--quiet", "--set", f"run.epochs={epochs}",
                    "--set", "run.device='cpu'", "--set", f"run.out_dir='{out}'"]
        target = lambda: runpy.run_module("vaereg", run_name="__main__")  # noqa: E731
    else:
        sys.argv = [str(HERE / "plain_script.py"), "--epochs", str(epochs), "--out", out]
        target = lambda: runpy.run_path(str(HERE / "plain_script.py"), run_name="__main__")  # noqa: E731
    try:
        profile.runcall(target)
    except SystemExit:
        pass
    profile.dump_stats(stats)
    Path(stats + ".total").write_text(str(time.process_time() - started))


def phase_seconds(name: str, stats_path: str, epochs: int) -> dict[str, float]:
    """CPU seconds per phase of one profiled process. The plain script's ``evaluate``
    serves validation (5,000 images per epoch) and the final evaluation (55,000 + 5,000 +
    10,000): its time is shared out by images."""
    stats = pstats.Stats(stats_path).stats  # (file, line, function) -> (.., .., .., cumulative, ..)

    def cumulative(file_end: str, function: str, sign: int = 1) -> float:
        return sign * sum(row[3] for (file, _, fn), row in stats.items()
                          if fn == function and file.endswith(file_end))
    seconds = {phase: sum(cumulative(*where) for where in places)
               for phase, places in PHASES[name].items()}
    if name == "plain":
        evaluate = cumulative("plain_script.py", "evaluate")
        validated = epochs * VAL_IMAGES
        seconds["validation"] = evaluate * validated / (validated + FINAL_IMAGES)
        seconds["final evaluation"] = evaluate - seconds["validation"]
    total = float(Path(stats_path + ".total").read_text())
    seconds["start-up and the rest"] = total - sum(seconds.values())
    seconds["total"] = total
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (0: torch's)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--child", choices=("vaereg", "plain"), help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--stats", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.epochs, args.out, args.stats)
    env = dict(os.environ)
    if args.threads:
        env.update(OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores, "
          f"{args.threads or 'default'} torch threads, {args.epochs} epochs", flush=True)
    figures = {}
    with tempfile.TemporaryDirectory() as out:
        for name in ("vaereg", "plain"):
            stats = str(Path(out) / f"{name}.prof")
            subprocess.run([sys.executable, __file__, "--child", name, "--epochs",
                            str(args.epochs), "--out", out, "--stats", stats],
                           env=env, check=True, cwd=out, stdout=subprocess.DEVNULL)
            figures[name] = phase_seconds(name, stats, args.epochs)
    print(f"{'phase (CPU seconds)':42s} {'vaereg':>8s} {'plain':>8s} {'extra':>8s}")
    for phase in [*PHASES["vaereg"], "start-up and the rest", "total"]:
        mine, plain = figures["vaereg"][phase], figures["plain"].get(phase)
        print(f"{phase:42s} {mine:8.2f} " + ("       -" if plain is None else f"{plain:8.2f}")
              + f" {mine - (plain or 0.0):+8.2f}")
    print(f"load average now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
