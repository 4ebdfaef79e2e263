"""Encoder and decoder bodies made of :class:`Block` s, registered by name.

A backbone is a class (entry-point group ``vaereg.backbones``, like models and plugins)
with ``default_dims`` and two builders:

* ``encoder(input_shape, dims) -> (body, width)``: image batch ``[B, *input_shape]`` to
  features ``[B, width]``, which the model's latent heads read;
* ``decoder(latent_width, input_shape, dims) -> body``: ``[B, latent_width]`` to one
  unbounded value per input element, ``[B, *input_shape]``. The likelihood turns it into
  its mean (a sigmoid), so what a decoder produces always lands in the data's [0, 1].

Every hidden layer is a ``Block``, so the layer plugins (dropout, batch norm, sparsity,
max-norm) find the same slots on every backbone. Built-ins: ``mlp``, ``conv`` (small
images such as 28x28) and ``conv64`` (64x64, the 32-64-128-256-512 encoder).
"""
from __future__ import annotations

import math

from torch import nn

from vaereg.models.blocks import Block


class MLP:
    """Flatten, one linear block per width; the decoder mirrors it (784-512-256 default)."""

    default_dims = (512, 256)

    def encoder(self, input_shape: tuple[int, ...],
                dims: tuple[int, ...]) -> tuple[nn.Module, int]:
        layers: list[nn.Module] = [nn.Flatten()]
        width = math.prod(input_shape)
        for index, out in enumerate(dims):
            layers.append(Block(nn.Linear(width, out), nn.ReLU(), part="encoder", index=index,
                                features=out, spatial=False))
            width = out
        return nn.Sequential(*layers), width

    def decoder(self, latent_width: int, input_shape: tuple[int, ...],
                dims: tuple[int, ...]) -> nn.Module:
        layers: list[nn.Module] = []
        width = latent_width
        for index, out in enumerate(reversed(dims)):
            layers.append(Block(nn.Linear(width, out), nn.ReLU(), part="decoder", index=index,
                                features=out, spatial=False))
            width = out
        layers += [nn.Linear(width, math.prod(input_shape)), nn.Unflatten(1, input_shape)]
        return nn.Sequential(*layers)


def _halvings(height: int, width: int) -> int:
    """How many times both sides halve exactly."""
    count = 0
    while height % 2 == 0 and width % 2 == 0 and height > 1 and width > 1:
        height, width, count = height // 2, width // 2, count + 1
    return count


class Conv:
    """Stride-2 4x4 convolutions, one block per channel count, each halving the image;
    the decoder is a linear block to the smallest feature map, then mirrored stride-2
    transposed convolutions, the last one to the image's channels."""

    default_dims = (32, 64)
    activation = nn.ReLU
    #: the image size this backbone is made for (None: any multiple of 2 ** depth)
    image_size: int | None = None

    def check(self, input_shape: tuple[int, ...], depth: int) -> None:
        """Refuse image sizes the stack of stride-2 layers cannot halve exactly."""
        channels, height, width = input_shape
        if self.image_size is not None and (height, width) != (self.image_size,) * 2:
            raise ValueError(f"this backbone is for {self.image_size}x{self.image_size} "
                             f"images, got {height}x{width}")
        factor = 2 ** depth
        if height % factor or width % factor:
            fits = _halvings(height, width)
            times = f"{fits} time{'s' if fits > 1 else ''}"
            fewer = (f"give hidden_dims at most {fits} entr{'ies' if fits > 1 else 'y'} "
                     f"({height}x{width} halves exactly {times}), or " if fits else "")
            larger = -(-max(height, width) // factor) * factor
            raise ValueError(f"the conv backbone halves the image {depth} times (one per "
                             f"hidden_dims entry): height and width must be multiples of "
                             f"{factor}, got {height}x{width}; {fewer}resize the images to a "
                             f"multiple of {factor} (image_folder: data.size = {larger})")

    def encoder(self, input_shape: tuple[int, ...],
                dims: tuple[int, ...]) -> tuple[nn.Module, int]:
        self.check(input_shape, len(dims))
        channels, height, width = input_shape
        layers: list[nn.Module] = []
        for index, out in enumerate(dims):
            layers.append(Block(nn.Conv2d(channels, out, 4, 2, 1), self.activation(),
                                part="encoder", index=index, features=out, spatial=True))
            channels, height, width = out, height // 2, width // 2
        layers.append(nn.Flatten())
        return nn.Sequential(*layers), channels * height * width

    def decoder(self, latent_width: int, input_shape: tuple[int, ...],
                dims: tuple[int, ...]) -> nn.Module:
        self.check(input_shape, len(dims))
        channels, height, width = input_shape
        depth = len(dims)
        small = (dims[-1], height // 2 ** depth, width // 2 ** depth)
        layers: list[nn.Module] = [
            Block(nn.Linear(latent_width, math.prod(small)), self.activation(), part="decoder",
                  index=0, features=math.prod(small), spatial=False),
            nn.Unflatten(1, small),
        ]
        widths = list(reversed(dims))
        for index, (inp, out) in enumerate(zip(widths, widths[1:]), start=1):
            layers.append(Block(nn.ConvTranspose2d(inp, out, 4, 2, 1), self.activation(),
                                part="decoder", index=index, features=out, spatial=True))
        layers.append(nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1))
        return nn.Sequential(*layers)


class Conv64(Conv):
    """The 64x64 conv net most VAE code bases use (e.g. PyTorch-VAE for CelebA): five
    stride-2 convolutions with 32, 64, 128, 256, 512 channels down to 2x2, LeakyReLU,
    and the mirrored transposed-conv decoder. Batch norm, which those code bases build
    in, is the ``batchnorm`` plugin here."""

    default_dims = (32, 64, 128, 256, 512)
    activation = nn.LeakyReLU
    image_size = 64
