"""The conditional VAE (Sohn, Lee & Yan 2015): q(z|x, y) and p(x|z, y), the label y
entering encoder and decoder; the objective is the conditional negative ELBO
recon + KL(q(z|x, y) || N(0, I)), and ``sample(n, y=k)`` draws images of class k.

How y enters, on any backbone: the decoder reads [z, one_hot(y)]; the encoder reads the
image with one extra channel, a learned linear map of one_hot(y) to an image-sized plane
(as PyTorch-VAE's CVAE does). For the MLP that is exactly concatenating one_hot(y) to
the flattened image (the first layer's weights on the plane times the map are any
matrix on the one-hot), and a conv backbone sees the label at every pixel.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from vaereg.core.model import model_contract as contract
from vaereg.models.vanilla import VanillaOptions, VanillaVAE


class ConditionalVAE(VanillaVAE):
    """Terms ``recon`` and ``kl`` as the vanilla VAE, given the label."""

    Options = VanillaOptions
    capabilities = VanillaVAE.capabilities | {contract.CONDITIONAL}
    parts = {"encoder": ("label_plane", "encoder", "mu_head", "logvar_head"),
             "decoder": ("decoder",)}

    def __init__(self, options: VanillaOptions, input_shape: tuple[int, ...],
                 num_classes: int = 0):
        if num_classes <= 0:
            raise ValueError("the conditional VAE needs a labelled dataset (num_classes > 0); "
                             "this dataset has no classes")
        channels, height, width = input_shape
        super().__init__(options, input_shape, num_classes,
                         encoder_shape=(channels + 1, height, width), decoder_extra=num_classes)
        self.label_plane = nn.Linear(num_classes, height * width)

    def one_hot(self, y: Tensor | int | None, n: int) -> Tensor:
        """``[n, num_classes]`` one-hot rows for labels ``y`` (a tensor of n, or one class
        for all n)."""
        if y is None:
            raise ValueError("the conditional VAE needs labels y (a class index or a tensor "
                             "of them)")
        labels = torch.as_tensor(y, device=self.mu_head.weight.device).long()
        if labels.dim() == 0:
            labels = labels.expand(n)
        return F.one_hot(labels, self.num_classes).to(self.mu_head.weight.dtype)

    def encoder_input(self, x: Tensor, y: Tensor | None) -> Tensor:
        """The image with the label's plane as an extra channel."""
        plane = self.label_plane(self.one_hot(y, x.shape[0]))
        return torch.cat([x, plane.view(x.shape[0], 1, *x.shape[2:])], dim=1)

    def decoder_input(self, z: Tensor, y: Tensor | None) -> Tensor:
        """[z, one_hot(y)]."""
        return torch.cat([z, self.one_hot(y, z.shape[0])], dim=1)
