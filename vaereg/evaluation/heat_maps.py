"""Heat-map pictures of one anomaly map: for the worst, best and random images, a row of
image | reconstruction | map | overlay | mask, each row named by its defect type and file.

Worst and best are the anomalous images whose map agrees least and most with their mask
(Dice at the validation threshold), or, without masks, those the map's image score ranks
lowest and highest; random ones are drawn from all images, seeded.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from vaereg.evaluation.pictures import save_figure

ROWS_EACH = 3
COLUMNS = ("image", "reconstruction", "map", "overlay", "mask")


def image_dice(maps: Tensor, masks: Tensor, threshold: float) -> Tensor:
    """Per image: Dice of the pixels above ``threshold`` against its mask (0 when both
    are empty)."""
    flagged = maps > threshold
    overlap = (flagged & masks).flatten(1).sum(1).double()
    total = (flagged.flatten(1).sum(1) + masks.flatten(1).sum(1)).double()
    return torch.where(total > 0, 2 * overlap / total.clamp_min(1), 0.0)


def chosen_rows(quality: Tensor, is_anomaly: Tensor, seed: int = 0) -> list[tuple[str, int]]:
    """(``worst``/``best``/``random``, row) for the pictured images: anomalies ranked by
    ``quality`` (higher = better found)."""
    anomalies = is_anomaly.nonzero().squeeze(1)
    order = anomalies[quality[anomalies].argsort(stable=True)]
    count = min(ROWS_EACH, len(order))
    generator = torch.Generator().manual_seed(seed)
    drawn = torch.randperm(len(quality), generator=generator)[:ROWS_EACH]
    return ([("worst", int(i)) for i in order[:count]]
            + [("best", int(i)) for i in order.flip(0)[:count]]
            + [("random", int(i)) for i in drawn])


def _shown(image: Tensor):
    """(H, W) or (H, W, 3) array for imshow, from (C, H, W) in [0, 1]."""
    image = image.detach().float().clamp(0, 1).cpu()
    return image[0].numpy() if image.shape[0] == 1 else image.permute(1, 2, 0).numpy()


def heat_map_picture(name: str, rows: list[tuple[str, int]], images: Tensor,
                     reconstructions: Tensor, maps: Tensor, masks: Tensor | None,
                     labels: list[str], path: Path) -> Path:
    """One PNG; ``images`` and ``reconstructions`` are the pictured rows' (in ``rows``
    order), ``maps`` and ``masks`` all rows', ``labels`` each row's caption."""
    from matplotlib.figure import Figure

    low, high = float(maps.min()), float(maps.max())
    figure = Figure(figsize=(2 * len(COLUMNS), 2 * len(rows) + 0.5))
    axes = figure.subplots(len(rows), len(COLUMNS), squeeze=False)
    for number, (which, row) in enumerate(rows):
        grey = "gray" if images.shape[1] == 1 else None
        image, heat = _shown(images[number]), maps[row].numpy()
        axes[number][0].imshow(image, cmap=grey, vmin=0, vmax=1)
        axes[number][1].imshow(_shown(reconstructions[number]), cmap=grey, vmin=0, vmax=1)
        axes[number][2].imshow(heat, cmap="inferno", vmin=low, vmax=high)
        axes[number][3].imshow(image, cmap=grey, vmin=0, vmax=1)
        axes[number][3].imshow(heat, cmap="inferno", vmin=low, vmax=high, alpha=0.5)
        if masks is not None:
            axes[number][4].imshow(masks[row].numpy(), cmap="gray", vmin=0, vmax=1)
        else:
            axes[number][4].text(0.5, 0.5, "no mask", ha="center", va="center")
        axes[number][0].set_ylabel(f"{which}\n{labels[row]}", fontsize=7)
        for column, title in enumerate(COLUMNS):
            axes[number][column].set(xticks=[], yticks=[])
            if number == 0:
                axes[number][column].set_title(title if column != 2 else f"map: {name}",
                                               fontsize=9)
    figure.tight_layout()
    save_figure(figure, path)
    return path
