"""The Fréchet distance against closed forms, and the classifier whose features feed it."""
import pytest
import torch

from vaereg.core.common.errors import VaeregError
from vaereg.data.tensor_split import TensorSplit
from vaereg.evaluation import classifier_frechet_distance, frechet_distance, load_feature_classifier


def test_a_set_is_at_distance_zero_from_itself_and_a_shift_adds_its_square():
    torch.manual_seed(0)
    features = torch.randn(300, 5) @ torch.randn(5, 5)
    shift = torch.tensor([1.0, -2.0, 0.0, 0.5, 3.0])
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-8)
    assert frechet_distance(features, features + shift) == pytest.approx(shift.pow(2).sum().item())


def test_scaling_matches_the_closed_form():
    """For b = c a: S_b = c^2 S_a, so d^2 = (1 - c)^2 (||mu_a||^2 + tr S_a), any S_a."""
    torch.manual_seed(0)
    a = torch.randn(300, 4) @ torch.randn(4, 4) + torch.tensor([1.0, 0.0, -1.0, 2.0])
    closed_form = a.double().mean(0).pow(2).sum() + torch.cov(a.double().T).trace()
    for c in (0.5, 1.1, 3.0):
        assert frechet_distance(a, c * a) == pytest.approx((1 - c) ** 2 * closed_form.item(),
                                                           rel=1e-6)


def prototype_images(n, seed):
    """Four classes of 8x8 images: a bright quadrant each, plus noise."""
    generator = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 4
    x = 0.1 * torch.rand(n, 1, 8, 8, generator=generator)
    for label, (r, c) in enumerate([(0, 0), (0, 4), (4, 0), (4, 4)]):
        x[y == label, :, r:r + 4, c:c + 4] += 0.8
    return x, y


def test_classifier_is_seeded_cached_and_tells_classes_apart(tmp_path, monkeypatch):
    from vaereg.evaluation import feature_classifier

    x, y = prototype_images(400, seed=0)
    path = tmp_path / "classifier.pt"
    first = load_feature_classifier(path, TensorSplit(x, y), epochs=2)
    assert path.exists()
    with monkeypatch.context() as patch:  # the second call must read the file, not train
        patch.setattr(feature_classifier, "train_feature_classifier",
                      lambda *args, **kwargs: pytest.fail("trained again despite the cache"))
        again = load_feature_classifier(path, TensorSplit(x, y), epochs=2)
    retrained = load_feature_classifier(tmp_path / "other.pt", TensorSplit(x, y), epochs=2)
    for model in (again, retrained):
        for p, q in zip(first.parameters(), model.parameters()):
            assert torch.equal(p, q)
    assert (first(x).argmax(1) == y).float().mean() == 1.0
    test_x, test_y = prototype_images(400, seed=1)
    same = classifier_frechet_distance(test_x[:200], test_x[200:], first)
    one_class = classifier_frechet_distance(test_x[test_y == 0], test_x[200:], first)
    assert classifier_frechet_distance(test_x, test_x, first) == pytest.approx(0.0, abs=1e-6)
    assert one_class > 10 * same


def test_a_cache_made_for_other_settings_is_refused(tmp_path):
    x, y = prototype_images(40, seed=0)
    load_feature_classifier(tmp_path / "c.pt", TensorSplit(x, y), epochs=1)
    with pytest.raises(VaeregError, match="other data or settings"):
        load_feature_classifier(tmp_path / "c.pt", TensorSplit(x, y), epochs=1, seed=5)
    x[3, 0, 2, 2] += 0.5  # one pixel changed
    with pytest.raises(VaeregError, match="other data or settings"):
        load_feature_classifier(tmp_path / "c.pt", TensorSplit(x, y), epochs=1)
