"""The confidence intervals of vaereg compare, against values worked out by hand."""
import math

import pytest

from vaereg.experiments.statistics import (mean_interval, paired_difference,
                                           t_central_probability, t_quantile)


@pytest.mark.parametrize("df, expected", [(1, 12.7062), (2, 4.3027), (3, 3.1824),
                                          (4, 2.7764), (9, 2.2622), (30, 2.0423)])
def test_t_quantile_matches_the_table(df, expected):
    assert t_quantile(0.95, df) == pytest.approx(expected, abs=1e-4)


def test_t_probability_of_one_degree_is_the_cauchy_one():
    # P(|T| < 1) for the Cauchy distribution is 2/pi * atan(1) = 1/2
    assert t_central_probability(1.0, 1) == pytest.approx(0.5)


def test_mean_interval_by_hand():
    # mean 2, s = 1, t(0.975, 2) = 4.3027: 2 ± 4.3027 / sqrt(3) = 2 ± 2.4841
    estimate = mean_interval([1.0, 2.0, 3.0])
    assert estimate.mean == 2.0
    assert (estimate.low, estimate.high) == pytest.approx((-0.4841, 4.4841), abs=1e-4)


def test_paired_interval_uses_the_differences():
    # differences 1, 2, 4: mean 7/3, s = sqrt(7/3) = 1.5275, ± 4.3027 * 1.5275 / sqrt(3)
    estimate = paired_difference([2.0, 4.0, 7.0], [1.0, 2.0, 3.0])
    assert estimate.mean == pytest.approx(7 / 3)
    assert estimate.half_width == pytest.approx(3.7946, abs=1e-4)


def test_a_shared_seed_effect_cancels_in_the_paired_interval():
    baseline = [100.0, 110.0, 120.0]
    unpaired = mean_interval(baseline)
    paired = paired_difference([b - 1.0 for b in baseline], baseline)
    assert paired.mean == pytest.approx(-1.0) and paired.half_width == pytest.approx(0.0)
    assert unpaired.half_width > 10


def test_one_value_has_no_interval():
    estimate = mean_interval([5.0])
    assert estimate.mean == 5.0 and math.isnan(estimate.low) and math.isnan(estimate.high)


def test_unequal_pairs_are_refused():
    with pytest.raises(ValueError):
        paired_difference([1.0, 2.0], [1.0])
