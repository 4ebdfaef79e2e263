"""Localization figures against direct computations on small maps and masks."""
from __future__ import annotations

import pytest
import torch

from vaereg.evaluation.auroc_interval import auroc_interval
from vaereg.evaluation.localization import (aupro, best_dice, connected_regions, dice,
                                            pixel_auprc, pixel_auroc, pixel_curves,
                                            pixel_figures, ranking_figures,
                                            threshold_at_fpr)


def maps_and_masks(n=6, size=6, seed=0, levels=5):
    """Maps with many ties (``levels`` values) that score anomalous pixels higher."""
    generator = torch.Generator().manual_seed(seed)
    masks = torch.zeros(n, size, size, dtype=torch.bool)
    for i in range(n // 2):
        masks[i, i % 3:i % 3 + 2, 1:4] = True
    noise = torch.randint(levels, (n, size, size), generator=generator).float()
    return noise + 2 * masks, masks


def rank_auroc(scores, labels):
    """Mann-Whitney: (sum of the anomalies' average ranks - m(m+1)/2) / (m n)."""
    scores, labels = scores.reshape(-1).double(), labels.reshape(-1).bool()
    distinct, inverse, counts = torch.unique(scores, return_inverse=True, return_counts=True)
    counts = counts.double()
    first = counts.cumsum(0) - counts + 1
    ranks = (first + (counts - 1) / 2)[inverse]
    m, n = int(labels.sum()), int((~labels).sum())
    return float((ranks[labels].sum() - m * (m + 1) / 2) / (m * n))


def direct_counts(maps, masks, t, strict=False):
    flagged = maps > t if strict else maps >= t
    return int((flagged & masks).sum()), int((flagged & ~masks).sum())


def test_pixel_auroc_is_the_rank_formula():
    maps, masks = maps_and_masks()
    assert pixel_auroc(maps, masks) == pytest.approx(rank_auroc(maps, masks), abs=1e-12)
    assert pixel_auroc(-maps, masks) == pytest.approx(1 - rank_auroc(maps, masks), abs=1e-12)
    assert pixel_auroc(masks.float(), masks) == 1.0


def test_pixel_auprc_is_average_precision_over_distinct_thresholds():
    maps, masks = maps_and_masks(seed=1)
    positives = int(masks.sum())
    expected, last_recall = 0.0, 0.0
    for t in maps.unique().flip(0):
        tp, fp = direct_counts(maps, masks, t)
        expected += (tp / positives - last_recall) * tp / (tp + fp)
        last_recall = tp / positives
    assert pixel_auprc(maps, masks) == pytest.approx(expected, abs=1e-12)
    assert pixel_auprc(masks.float(), masks) == 1.0


def test_best_dice_is_the_best_over_thresholds_and_dice_counts_pixels_above_one():
    maps, masks = maps_and_masks(seed=2)
    positives = int(masks.sum())
    scores = []
    for t in maps.unique():
        tp, fp = direct_counts(maps, masks, t)
        scores.append(2 * tp / (2 * tp + fp + positives - tp))
    assert best_dice(maps, masks) == pytest.approx(max(scores), abs=1e-12)
    tp, fp = direct_counts(maps, masks, 3.0, strict=True)
    assert dice(maps, masks, 3.0) == pytest.approx(2 * tp / (tp + fp + positives), abs=1e-12)
    assert dice(maps, masks, float(maps.max())) == 0.0


def test_the_threshold_at_a_false_positive_rate_flags_at_most_that_share_of_normals():
    normals = torch.rand(20, 5, 5, generator=torch.Generator().manual_seed(3))
    for fpr in (0.0, 0.01, 0.1, 0.5):
        t = threshold_at_fpr(normals, fpr)
        assert int((normals > t).sum()) <= fpr * normals.numel()
        assert int((normals >= t).sum()) > fpr * normals.numel()  # the lowest such threshold
    ties = torch.zeros(2, 3, 3)
    assert float((ties > threshold_at_fpr(ties, 0.2)).float().mean()) == 0.0


def test_regions_are_8_connected_and_unique_across_images():
    masks = torch.zeros(2, 5, 5, dtype=torch.bool)
    masks[0, 0, 0] = masks[0, 1, 1] = masks[0, 2, 2] = True  # one diagonal region
    masks[0, 4, 0] = True                                   # a second
    masks[1, 0:2, 3:5] = True                               # a third, in image 1
    masks[1, 4, 4] = True                                   # a fourth
    labels = connected_regions(masks)
    assert len(labels[masks].unique()) == 4 and bool((labels[~masks] == 0).all())
    assert len(labels[0, :3, :3][masks[0, :3, :3]].unique()) == 1


def direct_aupro(maps, masks, limit):
    """PRO and FPR at every threshold (regions of one image are its 8-connected parts)."""
    labels = connected_regions(masks)
    regions = [labels == r for r in labels[masks].unique()]
    points = [(0.0, 0.0)]
    for t in maps.unique().flip(0):
        flagged = maps >= t
        fpr = int((flagged & ~masks).sum()) / int((~masks).sum())
        pro = sum(int((flagged & r).sum()) / int(r.sum()) for r in regions) / len(regions)
        points.append((fpr, pro))
    area = 0.0
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if x0 >= limit:
            break
        if x1 > limit:
            y1, x1 = y0 + (y1 - y0) * (limit - x0) / (x1 - x0), limit
        area += (x1 - x0) * (y0 + y1) / 2
    return area / limit


@pytest.mark.parametrize("limit", [0.3, 0.05, 1.0])
def test_aupro_is_the_mean_region_overlap_integrated_up_to_the_limit(limit):
    maps, masks = maps_and_masks(seed=4, levels=7)
    masks[0, 4:6, 4:6] = True  # a second, smaller region in image 0 weighs as much
    assert aupro(maps, masks, limit) == pytest.approx(direct_aupro(maps, masks, limit),
                                                      abs=1e-12)
    assert aupro(masks.float(), masks, limit) == pytest.approx(1.0, abs=1e-12)


def test_all_figures_from_one_sort_equal_the_direct_computations_also_on_a_subset():
    maps, masks = maps_and_masks(n=8, seed=6, levels=7)
    masks[0, 4:6, 4:6] = True
    regions = connected_regions(masks)
    rows = torch.tensor([0, 2, 3, 5, 6])  # a subset scored with the whole set's regions
    for chosen, given in ((slice(None), None), (slice(None), regions), (rows, regions[rows])):
        m, k = maps[chosen], masks[chosen]
        figures = pixel_figures(m, k, 3.0, given, fpr_limit=0.2)
        assert figures == pytest.approx({
            "pixel_auroc": rank_auroc(m, k), "pixel_auprc": pixel_auprc(m, k),
            "best_dice": best_dice(m, k), "dice": dice(m, k, 3.0),
            "aupro": direct_aupro(m, k, 0.2)}, abs=1e-12)


def test_the_ranking_figures_from_one_sort_equal_the_direct_computations():
    maps, masks = maps_and_masks(n=8, seed=7, levels=4)
    assert ranking_figures(maps, masks) == pytest.approx({
        "pixel_auroc": rank_auroc(maps, masks), "pixel_auprc": pixel_auprc(maps, masks),
        "best_dice": best_dice(maps, masks)}, abs=1e-12)
    assert ranking_figures(masks.float(), masks) == {"pixel_auroc": 1.0, "pixel_auprc": 1.0,
                                                     "best_dice": 1.0}


def test_ten_thousand_maps_score_as_the_known_distributions_say():
    """Anomalous pixels uniform on [0.5, 1.5], normal ones on [0, 1]: P(a > n) = 7/8."""
    generator = torch.Generator().manual_seed(5)
    masks = torch.zeros(10_000, 28, 28, dtype=torch.bool)
    masks[::2, 5:9, 5:9] = True
    maps = torch.rand(masks.shape, generator=generator) + 0.5 * masks
    assert pixel_auroc(maps, masks) == pytest.approx(0.875, abs=2e-3)
    # at FPR f <= 0.5 a threshold 1 - f flags each region's share min(1, (0.5 + f))
    assert aupro(maps, masks, 0.3) == pytest.approx(0.65, abs=5e-3)


def test_the_bootstrap_interval_holds_the_auroc_and_narrows_with_more_images():
    def interval(n):
        maps, masks = maps_and_masks(n=n, seed=6, levels=20)
        return pixel_auroc(maps, masks), auroc_interval(maps, masks, draws=300)

    small_auroc, (low, high) = interval(8)
    large_auroc, (large_low, large_high) = interval(128)
    assert low < small_auroc < high and large_low < large_auroc < large_high
    assert large_high - large_low < (high - low) / 2
    scores = torch.arange(10.0)
    labels = (scores >= 5).long()
    assert auroc_interval(scores, labels) == (1.0, 1.0)


def test_pixel_curves_end_at_every_pixel_flagged_and_match_the_areas():
    maps, masks = maps_and_masks(seed=7)
    fpr, tpr, precision = pixel_curves(maps, masks)
    assert fpr[-1] == 1 and tpr[-1] == 1 and bool((fpr.diff() >= 0).all())
    assert precision[-1] == pytest.approx(float(masks.float().mean()))
    area = float(torch.trapezoid(torch.cat([torch.zeros(1), tpr.double()]),
                                 torch.cat([torch.zeros(1), fpr.double()])))
    assert area == pytest.approx(pixel_auroc(maps, masks), abs=1e-12)  # fewer than 1000 points
