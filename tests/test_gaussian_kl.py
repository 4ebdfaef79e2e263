"""The closed-form KL the VAEs train on is the KL: a Monte-Carlo estimate agrees."""
import torch

from vaereg.models.gaussian import diagonal_gaussian, kl_to_standard_normal, standard_normal


def test_closed_form_kl_equals_monte_carlo_within_its_standard_error():
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(4, 3, generator=g, dtype=torch.float64)
    logvar = torch.randn(4, 3, generator=g, dtype=torch.float64)
    q, p = diagonal_gaussian(mu, logvar), standard_normal(3)
    torch.manual_seed(0)
    z = q.sample((200_000,))
    log_ratio = q.log_prob(z) - p.log_prob(z).to(torch.float64)  # [samples, batch]
    estimate = log_ratio.mean(0)
    standard_error = log_ratio.std(0) / log_ratio.shape[0] ** 0.5
    closed = kl_to_standard_normal(q).sum(1)
    assert closed.shape == (4,)
    assert ((closed - estimate).abs() < 4 * standard_error).all(), (closed, estimate)
    assert (standard_error < 0.05 * closed).all()  # the check is tight enough to mean it
