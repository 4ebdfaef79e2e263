"""Reconstruction quality per image, for images in [0, 1] (``data_range`` = 1).

- MSE: mean over pixels of (x_hat - x)^2.
- PSNR: 10 log10(1 / MSE) in dB (torchmetrics ``peak_signal_noise_ratio``).
- SSIM: structural similarity (Wang et al. 2004), 11x11 Gaussian window, sigma 1.5
  (torchmetrics ``structural_similarity_index_measure``).
"""
from __future__ import annotations

from torch import Tensor


def squared_error(reconstruction: Tensor, target: Tensor) -> Tensor:
    """Per-image mean over elements of (x_hat - x)^2."""
    return (reconstruction - target).pow(2).mean(dim=tuple(range(1, target.dim())))


def reconstruction_errors(reconstruction: Tensor, target: Tensor) -> dict[str, Tensor]:
    """Per-image ``mse``, ``psnr`` and ``ssim`` of images [N, C, H, W] in [0, 1]."""
    # imported here, as in anomaly_metrics: torchmetrics' import costs seconds
    from torchmetrics.functional.image import (peak_signal_noise_ratio,
                                               structural_similarity_index_measure)

    dims = tuple(range(1, target.dim()))
    return {
        "mse": squared_error(reconstruction, target),
        "psnr": peak_signal_noise_ratio(reconstruction, target, data_range=1.0,
                                        reduction="none", dim=dims),
        "ssim": structural_similarity_index_measure(reconstruction, target, data_range=1.0,
                                                    reduction="none"),
    }
