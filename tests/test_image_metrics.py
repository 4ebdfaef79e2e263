"""Reconstruction errors, diversity and nearest distances against brute force."""
import math

import pytest
import torch

from vaereg.evaluation import (mean_pairwise_distance, nearest_distances, reconstruction_errors,
                               sample_diversity)


def test_reconstruction_errors_per_image():
    torch.manual_seed(0)
    target = torch.rand(3, 1, 16, 16)
    noisy = (target + 0.1 * torch.randn_like(target)).clamp(0, 1)
    errors = reconstruction_errors(torch.stack([target[0], noisy[1], 1 - target[2]]), target)
    mse = [0.0] + [((a - b) ** 2).mean().item() for a, b in ((noisy[1], target[1]),
                                                           (1 - target[2], target[2]))]
    torch.testing.assert_close(errors["mse"], torch.tensor(mse))
    assert errors["psnr"][1:].tolist() == pytest.approx([10 * math.log10(1 / m) for m in mse[1:]],
                                                        rel=1e-5)
    assert errors["ssim"][0].item() == pytest.approx(1.0, abs=1e-6)
    assert 0 < errors["ssim"][1] < 1 and errors["ssim"][2] < errors["ssim"][1]


def test_mean_pairwise_distance_matches_brute_force():
    torch.manual_seed(0)
    images = torch.rand(7, 1, 3, 3)
    pairs = [(images[i] - images[j]).norm().item() for i in range(7) for j in range(i + 1, 7)]
    assert mean_pairwise_distance(images) == pytest.approx(sum(pairs) / len(pairs))


def test_diversity_of_identical_samples_is_zero_and_of_the_data_itself_one():
    reference = torch.rand(10, 1, 4, 4)
    assert sample_diversity(reference[:1].repeat(5, 1, 1, 1), reference) == 0.0
    assert sample_diversity(reference, reference) == pytest.approx(1.0)
    assert sample_diversity(0.5 * reference, reference) == pytest.approx(0.5)


def test_nearest_distances_across_chunks_and_exact_copies():
    torch.manual_seed(0)
    train = torch.rand(50, 1, 5, 5)
    queries = torch.cat([train[[3, 41]], torch.rand(4, 1, 5, 5)])
    brute = torch.cdist(queries.flatten(1).double(), train.flatten(1).double()).min(1).values
    found = nearest_distances(queries, train, chunk=8)
    assert found[:2].tolist() == [0.0, 0.0]
    torch.testing.assert_close(found.double(), brute)
