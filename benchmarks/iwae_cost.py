"""Seconds for the K-sample importance-weighted bound over the Fashion-MNIST test set, with
vaereg's Bernoulli likelihood (one logarithm per 64 pixels without grad) and with
PyTorch's per-pixel BCE, alternated in one run: their ratio is the speed-up.

The model is a freshly initialized MLP VAE of the default size (784-512-256-16, Bernoulli
decoder) written here against the evaluation's model contract, so the figure measures
``vaereg.evaluation.iwae_nll`` alone (the decoder passes and the likelihood dominate: K x N
of each).

    python benchmarks/iwae_cost.py [--k 1000] [--images 10000] [--batch-size 100] [--chunk 50]
        [--rounds 1]
"""
from __future__ import annotations

import time

import click
import torch
from torch import Tensor, nn
from torch.distributions import Independent, Normal
from torch.nn import functional as F

from vaereg.data.fashion_mnist import FashionMNIST
from vaereg.evaluation import iwae_nll
from vaereg.models.likelihoods import Bernoulli


class PyTorchBCE(nn.Module):
    """The per-pixel BCE of ``F.binary_cross_entropy_with_logits``: the reference."""

    def nll(self, output: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(output, target, reduction="none").flatten(1).sum(1)


class MLPVAE(nn.Module):
    """784-512-256-16 Gaussian encoder and mirrored Bernoulli decoder (logits)."""

    def __init__(self, latent_dim: int = 16):
        super().__init__()
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(),
                                     nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 2 * latent_dim))
        self.decoder = nn.Sequential(nn.Linear(latent_dim, 256), nn.ReLU(), nn.Linear(256, 512),
                                     nn.ReLU(), nn.Linear(512, 784), nn.Unflatten(1, (1, 28, 28)))
        self.latent_dim = latent_dim

    def encode(self, x: Tensor, y: Tensor | None = None) -> Independent:
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return Independent(Normal(mu, torch.exp(0.5 * logvar)), 1)

    def prior(self) -> Independent:
        return Independent(Normal(torch.zeros(self.latent_dim), torch.ones(self.latent_dim)), 1)

    def decode(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        return self.decoder(z)


def seconds(model: MLPVAE, x: Tensor, k: int, batch_size: int, chunk: int) -> tuple[float, float]:
    """Wall seconds over ``x`` and the mean bound, the same draws for every likelihood."""
    torch.manual_seed(1)
    start = time.perf_counter()
    total = sum(iwae_nll(model, x[i:i + batch_size], k=k, chunk=chunk).sum().item()
                for i in range(0, len(x), batch_size))
    return time.perf_counter() - start, total / len(x)


@click.command()
@click.option("--k", default=1000, show_default=True, help="importance samples per image")
@click.option("--images", default=10000, show_default=True, help="test images evaluated")
@click.option("--batch-size", default=100, show_default=True, help="images per call")
@click.option("--chunk", default=50, show_default=True, help="samples per decoder pass")
@click.option("--rounds", default=1, show_default=True, help="A/B rounds (median ratio)")
def main(k: int, images: int, batch_size: int, chunk: int, rounds: int) -> None:
    torch.manual_seed(0)
    x = FashionMNIST(FashionMNIST.Options(download=False)).load(seed=0).test.x[:images]
    model = MLPVAE().eval()
    ratios = []
    for _ in range(rounds):
        timed = {}
        for name, likelihood in (("pytorch", PyTorchBCE()), ("vaereg", Bernoulli())):
            model.likelihood = likelihood
            timed[name] = seconds(model, x, k, batch_size, chunk)
        ratios.append(timed["pytorch"][0] / timed["vaereg"][0])
        print(f"iwae_nll K={k} over {len(x)} images (batch {batch_size}, chunk {chunk}, "
              f"{torch.get_num_threads()} threads): vaereg {timed['vaereg'][0]:.1f} s, "
              f"PyTorch BCE {timed['pytorch'][0]:.1f} s; mean {timed['vaereg'][1]:.4f} vs "
              f"{timed['pytorch'][1]:.4f} nats")
    print(f"speed-up (PyTorch BCE / vaereg), median of {rounds}: {sorted(ratios)[len(ratios) // 2]:.2f}")


if __name__ == "__main__":
    main()
