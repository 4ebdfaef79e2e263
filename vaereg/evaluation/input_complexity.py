"""The input-complexity-corrected likelihood for out-of-distribution detection (Serrà et
al. 2020, "Input complexity and out-of-distribution detection with likelihood-based
generative models", ICLR).

Likelihood-based models give simple inputs (a constant background, MNIST digits seen by
a Fashion-MNIST model) high likelihood whatever they were trained on, so -log p(x) alone
flags complex inputs rather than unfamiliar ones. Serrà et al. subtract the input's
complexity, the length L(x) in bits of a lossless compression of x by a generic
compressor:

    S(x) = -log2 p(x) - L(x)

a log-likelihood ratio between the model and the compressor (a universal model that
needs no training). Higher S = more anomalous. Here -log2 p(x) is bounded by the negative
ELBO (converted from nats to bits) and L(x) is the size of x as a PNG (8-bit pixels,
zlib at level 9), the paper's PNG variant.
"""
from __future__ import annotations

import io
import math

import numpy as np
import torch
from PIL import Image
from torch import Tensor


def png_bits(images: Tensor) -> Tensor:
    """L(x): bits of each image [N, C, H, W] in [0, 1] (C = 1 or 3), quantized to 8 bits
    and compressed losslessly as PNG; float64 [N]."""
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"expected images [N, 1 or 3, H, W], got {tuple(images.shape)}")
    pixels = (images.detach().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1)
    sizes = []
    for array in pixels.cpu().numpy():
        buffer = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(array.squeeze(-1) if array.shape[-1] == 1
                                             else array)).save(buffer, format="PNG",
                                                               compress_level=9)
        sizes.append(8 * buffer.tell())
    return torch.tensor(sizes, dtype=torch.float64)


def complexity_corrected(neg_log_likelihood_nats: Tensor, bits: Tensor) -> Tensor:
    """S(x) = -log2 p(x) - L(x) in bits, from -log p(x) in nats and L(x) in bits."""
    return neg_log_likelihood_nats.double().cpu() / math.log(2) - bits.double().cpu()
