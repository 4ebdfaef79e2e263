"""The MMD estimator is the unbiased U-statistic, and its per-example split is exact."""
import itertools
import math

import pytest
import torch

import vaereg
from vaereg import kernel_matrix, mmd, mmd_per_example

SCALES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


def k(a, b, kernel, sigma2=1.0):
    """One kernel value by the paper's formula, summed over the WAE authors' scales."""
    c = 2 * a.numel() * sigma2
    d2 = float(((a - b) ** 2).sum())
    if kernel == "imq":
        return sum(s * c / (s * c + d2) for s in SCALES)
    return sum(math.exp(-d2 / (s * c)) for s in SCALES)


def brute_force(z, p, kernel, sigma2=1.0):
    n, m = len(z), len(p)
    within_z = sum(k(z[i], z[j], kernel, sigma2) for i, j in itertools.permutations(range(n), 2))
    within_p = sum(k(p[i], p[j], kernel, sigma2) for i, j in itertools.permutations(range(m), 2))
    across = sum(k(z[i], p[j], kernel, sigma2) for i in range(n) for j in range(m))
    return within_z / (n * (n - 1)) + within_p / (m * (m - 1)) - 2 * across / (n * m)


@pytest.mark.parametrize("kernel", ["imq", "rbf"])
@pytest.mark.parametrize("n,m", [(6, 6), (5, 8)])
def test_estimator_is_the_double_sum_over_pairs_without_the_diagonal(kernel, n, m):
    g = torch.Generator().manual_seed(n * m)
    z = torch.randn(n, 3, generator=g, dtype=torch.float64) + 0.5
    p = torch.randn(m, 3, generator=g, dtype=torch.float64)
    assert float(mmd(z, p, kernel)) == pytest.approx(brute_force(z, p, kernel), rel=1e-12)


def test_sigma2_sets_the_kernel_width():
    z, p = torch.randn(4, 2, dtype=torch.float64), torch.randn(4, 2, dtype=torch.float64)
    assert float(mmd(z, p, sigma2=3.0)) == pytest.approx(brute_force(z, p, "imq", 3.0), rel=1e-12)


@pytest.mark.parametrize("kernel", ["imq", "rbf"])
def test_per_example_terms_average_to_the_batch_estimate(kernel):
    z, p = torch.randn(9, 4, dtype=torch.float64) * 2, torch.randn(9, 4, dtype=torch.float64)
    shares = mmd_per_example(z, p, kernel)
    assert shares.shape == (9,)
    assert float(shares.mean()) == pytest.approx(float(mmd(z, p, kernel)), rel=1e-12)
    assert len(set(shares.tolist())) == 9  # one share each, not the batch value repeated


def test_kernel_matrix_entries_follow_the_formula():
    a, b = torch.randn(3, 5, dtype=torch.float64), torch.randn(2, 5, dtype=torch.float64)
    matrix = kernel_matrix(a, b)
    assert matrix.shape == (3, 2)
    assert float(matrix[2, 1]) == pytest.approx(k(a[2], b[1], "imq"), rel=1e-12)


def test_matching_samples_score_lower_than_shifted_ones():
    g = torch.Generator().manual_seed(0)
    p = torch.randn(200, 4, generator=g)
    same = mmd(torch.randn(200, 4, generator=g), p)
    shifted = mmd(torch.randn(200, 4, generator=g) + 1.0, p)
    assert abs(float(same)) < 0.05 < float(shifted)


def test_one_code_has_no_pairs():
    with pytest.raises(ValueError, match="at least 2"):
        mmd_per_example(torch.zeros(1, 2), torch.zeros(1, 2))


def test_prior_mmd_draws_as_many_prior_samples_as_codes():
    prior = torch.distributions.Independent(torch.distributions.Normal(torch.zeros(3), 2.0), 1)
    z = torch.randn(7, 3)
    torch.manual_seed(1)
    shares = vaereg.prior_mmd(z, prior)
    torch.manual_seed(1)
    expected = mmd_per_example(z, prior.sample((7,)), sigma2=4.0)
    assert torch.equal(shares, expected)
