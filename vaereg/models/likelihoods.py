"""Reconstruction likelihoods: negative log-likelihood per element and per image, in nats.

``nll_per_element`` returns the ``[batch, *shape]`` tensor (one value per pixel or voxel
and channel): the seam anomaly maps stand on. ``nll`` is its per-image sum.
``perfect_fit_nll`` is ``nll_per_element`` at the decoder output that fits each element
exactly (the saturated model): the part of the loss no model could explain (a grey
pixel's Bernoulli entropy). The difference is the deviance, how badly the model explains
the element.

Both expect targets in [0, 1], the range the image datasets produce, and turn decoder
outputs into a mean in the same range (sigmoid), so input range and output layer agree.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F


#: pixels whose softplus terms share one logarithm (each factor is in (1, 2], so the
#: product stays below 2**64, far inside float32's range)
SOFTPLUS_GROUP = 64


def bernoulli_nll_without_grad(logits: Tensor, target: Tensor) -> Tensor:
    """Per-image sum of binary cross-entropy with logits, one logarithm per 64 pixels.

    BCE(l, x) = max(l, 0) - x l + log(1 + exp(-|l|)), and a sum of logarithms is the
    logarithm of a product. Evaluation (IWAE with K = 1000 decodes ten million images for
    Fashion-MNIST's test split) otherwise spends as long in the per-pixel logarithm as in
    the decoder. The result agrees with PyTorch's to about 1e-4 nats per image; it is not
    differentiable in place, so training keeps PyTorch's.
    """
    logits = logits.flatten(1).to(torch.promote_types(logits.dtype, torch.float32))
    target = target.flatten(1).to(logits.dtype)
    factors = torch.exp(-logits.abs()).add_(1)
    pixels = factors.shape[1]
    whole = pixels - pixels % SOFTPLUS_GROUP
    # unflatten, not reshape(rows, ...): an exported graph keeps its batch size free
    softplus = factors[:, :whole].unflatten(1, (-1, SOFTPLUS_GROUP)).prod(2).log_().sum(1)
    if whole < pixels:
        softplus += factors[:, whole:].prod(1).log_()
    return torch.addcmul(logits.clamp_min(0), target, logits, value=-1).sum(1) + softplus


class Bernoulli(nn.Module):
    """Bernoulli pixels parameterized by logits (exact for binarized data)."""

    def nll_per_element(self, output: Tensor, target: Tensor) -> Tensor:
        """-log p(x_i|z) for each element, shape ``[batch, *shape]``."""
        return F.binary_cross_entropy_with_logits(output, target, reduction="none")

    def nll(self, output: Tensor, target: Tensor) -> Tensor:
        """Per-image sum of ``nll_per_element`` (without grad: the faster equal sum)."""
        if not torch.is_grad_enabled():
            return bernoulli_nll_without_grad(output, target)
        return self.nll_per_element(output, target).flatten(1).sum(1)

    def perfect_fit_nll(self, target: Tensor) -> Tensor:
        """H(x) = -x log x - (1 - x) log(1 - x), the NLL at p = x, per element."""
        return -(torch.special.xlogy(target, target)
                 + torch.special.xlogy(1 - target, 1 - target))

    def mean(self, output: Tensor) -> Tensor:
        return torch.sigmoid(output)


class Gaussian(nn.Module):
    """Gaussian pixels with mean sigmoid(output) and one learned scale (sigma-VAE)."""

    def __init__(self) -> None:
        super().__init__()
        self.log_scale = nn.Parameter(torch.zeros(()))

    def nll_per_element(self, output: Tensor, target: Tensor) -> Tensor:
        """-log p(x_i|z) for each element, shape ``[batch, *shape]``."""
        mean = torch.sigmoid(output)
        z = (target - mean) * torch.exp(-self.log_scale)
        return 0.5 * z.pow(2) + self.log_scale + 0.5 * math.log(2 * math.pi)

    def nll(self, output: Tensor, target: Tensor) -> Tensor:
        """Per-image sum of ``nll_per_element``."""
        return self.nll_per_element(output, target).flatten(1).sum(1)

    def perfect_fit_nll(self, target: Tensor) -> Tensor:
        """log sigma + log(2 pi) / 2, the NLL at mean = x, per element."""
        return (self.log_scale + 0.5 * math.log(2 * math.pi)).expand_as(target)

    def mean(self, output: Tensor) -> Tensor:
        return torch.sigmoid(output)


LIKELIHOODS = {"bernoulli": Bernoulli, "gaussian": Gaussian}
