"""vaereg's Trainer against a plain PyTorch loop on one GPU, fp32 and bf16.

Per-epoch training time (epoch start to validation start) of two models on synthetic data
held on the GPU: the MLP VAE 784-512-256-16 on 28x28 images, batch 128, and the 64x64
conv VAE (``backbone = "conv64"``, latent 128, Gaussian decoder, as
recipes/celeba_vanilla.toml), batch 64. The plain loop uses the same model class,
tensors, optimizer, batch size and autocast. Runs alternate (ABBA) within one process;
the fastest of each is compared, medians shown too. Goal: vaereg within 10 % (ratio <= 1.10).

    python benchmarks/gpu_overhead.py [--repeats 3] [--images 16384]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time

import torch

import vaereg
from vaereg.testing import SYNTHETIC, make_trainer

MODELS = {
    "MLP 784-512-256-16, batch 128": (
        {"hidden_dims": [512, 256], "latent_dim": 16}, 28, 128),
    "conv64 VAE 64x64, latent 128, batch 64": (
        {"backbone": "conv64", "latent_dim": 128, "likelihood": "gaussian"}, 64, 64),
}
AUTOCAST = {"fp32": None, "bf16": torch.bfloat16}


class EpochTimer:
    """The training part of each epoch, GPU work included."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    @vaereg.hookimpl
    def on_train_epoch_start(self) -> None:
        torch.cuda.synchronize()
        self.started = time.perf_counter()

    @vaereg.hookimpl
    def on_validation_start(self) -> None:
        torch.cuda.synchronize()
        self.seconds.append(time.perf_counter() - self.started)


def recipe(model: dict, size: int, batch_size: int, images: int, precision: str) -> dict:
    return {"run": {"name": "gpu", "epochs": 1, "device": "cuda", "progress": False,
                    "precision": precision},
            "logging": {"histograms": False, "images": False},
            "checkpoint": {"best": False},
            "data": {"name": SYNTHETIC, "image_size": size, "train_size": images,
                     "val_size": batch_size, "test_size": batch_size, "batch_size": batch_size},
            "model": {"name": "vanilla", **model},
            "optimizer": {"name": "adam", "lr": 1e-3}}


def vaereg_epoch(table: dict, out: str) -> float:
    timer = EpochTimer()
    make_trainer(table, out, extra_plugins=(("timer", timer),)).fit()
    return timer.seconds[0]


def plain_epoch(table: dict, out: str) -> float:
    """The same model, data, optimizer and autocast in a hand-written loop."""
    trainer = make_trainer(table, out)  # only for identical data and model class
    split = trainer.splits.train
    torch.manual_seed(0)
    model = type(trainer.model)(trainer.recipe.model.options,
                                trainer.dataset.input_shape).cuda()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    dtype = AUTOCAST[table["run"]["precision"]]
    batch_size = table["data"]["batch_size"]
    order = torch.randperm(len(split), generator=torch.Generator().manual_seed(0)).cuda()
    torch.cuda.synchronize()
    started = time.perf_counter()
    for begin in range(0, len(split), batch_size):
        x = split.x[order[begin:begin + batch_size]]
        with torch.autocast("cuda", dtype=dtype or torch.float32, enabled=dtype is not None):
            loss = vaereg.Objective.from_model(model, model(x), x).loss().float()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    torch.cuda.synchronize()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--images", type=int, default=16384, help="training images per epoch")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("gpu_overhead.py measures vaereg on a CUDA GPU, and none is available here "
                 "(torch.cuda.is_available() is False); run it on a machine with a GPU")
    print(f"card: {torch.cuda.get_device_name()}, torch {torch.__version__}")
    with tempfile.TemporaryDirectory() as out:
        for name, (model, size, batch_size) in MODELS.items():
            for precision in AUTOCAST:
                table = recipe(model, size, batch_size, args.images, precision)
                vaereg_epoch(table, out), plain_epoch(table, out)  # warm-up: kernels, caches
                ours, plain = [], []
                for repeat in range(args.repeats):  # ABBA
                    for which in ((0, 1) if repeat % 2 == 0 else (1, 0)):
                        (plain if which else ours).append(
                            (plain_epoch if which else vaereg_epoch)(table, out))
                print(f"{name}, {precision}, {args.images} images: vaereg {min(ours):.3f} s, "
                      f"plain {min(plain):.3f} s, ratio {min(ours) / min(plain):.3f} (goal "
                      f"<= 1.10); medians {statistics.median(ours):.3f} / "
                      f"{statistics.median(plain):.3f} s", flush=True)


if __name__ == "__main__":
    main()
