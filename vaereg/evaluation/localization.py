"""Localization figures of anomaly maps against ground-truth masks, as pure functions.

``maps`` are [N, H, W] scores (higher = more anomalous), ``masks`` [N, H, W] bool (True =
anomalous pixel); figures pool every pixel of every image. Each sorts the pixels once and
works on cumulative counts at each distinct score, so memory grows linearly with the
pixels (10,000 28x28 maps are 7.8 million). Formulas and references: docs/metrics.md.

- ``pixel_auroc``: P(score of an anomalous pixel > score of a normal one) + 1/2 P(tie),
  the Mann-Whitney statistic (the trapezoid under the ROC through every distinct score).
- ``pixel_auprc``: average precision, sum_k (R_k - R_{k-1}) P_k over distinct scores.
- ``best_dice``: max over thresholds t of Dice = 2 TP / (2 TP + FP + FN), flagging >= t.
- ``dice``: Dice at a given threshold (flagging > t, see ``threshold_at_fpr``).
- ``aupro``: area under the per-region-overlap curve up to a false-positive rate limit,
  divided by the limit (Bergmann et al. 2021): PRO(t) is the mean over connected regions
  of the masks (8-connected) of the share of each region flagged.
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F


def _check(maps: Tensor, masks: Tensor) -> tuple[Tensor, Tensor]:
    if maps.shape != masks.shape or maps.dim() != 3:
        raise ValueError(f"maps and masks must be [N, H, W] of one shape, got "
                         f"{tuple(maps.shape)} and {tuple(masks.shape)}")
    masks = masks.bool()
    if not masks.any() or masks.all():
        raise ValueError("the masks must hold both anomalous and normal pixels")
    return maps, masks


def _cumulative(scores: Tensor, *weights: Tensor) -> tuple[Tensor, ...]:
    """Cumulative sums (float64) of each of ``weights`` over the pixels sorted by
    descending score, taken at the last pixel of each run of equal scores: the counts
    flagged by each distinct threshold, highest first."""
    scores, order = scores.reshape(-1).sort(descending=True)
    ends = torch.ones_like(scores, dtype=torch.bool)
    ends[:-1] = scores[1:] != scores[:-1]
    return tuple(weight.reshape(-1)[order].double().cumsum(0)[ends] for weight in weights)


def _counts(maps: Tensor, masks: Tensor) -> tuple[Tensor, Tensor]:
    """(true positives, false positives) flagged at each distinct threshold."""
    return _cumulative(maps, masks, ~masks)


def pixel_curves(maps: Tensor, masks: Tensor, points: int = 1000
                 ) -> tuple[Tensor, Tensor, Tensor]:
    """(false-positive rate, true-positive rate = recall, precision) at up to ``points``
    of the distinct thresholds, highest first, for plotting."""
    maps, masks = _check(maps, masks)
    tp, fp = _counts(maps, masks)
    keep = torch.linspace(0, len(tp) - 1, min(points, len(tp))).round().long().unique()
    tp, fp = tp[keep], fp[keep]
    return fp / fp[-1], tp / tp[-1], tp / (tp + fp)


def _area(x: Tensor, y: Tensor) -> float:
    """Trapezoid area under the points (x, y) joined to (0, 0)."""
    zero = x.new_zeros(1)
    return float(torch.trapezoid(torch.cat([zero, y]), torch.cat([zero, x])))


def _auroc(tp: Tensor, fp: Tensor) -> float:
    return _area(fp / fp[-1], tp / tp[-1])


def _auprc(tp: Tensor, fp: Tensor) -> float:
    recall_steps = torch.diff(tp, prepend=tp.new_zeros(1)) / tp[-1]
    return float((recall_steps * tp / (tp + fp)).sum())


def _best_dice(tp: Tensor, fp: Tensor) -> float:
    return float((2 * tp / (tp + fp + tp[-1])).max())


def pixel_auroc(maps: Tensor, masks: Tensor) -> float:
    return _auroc(*_counts(*_check(maps, masks)))


def pixel_auprc(maps: Tensor, masks: Tensor) -> float:
    return _auprc(*_counts(*_check(maps, masks)))


def best_dice(maps: Tensor, masks: Tensor) -> float:
    return _best_dice(*_counts(*_check(maps, masks)))


def ranking_figures(maps: Tensor, masks: Tensor) -> dict[str, float]:
    """``pixel_auroc``, ``pixel_auprc`` and ``best_dice`` as the functions above give
    them, from one sort of the pixels (for maps too large to sort three times)."""
    tp, fp = _counts(*_check(maps, masks))
    return {"pixel_auroc": _auroc(tp, fp), "pixel_auprc": _auprc(tp, fp),
            "best_dice": _best_dice(tp, fp)}


def dice(maps: Tensor, masks: Tensor, threshold: float) -> float:
    """Dice of the pixels scoring above ``threshold``; 0 when none is flagged."""
    maps, masks = _check(maps, masks)
    flagged = maps > threshold
    overlap = (flagged & masks).sum().double()
    return float(2 * overlap / (flagged.sum() + masks.sum()))


def threshold_at_fpr(normal_maps: Tensor, fpr: float) -> float:
    """The lowest threshold t with at most a share ``fpr`` of ``normal_maps``' pixels
    above it (flagging > t): chosen on validation normals, it keeps the pixel
    false-positive rate of exchangeable normal images near ``fpr``."""
    scores = normal_maps.reshape(-1)
    allowed = int(fpr * scores.numel())
    if allowed >= scores.numel():
        return float(scores.min()) - 1.0
    return float(scores.double().topk(allowed + 1).values[-1])


def connected_regions(masks: Tensor) -> Tensor:
    """[N, H, W] int64 labels of the 8-connected regions of ``masks`` (0 = background;
    labels unique across images, not consecutive): each pixel takes the largest label
    in its 3x3 neighbourhood until none changes."""
    masks = masks.bool()
    ids = torch.arange(1, masks.numel() + 1, dtype=torch.float64).reshape(masks.shape)
    labels = torch.where(masks, ids, 0.0).unsqueeze(1)
    inside = masks.unsqueeze(1)
    while True:
        grown = torch.where(inside, F.max_pool2d(labels, 3, stride=1, padding=1), 0.0)
        if torch.equal(grown, labels):
            return labels.squeeze(1).long()
        labels = grown


def _region_weights(masks: Tensor, regions: Tensor) -> Tensor:
    """Per pixel 1 / (number of regions * size of its region), 0 outside the masks: summed
    over the flagged pixels, the mean share of each region flagged (PRO)."""
    _, region, sizes = torch.unique(regions, return_inverse=True, return_counts=True)
    count = len(sizes) - 1  # label 0 is the background
    return torch.where(masks, 1.0 / (count * sizes[region].double()), 0.0)


def _aupro(pro: Tensor, fp: Tensor, fpr_limit: float) -> float:
    fpr = fp / fp[-1]
    inside = fpr <= fpr_limit
    x, y = fpr[inside], pro[inside]
    if not bool(inside.all()):  # the point at the limit, between two thresholds
        after = int(inside.sum())
        x0, y0 = (fpr[after - 1], pro[after - 1]) if after else (fpr.new_zeros(()),) * 2
        x1, y1 = fpr[after], pro[after]
        y_limit = y0 + (y1 - y0) * (fpr_limit - x0) / (x1 - x0)
        x, y = torch.cat([x, x.new_tensor([fpr_limit])]), torch.cat([y, y_limit.reshape(1)])
    return _area(x, y) / fpr_limit


def aupro(maps: Tensor, masks: Tensor, fpr_limit: float = 0.3) -> float:
    """Normalized area under PRO(FPR) for FPR in [0, ``fpr_limit``] (the curve
    interpolated linearly at the limit)."""
    maps, masks = _check(maps, masks)
    pro, fp = _cumulative(maps, _region_weights(masks, connected_regions(masks)), ~masks)
    return _aupro(pro, fp, fpr_limit)


def pixel_figures(maps: Tensor, masks: Tensor, threshold: float, regions: Tensor | None = None,
                  fpr_limit: float = 0.3) -> dict[str, float]:
    """``pixel_auroc``, ``pixel_auprc``, ``best_dice``, ``dice`` at ``threshold`` and
    ``aupro``, as the functions above give them, from one sort of the pixels.
    ``regions``: ``connected_regions(masks)``, for a caller that scores many maps
    against the same masks (computed here when None)."""
    maps, masks = _check(maps, masks)
    regions = connected_regions(masks) if regions is None else regions
    tp, fp, pro = _cumulative(maps, masks, ~masks, _region_weights(masks, regions))
    return {"pixel_auroc": _auroc(tp, fp), "pixel_auprc": _auprc(tp, fp),
            "best_dice": _best_dice(tp, fp), "dice": dice(maps, masks, threshold),
            "aupro": _aupro(pro, fp, fpr_limit)}
