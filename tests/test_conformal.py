"""Conformal p-values and Benjamini-Hochberg against their definitions and guarantees."""
from __future__ import annotations

import math

import torch

from vaereg.evaluation.conformal import benjamini_hochberg, conformal_p_values


def test_p_values_count_the_calibration_scores_at_least_as_high():
    calibration = torch.tensor([1.0, 2.0, 2.0, 3.0])
    scores = torch.tensor([0.0, 2.0, 2.5, 3.0, 9.0])
    expected = [(1 + 4) / 5, (1 + 3) / 5, (1 + 1) / 5, (1 + 1) / 5, 1 / 5]
    assert conformal_p_values(calibration, scores).tolist() == expected


def test_flagging_exchangeable_normals_keeps_the_false_positive_rate_within_alpha():
    """Over 4,000 draws of 19 calibration scores and one normal score, P(p <= 0.1) is
    exactly 2/20 = 0.1 for continuous scores: the rate stays within binomial noise."""
    generator = torch.Generator().manual_seed(0)
    draws, n, alpha = 4000, 19, 0.1
    calibration = torch.randn(draws, n, generator=generator)
    normal = torch.randn(draws, generator=generator)
    flagged = torch.stack([conformal_p_values(calibration[i], normal[i:i + 1])
                           for i in range(draws)]).reshape(-1) <= alpha
    noise = 3 * math.sqrt(alpha * (1 - alpha) / draws)
    assert abs(float(flagged.double().mean()) - 0.1) <= noise
    shifted = torch.stack([conformal_p_values(calibration[i], normal[i:i + 1] + 3)
                           for i in range(200)]).reshape(-1) <= alpha
    assert float(shifted.double().mean()) > 0.8  # anomalies are flagged


def test_benjamini_hochberg_is_the_step_up_rule():
    p = torch.tensor([0.01, 0.04, 0.03, 0.20, 0.005])
    # sorted 0.005 0.01 0.03 0.04 0.2 against 0.05 k / 5 = .01 .02 .03 .04 .05: k = 4
    assert benjamini_hochberg(p, 0.05).tolist() == [True, True, True, False, True]
    assert not benjamini_hochberg(torch.tensor([0.5, 0.9]), 0.05).any()


def test_benjamini_hochberg_controls_the_false_discovery_rate_over_batches():
    generator = torch.Generator().manual_seed(1)
    alpha, rates = 0.1, []
    for _ in range(300):
        calibration = torch.randn(99, generator=generator)
        normal = torch.randn(40, generator=generator)
        anomalous = torch.randn(10, generator=generator) + 3
        p = conformal_p_values(calibration, torch.cat([normal, anomalous]))
        flagged = benjamini_hochberg(p, alpha)
        rates.append(float(flagged[:40].sum()) / max(int(flagged.sum()), 1))
    assert sum(rates) / len(rates) <= alpha + 0.02
