"""Reading defect masks as the images they belong to are read (same resize and crop)."""
from __future__ import annotations

import attrs
import torch
from PIL import Image
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as TF

from vaereg.core.common.errors import VaeregError, first_line
from vaereg.data.image_files import IMAGE_ERRORS


@attrs.frozen
class MaskReader:
    """``reader(index)``: mask ``paths[index]`` as an (H, W) bool tensor (True where the
    file is non-zero), resized like :class:`ImageReader` with ``size`` but with nearest
    neighbours, so a mask stays binary; a path of None (a normal image) gives all False
    of ``shape``."""

    paths: tuple[str | None, ...]
    shape: tuple[int, int]
    size: int = 0

    def __call__(self, index: int) -> torch.Tensor:
        path = self.paths[index]
        if path is None:
            return torch.zeros(self.shape, dtype=torch.bool)
        try:
            with Image.open(path) as mask:
                mask = mask.convert("L")
        except IMAGE_ERRORS as error:
            raise VaeregError(f"{path}: not a readable mask ({first_line(error)})") from None
        if self.size:
            mask = TF.center_crop(TF.resize(mask, [self.size], InterpolationMode.NEAREST),
                                  [self.size])
        return TF.pil_to_tensor(mask)[0] > 0

    def read(self, positions: list[int] | None = None) -> torch.Tensor:
        """[N, H, W] bool masks of ``positions`` (all when None)."""
        positions = range(len(self.paths)) if positions is None else positions
        if not positions:
            return torch.zeros((0, *self.shape), dtype=torch.bool)
        return torch.stack([self(index) for index in positions])
