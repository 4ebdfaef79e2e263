"""Reconstruction likelihoods: negative log-likelihood per image, in nats.

Both expect targets in [0, 1], the range the image datasets produce, and turn decoder
outputs into a mean in the same range (sigmoid), so input range and output layer agree.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F


class Bernoulli(nn.Module):
    """Bernoulli pixels parameterized by logits (exact for binarized data)."""

    def nll(self, output: Tensor, target: Tensor) -> Tensor:
        per_pixel = F.binary_cross_entropy_with_logits(output, target, reduction="none")
        return per_pixel.flatten(1).sum(1)

    def mean(self, output: Tensor) -> Tensor:
        return torch.sigmoid(output)


class Gaussian(nn.Module):
    """Gaussian pixels with mean sigmoid(output) and one learned scale (sigma-VAE)."""

    def __init__(self) -> None:
        super().__init__()
        self.log_scale = nn.Parameter(torch.zeros(()))

    def nll(self, output: Tensor, target: Tensor) -> Tensor:
        mean = torch.sigmoid(output)
        z = (target - mean) * torch.exp(-self.log_scale)
        per_pixel = 0.5 * z.pow(2) + self.log_scale + 0.5 * math.log(2 * math.pi)
        return per_pixel.flatten(1).sum(1)

    def mean(self, output: Tensor) -> Tensor:
        return torch.sigmoid(output)


LIKELIHOODS = {"bernoulli": Bernoulli, "gaussian": Gaussian}
