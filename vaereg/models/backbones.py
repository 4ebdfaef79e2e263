"""Encoder and decoder bodies made of :class:`Block` s: an MLP and a small conv net."""
from __future__ import annotations

import math

from torch import nn

from vaereg.models.blocks import Block


def mlp_encoder(input_shape: tuple[int, ...], hidden_dims: tuple[int, ...]) -> tuple[nn.Module, int]:
    """Flatten, then one block per hidden width. Returns (body, output width)."""
    layers: list[nn.Module] = [nn.Flatten()]
    width = math.prod(input_shape)
    for index, out in enumerate(hidden_dims):
        layers.append(Block(nn.Linear(width, out), nn.ReLU(), part="encoder", index=index,
                            features=out, spatial=False))
        width = out
    return nn.Sequential(*layers), width


def mlp_decoder(latent_dim: int, input_shape: tuple[int, ...],
                hidden_dims: tuple[int, ...]) -> nn.Module:
    """Mirror of the encoder; the output layer gives one value per input element."""
    layers: list[nn.Module] = []
    width = latent_dim
    for index, out in enumerate(reversed(hidden_dims)):
        layers.append(Block(nn.Linear(width, out), nn.ReLU(), part="decoder", index=index,
                            features=out, spatial=False))
        width = out
    layers += [nn.Linear(width, math.prod(input_shape)), nn.Unflatten(1, input_shape)]
    return nn.Sequential(*layers)


def _check_divisible(input_shape: tuple[int, ...], depth: int) -> None:
    channels, height, width = input_shape
    factor = 2 ** depth
    if height % factor or width % factor:
        raise ValueError(f"the conv backbone halves the image {depth} times: height and "
                         f"width must be multiples of {factor}, got {height}x{width}")


def conv_encoder(input_shape: tuple[int, ...], hidden_dims: tuple[int, ...]) -> tuple[nn.Module, int]:
    """Stride-2 4x4 convolutions, one block per channel count, then flatten."""
    _check_divisible(input_shape, len(hidden_dims))
    channels, height, width = input_shape
    layers: list[nn.Module] = []
    for index, out in enumerate(hidden_dims):
        layers.append(Block(nn.Conv2d(channels, out, 4, 2, 1), nn.ReLU(), part="encoder",
                            index=index, features=out, spatial=True))
        channels, height, width = out, height // 2, width // 2
    layers.append(nn.Flatten())
    return nn.Sequential(*layers), channels * height * width


def conv_decoder(latent_dim: int, input_shape: tuple[int, ...],
                 hidden_dims: tuple[int, ...]) -> nn.Module:
    """A linear block to the smallest feature map, then transposed convolutions."""
    _check_divisible(input_shape, len(hidden_dims))
    channels, height, width = input_shape
    depth = len(hidden_dims)
    small = (hidden_dims[-1], height // 2 ** depth, width // 2 ** depth)
    layers: list[nn.Module] = [
        Block(nn.Linear(latent_dim, math.prod(small)), nn.ReLU(), part="decoder", index=0,
              features=math.prod(small), spatial=False),
        nn.Unflatten(1, small),
    ]
    widths = list(reversed(hidden_dims))
    for index, (inp, out) in enumerate(zip(widths, widths[1:]), start=1):
        layers.append(Block(nn.ConvTranspose2d(inp, out, 4, 2, 1), nn.ReLU(), part="decoder",
                            index=index, features=out, spatial=True))
    layers.append(nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1))
    return nn.Sequential(*layers)


BACKBONES = {
    "mlp": (mlp_encoder, mlp_decoder, (512, 256)),
    "conv": (conv_encoder, conv_decoder, (32, 64)),
}
