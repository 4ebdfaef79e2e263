"""Encoder and decoder bodies made of :class:`Block` s, registered by name.

A backbone is a class (entry-point group ``vaereg.backbones``, like models and plugins)
with ``default_dims`` and two builders:

* ``encoder(input_shape, dims) -> (body, width)``: data batch ``[B, *input_shape]`` to
  features ``[B, width]``, which the model's latent heads read;
* ``decoder(latent_width, input_shape, dims) -> body``: ``[B, latent_width]`` to one
  unbounded value per input element, ``[B, *input_shape]``. The likelihood turns it into
  its mean (a sigmoid), so what a decoder produces always lands in the data's [0, 1].

Every hidden layer is a ``Block``, so the layer plugins (dropout, batch norm, sparsity,
max-norm) find the same slots on every backbone. Built-ins: ``mlp`` (any shape),
``gated_mlp`` (its gated-dense form), ``conv``
(small signals, images such as 28x28 or volumes: the data's spatial axes), ``conv3d``
(volumes only, lighter defaults) and ``conv64`` (64x64 images, the 32-64-128-256-512
encoder).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from vaereg.models.blocks import Block


class MLP:
    """Flatten, one linear block per width; the decoder mirrors it (784-512-256 default)."""

    default_dims = (512, 256)

    def hidden(self, width: int, out: int) -> tuple[nn.Module, nn.Module]:
        """The ``linear`` and ``activation`` slots of one hidden block."""
        return nn.Linear(width, out), nn.ReLU()

    def encoder(self, input_shape: tuple[int, ...],
                dims: tuple[int, ...]) -> tuple[nn.Module, int]:
        layers: list[nn.Module] = [nn.Flatten()]
        width = math.prod(input_shape)
        for index, out in enumerate(dims):
            layers.append(Block(*self.hidden(width, out), part="encoder", index=index,
                                features=out))
            width = out
        return nn.Sequential(*layers), width

    def decoder(self, latent_width: int, input_shape: tuple[int, ...],
                dims: tuple[int, ...]) -> nn.Module:
        layers: list[nn.Module] = []
        width = latent_width
        for index, out in enumerate(reversed(dims)):
            layers.append(Block(*self.hidden(width, out), part="decoder", index=index,
                                features=out))
            width = out
        layers += [nn.Linear(width, math.prod(input_shape)), nn.Unflatten(1, input_shape)]
        return nn.Sequential(*layers)


class GatedLinear(nn.Linear):
    """A gated dense layer (Dauphin et al. 2017; the layer of Tomczak & Welling's
    VampPrior code and the Exemplar VAE's): ``h(x) * sigmoid(g(x))`` with h and g affine.
    The layer's own weight and bias are h's, so the weight plugins (sparsity, max-norm)
    act on h, whose rows are the units (a zero row of h is a dead unit, whatever g); g is
    the child ``gate``, a tensor apart, as in their code (``grad_normalize`` normalizes
    each of the four tensors on its own, as their AdamNormGrad does)."""

    def __init__(self, in_features: int, out_features: int):
        super().__init__(in_features, out_features)
        self.gate = nn.Linear(in_features, out_features)

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x) * torch.sigmoid(self.gate(x))


class GatedMLP(MLP):
    """``mlp`` with gated dense layers and no other activation: the encoder and decoder
    of the VampPrior and Exemplar VAE papers (300, 300 there)."""

    def hidden(self, width: int, out: int) -> tuple[nn.Module, nn.Module]:
        return GatedLinear(width, out), nn.Identity()


#: the convolution and its transpose for each number of spatial axes
CONVOLUTIONS = {1: (nn.Conv1d, nn.ConvTranspose1d), 2: (nn.Conv2d, nn.ConvTranspose2d),
                3: (nn.Conv3d, nn.ConvTranspose3d)}
#: what the data of each number of spatial axes is called in messages
DATA_KINDS = {1: "signal", 2: "image", 3: "volume"}


def _halvings(sides: tuple[int, ...]) -> int:
    """How many times every side halves exactly."""
    count = 0
    while all(side % 2 == 0 and side > 1 for side in sides):
        sides, count = tuple(side // 2 for side in sides), count + 1
    return count


def _size(sides: tuple[int, ...]) -> str:
    return "x".join(map(str, sides))


class Conv:
    """Stride-2 4-wide convolutions, one block per channel count, each halving every
    side; the decoder is a linear block to the smallest feature map, then mirrored
    stride-2 transposed convolutions, the last one to the data's channels. The data's
    spatial axes choose the convolutions: ``[C, L]`` signals (1-D), ``[C, H, W]`` images
    (2-D) or ``[C, D, H, W]`` volumes (3-D)."""

    default_dims = (32, 64)
    activation = nn.ReLU
    #: the image size this backbone is made for (None: any multiple of 2 ** depth)
    image_size: int | None = None
    #: the spatial axes this backbone is made for (None: 1, 2 or 3, the data's)
    spatial_dims: int | None = None

    def check(self, input_shape: tuple[int, ...], depth: int) -> None:
        """Refuse data the stack of stride-2 layers cannot halve exactly."""
        sides = tuple(input_shape[1:])
        name = type(self).__name__.lower()
        if len(sides) not in CONVOLUTIONS:
            raise ValueError(f"the {name} backbone takes data of 1, 2 or 3 spatial axes "
                             f"after the channels, got shape {_size(input_shape)}")
        if self.spatial_dims is not None and len(sides) != self.spatial_dims:
            kind = DATA_KINDS[self.spatial_dims]
            raise ValueError(f"the {name} backbone is for {self.spatial_dims}-D data "
                             f"({kind}s), got {len(sides)}-D data of size {_size(sides)}; "
                             f"use backbone = \"conv\" for {DATA_KINDS[len(sides)]}s")
        if self.image_size is not None and sides != (self.image_size,) * 2:
            raise ValueError(f"this backbone is for {self.image_size}x{self.image_size} "
                             f"images, got {_size(sides)}")
        factor = 2 ** depth
        if any(side % factor for side in sides):
            fits = _halvings(sides)
            times = f"{fits} time{'s' if fits > 1 else ''}"
            fewer = (f"give hidden_dims at most {fits} entr{'ies' if fits > 1 else 'y'} "
                     f"({_size(sides)} halves exactly {times}), or " if fits else "")
            larger = -(-max(sides) // factor) * factor
            raise ValueError(f"the conv backbone halves the data {depth} times (one per "
                             f"hidden_dims entry): every side must be a multiple of "
                             f"{factor}, got {_size(sides)}; {fewer}resize the data to a "
                             f"multiple of {factor} (image_folder, nifti: data.size = "
                             f"{larger})")

    def encoder(self, input_shape: tuple[int, ...],
                dims: tuple[int, ...]) -> tuple[nn.Module, int]:
        self.check(input_shape, len(dims))
        channels, *sides = input_shape
        convolution, _ = CONVOLUTIONS[len(sides)]
        layers: list[nn.Module] = []
        for index, out in enumerate(dims):
            layers.append(Block(convolution(channels, out, 4, 2, 1), self.activation(),
                                part="encoder", index=index, features=out,
                                spatial_dims=len(sides)))
            channels, sides = out, [side // 2 for side in sides]
        layers.append(nn.Flatten())
        return nn.Sequential(*layers), channels * math.prod(sides)

    def decoder(self, latent_width: int, input_shape: tuple[int, ...],
                dims: tuple[int, ...]) -> nn.Module:
        self.check(input_shape, len(dims))
        channels, *sides = input_shape
        _, transposed = CONVOLUTIONS[len(sides)]
        depth = len(dims)
        small = (dims[-1], *(side // 2 ** depth for side in sides))
        layers: list[nn.Module] = [
            Block(nn.Linear(latent_width, math.prod(small)), self.activation(), part="decoder",
                  index=0, features=math.prod(small)),
            nn.Unflatten(1, small),
        ]
        widths = list(reversed(dims))
        for index, (inp, out) in enumerate(zip(widths, widths[1:]), start=1):
            layers.append(Block(transposed(inp, out, 4, 2, 1), self.activation(),
                                part="decoder", index=index, features=out,
                                spatial_dims=len(sides)))
        layers.append(transposed(widths[-1], channels, 4, 2, 1))
        return nn.Sequential(*layers)


class Conv3d(Conv):
    """``conv`` for volumes ``[C, D, H, W]`` only, with fewer channels by default (16, 32,
    64): a 3-D layer costs its kernel's 64 taps per output voxel, and a 32^3 volume has
    as many voxels as a 181x181 image, so the 2-D defaults would be slow on CPUs."""

    default_dims = (16, 32, 64)
    spatial_dims = 3


class Conv64(Conv):
    """The 64x64 conv net most VAE code bases use (e.g. PyTorch-VAE for CelebA): five
    stride-2 convolutions with 32, 64, 128, 256, 512 channels down to 2x2, LeakyReLU,
    and the mirrored transposed-conv decoder. Batch norm, which those code bases build
    in, is the ``batchnorm`` plugin here."""

    default_dims = (32, 64, 128, 256, 512)
    activation = nn.LeakyReLU
    image_size = 64
