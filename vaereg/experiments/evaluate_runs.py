"""The evaluations behind ``vaereg compare --metrics`` (and ``--anomaly``, ``--ood``):
with ``--jobs K`` above 1, each run's missing figures are computed in a subprocess of
their own (``python -m vaereg.experiments.evaluate_runs``), K at a time, each with its
share of the CPU threads — one IWAE with K = 1000 on 10,000 test images keeps a core busy
for minutes, and a compare evaluates two checkpoints of every run. Each subprocess writes
only its run's cache and evaluation folders, so the runs never race; a Ctrl-C keeps every
figure already written."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

from vaereg.experiments.anomaly_figures import (AnomalyProtocol, fill_evaluations,
                                                missing_checkpoints)
from vaereg.experiments.parallel_processes import run_logged
from vaereg.experiments.run_figures import EvalSettings, fill_cache, missing_evaluations


def command_for(folder: Path, names: Sequence[str], settings: EvalSettings,
                protocol: AnomalyProtocol | None = None) -> list[str]:
    command = [sys.executable, "-m", "vaereg.experiments.evaluate_runs", str(folder), *names]
    for name in ("iw_samples", "test_images"):
        if getattr(settings, name) is not None:
            command += [f"--{name.replace('_', '-')}", str(getattr(settings, name))]
    return command + (protocol.arguments if protocol else [])


def evaluate(folder: Path, names: Sequence[str], settings: EvalSettings,
             protocol: AnomalyProtocol | None) -> None:
    """One run's missing figures: the metrics, then the anomaly protocol's evaluations."""
    fill_cache(folder, names, settings)
    if protocol is not None:
        fill_evaluations(folder, protocol)


def evaluate_missing(runs: Sequence[tuple[str, Path, Path]], names: Sequence[str],
                     settings: EvalSettings, jobs: int, echo,
                     protocol: AnomalyProtocol | None = None) -> list[str]:
    """Fill the cache (and, with ``protocol``, the anomaly evaluations) of each
    (description, run folder, log file) in ``runs``; returns the descriptions whose
    evaluation failed (the log says why). With one job, in this process."""
    todo = [run for run in runs if missing_evaluations(run[1], names, settings)
            or (protocol is not None and missing_checkpoints(run[1], protocol))]
    if not todo:
        return []
    echo(f"evaluating {len(todo)} of {len(runs)} runs"
         + (f", {jobs} at a time" if jobs > 1 else ""))
    if jobs == 1:
        for description, folder, _ in todo:
            evaluate(folder, names, settings, protocol)
            echo(f"  {description}: evaluated")
        return []

    codes = run_logged([(description, command_for(folder, names, settings, protocol), log)
                        for description, folder, log in todo],
                       jobs, echo, done="evaluated", failed="evaluation exit code")
    return [f"{description} (log: {log})" for (description, _, log), code in zip(todo, codes)
            if code != 0]

def main(argv: Sequence[str]) -> None:
    """``FOLDER [METRIC...] [--iw-samples K] [--test-images N] [--anomaly | --ood
    DATASET]``: one run's missing figures."""
    import argparse

    from vaereg.core.reliability.run_main import clean_exit

    parser = argparse.ArgumentParser(prog="python -m vaereg.experiments.evaluate_runs")
    parser.add_argument("folder", type=Path)
    parser.add_argument("names", nargs="*")
    parser.add_argument("--iw-samples", type=int)
    parser.add_argument("--test-images", type=int)
    parser.add_argument("--anomaly", action="store_true")
    parser.add_argument("--ood")
    args = parser.parse_args(argv)
    protocol = AnomalyProtocol(args.ood) if args.anomaly or args.ood else None
    with clean_exit():
        evaluate(args.folder, args.names, EvalSettings(args.iw_samples, args.test_images),
                 protocol)


if __name__ == "__main__":
    main(sys.argv[1:])
