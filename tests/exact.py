"""Bit-exact comparison of two run folders: final checkpoint (weights, optimizer, RNG
streams, data order, plugin state, history), metrics.json and TensorBoard scalars."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from vaereg.core.run_folder.checkpoint import load_checkpoint

IGNORED_METRICS = ("train_seconds", "eval_seconds")  # wall-clock time differs between any two runs


def assert_same(a: Any, b: Any, where: str = "") -> None:
    """Recursive equality; tensors must match in dtype, shape and every bit."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b), \
            f"{where} differs"
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), f"{where}: keys differ"
        for key in a:
            assert_same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), f"{where}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def tensorboard_scalars(run_dir: Path, unique_epochs: bool = False
                        ) -> dict[str, list[tuple[int, float]]]:
    """Every scalar series as TensorBoard shows it (all event files, purges applied);
    ``unique_epochs``: each (epoch, value) point of the ``epoch/`` series once. Of the
    ``final/`` series only the last point counts: a run finished, then extended by a
    resume, also shows the figures it had at its first end."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    events.Reload()
    series = {tag: [(e.step, e.value) for e in events.Scalars(tag)]
              for tag in events.Tags()["scalars"]}
    series.update({tag: points[-1:] for tag, points in series.items()
                   if tag.startswith("final/")})
    return {tag: list(dict.fromkeys(points)) if unique_epochs and tag.startswith("epoch/")
            else points for tag, points in series.items()}


def assert_same_run(a: Path, b: Path, ignore_plugins: tuple[str, ...] = (),
                    repeated_epoch_points: bool = False) -> None:
    """Runs ``a`` and ``b`` ended in the same state and logged the same numbers.

    ``ignore_plugins``: recipe plugins whose options may differ (e.g. a signal sender).
    Which plugins were passed in code (a hook recorder on one side only) is not compared.
    ``repeated_epoch_points``: an epoch point logged twice with the same value counts once
    (per-step series must match exactly all the same).
    """
    state_a, state_b = (load_checkpoint(p / "checkpoints" / "last.pt") for p in (a, b))
    for state in (state_a, state_b):
        state["recipe"]["run"].pop("out_dir")
        state.pop("extra_plugins")
        state.pop("run")  # each run folder's own identity
        for name in ignore_plugins:
            state["recipe"]["plugins"].pop(name)
    assert_same(state_a, state_b, "last.pt")
    metrics_a, metrics_b = (json.loads((p / "metrics.json").read_text()) for p in (a, b))
    for metrics in (metrics_a, metrics_b):
        for name in IGNORED_METRICS:
            metrics.pop(name)
        for name in ignore_plugins:
            metrics["plugins"].pop(name)
    assert metrics_a == metrics_b
    series_a = tensorboard_scalars(a, repeated_epoch_points)
    series_b = tensorboard_scalars(b, repeated_epoch_points)
    differing = {tag: (series_a.get(tag), series_b.get(tag))
                 for tag in set(series_a) | set(series_b)
                 if series_a.get(tag) != series_b.get(tag)}
    assert not differing, f"TensorBoard series that differ (a, b): {differing}"
