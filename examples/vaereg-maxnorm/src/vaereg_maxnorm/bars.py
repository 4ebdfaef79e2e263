"""Bars (Foldiak 1990): binary images made of random horizontal and vertical lines, the
classic toy for learning independent parts. Shows how a package adds a dataset."""
from __future__ import annotations

import attrs
import torch

import vaereg


@attrs.frozen
class BarsOptions:
    size: int = vaereg.option(8, "image height and width, in pixels", check=vaereg.positive)
    probability: float = vaereg.option(0.2, "chance that each bar is drawn",
                                       check=vaereg.in_range(0, 1))
    train_size: int = vaereg.option(256, "training images", check=vaereg.positive)
    val_size: int = vaereg.option(64, "validation images", check=vaereg.positive)
    test_size: int = vaereg.option(64, "test images", check=vaereg.positive)


def make_bars(n: int, size: int, probability: float,
              generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` images (n, 1, size, size) in {0, 1} and their number of bars as labels."""
    rows = torch.bernoulli(torch.full((n, size), probability), generator=generator)
    cols = torch.bernoulli(torch.full((n, size), probability), generator=generator)
    images = torch.maximum(rows[:, :, None], cols[:, None, :])
    return images.unsqueeze(1), (rows.sum(1) + cols.sum(1)).long()


class Bars:
    """The dataset API: ``Options``, ``input_shape``, ``num_classes``, ``load(seed)``."""

    Options = BarsOptions

    def __init__(self, options: BarsOptions):
        self.options = options
        self.input_shape = (1, options.size, options.size)
        self.num_classes = 2 * options.size + 1  # labels count the bars: 0 .. 2 * size

    def load(self, seed: int) -> vaereg.Splits:
        o = self.options
        generator = torch.Generator().manual_seed(seed)
        splits = [vaereg.TensorSplit(*make_bars(n, o.size, o.probability, generator))
                  for n in (o.train_size, o.val_size, o.test_size)]
        return vaereg.Splits(*splits)
