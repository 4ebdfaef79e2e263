"""What a dataset's examples are, asked of the dataset rather than assumed: the core draws
pictures of image data only.

``input_shape`` is ``(channels, *spatial)``: ``(1, 28, 28)`` for images, ``(1, 256)`` for
a 1-D signal, ``(1, 32, 32, 32)`` for a volume. Two spatial dimensions with 1 or 3
channels are images, unless the dataset declares otherwise with a ``yields_images``
attribute (True or False), where its shape alone would mislead.
"""
from __future__ import annotations

from typing import Any


def is_image_data(dataset: Any) -> bool:
    """Whether the dataset's examples can be drawn as pictures (grids in TensorBoard)."""
    declared = getattr(dataset, "yields_images", None)
    if declared is not None:
        return bool(declared)
    shape = tuple(dataset.input_shape)
    return len(shape) == 3 and shape[0] in (1, 3)
