"""Framework overhead: vaereg.Trainer (no plugins) vs a plain PyTorch loop.

1. One epoch of full Fashion-MNIST, MLP VAE 784-512-256-16, batch 128: time ratio
   (goal <= 1.05).
2. Tiny model 784-32-4, batch 32: framework overhead per step in microseconds over the
   plain loop (goal <= 100 us; PyTorch Lightning adds about 1,100 us).
3. Work instead of time, a figure noise cannot move: Python function calls (and C calls)
   per training step of the Trainer (no plugins) against the plain step, counted with
   ``sys.setprofile`` over the same batches.

Both loops see the same data tensors, model class, optimizer, batch size and seed; runs
alternate (ABBA), and the fastest of each is compared (timeit's convention: the least disturbed
run), with medians shown too, since these machines are noisy.

    python benchmarks/overhead.py [--repeats 3] [--tiny-steps 400] [--data-root DIR]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

import vaereg
from vaereg.testing import make_trainer


class EpochTimer:
    """Times the training part of each epoch: from epoch start to validation start."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    @vaereg.hookimpl
    def on_train_epoch_start(self) -> None:
        self.started = time.perf_counter()

    @vaereg.hookimpl
    def on_validation_start(self) -> None:
        self.seconds.append(time.perf_counter() - self.started)


def recipe(hidden, latent, batch_size, train_size, root):
    return {
        "run": {"name": "bench", "epochs": 1, "device": "cpu", "progress": False},
        "logging": {"histograms": False},
        "data": {"name": "fashion_mnist", "batch_size": batch_size, "train_size": train_size,
                 "val_size": 5000, "root": root},
        "model": {"name": "vanilla", "hidden_dims": hidden, "latent_dim": latent},
        "optimizer": {"name": "adam", "lr": 1e-3},
    }


def vaereg_epoch(table, out) -> tuple[float, int]:
    timer = EpochTimer()
    trainer = make_trainer(table, out, extra_plugins=(("timer", timer),))
    trainer.fit()
    return timer.seconds[0], trainer.step


def plain_epoch(table, out) -> tuple[float, int]:
    """The same model, data and optimizer in a hand-written loop."""
    trainer = make_trainer(table, out)  # only to get identical data and model class
    split = trainer.splits.train
    torch.manual_seed(table["run"].get("seed", 0))
    model = type(trainer.model)(trainer.recipe.model.options, trainer.dataset.input_shape)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(0)
    batch_size = table["data"]["batch_size"]
    steps = 0
    started = time.perf_counter()
    order = torch.randperm(len(split), generator=generator)
    for begin in range(0, len(split), batch_size):
        x = split.x[order[begin:begin + batch_size]]
        loss = vaereg.Objective.from_model(model, model(x), x).loss()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        steps += 1
    return time.perf_counter() - started, steps


def calls_per_step(table, out, steps: int = 20) -> tuple[float, float]:
    """(Trainer, plain) profiler events per step: Python and C function calls made."""
    import sys
    trainer = make_trainer(table, out)
    trainer.run_dir = Path(out)
    split = trainer.splits.train
    batches = list(split.batches(32))[:steps]
    plain_model = type(trainer.model)(trainer.recipe.model.options, trainer.dataset.input_shape)
    optimizer = torch.optim.Adam(plain_model.parameters(), lr=1e-3)

    def plain(batch):
        loss = vaereg.Objective.from_model(plain_model, plain_model(batch.x), batch.x).loss()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    from vaereg.core.loop.epoch_progress import EpochProgress
    trainer._progress = EpochProgress(trainer.data_generator.get_state())
    counts = []
    for step in (lambda b: trainer._train_batch(b, 0), plain):
        step(batches[0])  # warm-up: lazy imports and caches
        events = [0]

        def count(frame, event, arg):
            if event in ("call", "c_call"):
                events[0] += 1
        sys.setprofile(count)
        for batch in batches[1:]:
            step(batch)
        sys.setprofile(None)
        counts.append(events[0] / (len(batches) - 1))
    return counts[0], counts[1]


def compare(table, repeats):
    """Alternates ABBA, so that a machine speeding up or slowing down favours neither."""
    framework, plain = [], []
    with tempfile.TemporaryDirectory() as out:
        for repeat in range(repeats):
            for which in ((0, 1) if repeat % 2 == 0 else (1, 0)):
                if which == 0:
                    seconds, steps = plain_epoch(table, out)
                    plain.append(seconds)
                else:
                    framework.append(vaereg_epoch(table, out)[0])
    return min(framework), min(plain), statistics.median(framework), statistics.median(plain), steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tiny-steps", type=int, default=400)
    parser.add_argument("--data-root", default="",
                        help="folder with torchvision's FashionMNIST files (default: the usual places)")
    args = parser.parse_args()

    full, plain, full_median, plain_median, steps = compare(
        recipe([512, 256], 16, 128, 0, args.data_root), args.repeats)
    print(f"full epoch, MLP 784-512-256-16, batch 128, {steps} steps, {args.repeats} runs each: "
          f"vaereg {full:.2f} s, plain {plain:.2f} s, ratio {full / plain:.3f} (goal <= 1.05); "
          f"medians {full_median:.2f} s / {plain_median:.2f} s = {full_median / plain_median:.3f}")

    runs = args.repeats * 3
    tiny, plain, tiny_median, plain_median, steps = compare(
        recipe([32], 4, 32, 32 * args.tiny_steps, args.data_root), runs)
    us = 1e6 / steps
    print(f"tiny model 784-32-4, batch 32, {steps} steps, {runs} runs each: vaereg "
          f"{tiny * us:.0f} us/step, plain {plain * us:.0f} us/step, overhead "
          f"{(tiny - plain) * us:.0f} us/step (goal <= 100); medians {tiny_median * us:.0f} / "
          f"{plain_median * us:.0f}, overhead {(tiny_median - plain_median) * us:.0f} us/step")

    with tempfile.TemporaryDirectory() as out:
        ours, plain = calls_per_step(recipe([32], 4, 32, 32 * 21, args.data_root), out)
    print(f"function calls per step (profiler, tiny model): vaereg {ours:.0f}, plain "
          f"{plain:.0f}, extra {ours - plain:.0f} ({ours / plain:.2f}x)")


if __name__ == "__main__":
    main()
