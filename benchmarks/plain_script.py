"""The plain PyTorch program `whole_run.py` compares `vaereg run` with: no vaereg code.

Same data (Fashion-MNIST as torchvision reads it from the folder vaereg decompresses the
Debian copy into), same seeded train/validation split sizes, same MLP VAE, objective,
optimizer and batch size; trains, validates every epoch, evaluates train/val/test at the
end and saves the weights once.

    python benchmarks/plain_script.py --train-size 1000 --epochs 40 --out /tmp/plain
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F
from torchvision.datasets import FashionMNIST


class VAE(nn.Module):
    def __init__(self, latent: int = 16):
        super().__init__()
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(),
                                     nn.Linear(512, 256), nn.ReLU())
        self.mu, self.logvar = nn.Linear(256, latent), nn.Linear(256, latent)
        self.decoder = nn.Sequential(nn.Linear(latent, 256), nn.ReLU(), nn.Linear(256, 512),
                                     nn.ReLU(), nn.Linear(512, 784))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x)
        mu, logvar = self.mu(h), self.logvar(h)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        logits = self.decoder(z).view_as(x)
        recon = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)
        return recon, kl


@torch.no_grad()
def evaluate(model: VAE, x: torch.Tensor, batch_size: int) -> float:
    model.eval()
    total = sum(float(sum(model(x[i:i + batch_size])).sum()) for i in range(0, len(x), batch_size))
    model.train()
    return total / len(x)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train-size", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--out", default=".")
    args = parser.parse_args()
    torch.manual_seed(0)
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vaereg"
    train = FashionMNIST(str(root), train=True)
    test = FashionMNIST(str(root), train=False)
    images = train.data.unsqueeze(1).float() / 255
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
    val_x = images[order[:5000]]
    rest = order[5000:] if args.train_size == 0 else order[5000:5000 + args.train_size]
    train_x = images[rest]
    test_x = test.data.unsqueeze(1).float() / 255
    model = VAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    batch_size, shuffle = 128, torch.Generator().manual_seed(0)
    for epoch in range(args.epochs):
        for index in torch.randperm(len(train_x), generator=shuffle).split(batch_size):
            recon, kl = model(train_x[index])
            loss = (recon + kl).mean()
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        val = evaluate(model, val_x, batch_size)
        print(f"epoch {epoch + 1}: val {val:.2f}")
    figures = {name: evaluate(model, x, batch_size)
               for name, x in (("train", train_x), ("val", val_x), ("test", test_x))}
    torch.save(model.state_dict(), Path(args.out) / "plain_model.pt")
    print(figures)


if __name__ == "__main__":
    main()
