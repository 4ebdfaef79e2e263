"""The plain PyTorch program `iwae_cost.py` compares `vaereg eval --metrics iwae` with: no
vaereg code.

Reads the weights of a vaereg run's checkpoint (plain tensors) into `plain_script.py`'s
MLP VAE (784-512-256-16, Bernoulli logits), the Fashion-MNIST test images as torchvision does (from
the folder vaereg decompresses the Debian copy into), and computes the K-sample
importance-weighted bound as one would by hand: the encoder once per batch, K draws of z
in chunks, PyTorch's per-pixel BCE, ``torch.distributions`` densities, log-sum-exp over K.
Prints the mean bound and the seconds of the computation.

    python benchmarks/plain_iwae.py RUN_DIR/checkpoints/best.pt --k 1000 --batch-size 128
"""
from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path

import torch
from torch.distributions import Independent, Normal
from torch.nn import functional as F
from torchvision.datasets import FashionMNIST

from plain_script import VAE  # the same model, layers in the checkpoint's order


@torch.no_grad()
def iwae_nll(model: VAE, x: torch.Tensor, k: int, chunk: int) -> torch.Tensor:
    """-log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x) per image, z_k ~ q(z|x)."""
    h = model.encoder(x)
    mu, logvar = model.mu(h), model.logvar(h)
    q = Independent(Normal(mu, torch.exp(0.5 * logvar)), 1)
    prior = Independent(Normal(torch.zeros_like(mu), torch.ones_like(mu)), 1)
    target = x.flatten(1)
    log_w = []
    for start in range(0, k, chunk):
        z = q.sample((min(chunk, k - start),))
        logits = model.decoder(z)
        log_px = -F.binary_cross_entropy_with_logits(
            logits, target.expand_as(logits), reduction="none").sum(2)
        log_w.append(log_px + prior.log_prob(z) - q.log_prob(z))
    return math.log(k) - torch.logsumexp(torch.cat(log_w), dim=0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("checkpoint")
    parser.add_argument("--k", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--chunk", type=int, default=50)
    args = parser.parse_args()
    torch.manual_seed(0)
    weights = torch.load(args.checkpoint, map_location="cpu", weights_only=True)["model"]
    model = VAE().eval()
    model.load_state_dict(dict(zip(model.state_dict(), weights.values())))
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vaereg"
    x = FashionMNIST(str(root), train=False).data.unsqueeze(1).float() / 255
    start = time.perf_counter()
    total = sum(iwae_nll(model, x[i:i + args.batch_size], args.k, args.chunk).sum().item()
                for i in range(0, len(x), args.batch_size))
    print(f"iwae_nll {total / len(x):.4f} over {len(x)} images, K={args.k}, "
          f"{time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
