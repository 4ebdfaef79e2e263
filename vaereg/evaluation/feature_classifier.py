"""A small conv classifier trained on the dataset itself, whose penultimate layer is the
feature space of :func:`classifier_frechet_distance`.

No network is downloaded: the features are those of a classifier that vaereg trains
(seeded, a few epochs on CPU) and caches in a file the caller names. The figure is a
Fréchet distance in *this* classifier's features, comparable only between runs that
share the cached classifier; it is not FID (Inception features).
"""
from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from vaereg.core.atomic_file import atomic_write
from vaereg.core.errors import VaeregError
from vaereg.evaluation.frechet import frechet_distance


class FeatureClassifier(nn.Module):
    """Two stride-2 3x3 convolutions (32, 64 channels), a ``features``-wide ReLU layer
    (the features), then a linear head over the classes."""

    def __init__(self, input_shape: tuple[int, int, int], num_classes: int, features: int = 128):
        super().__init__()
        channels, height, width = input_shape
        flat = 64 * math.ceil(height / 4) * math.ceil(width / 4)
        self.body = nn.Sequential(
            nn.Conv2d(channels, 32, 3, 2, 1), nn.ReLU(), nn.Conv2d(32, 64, 3, 2, 1), nn.ReLU(),
            nn.Flatten(), nn.Linear(flat, features), nn.ReLU())
        self.head = nn.Linear(features, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x))

    @torch.no_grad()
    def features(self, x: Tensor, batch_size: int = 500) -> Tensor:
        """Penultimate activations [N, features], computed in eval mode."""
        self.eval()
        return torch.cat([self.body(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])


def train_feature_classifier(x: Tensor, y: Tensor, *, epochs: int = 3, seed: int = 0,
                             batch_size: int = 128, lr: float = 1e-3) -> FeatureClassifier:
    """Adam on cross-entropy; initialization and shuffling seeded by ``seed``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = FeatureClassifier(tuple(x.shape[1:]), int(y.max()) + 1).to(x.device)
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        generator = torch.Generator().manual_seed(seed)
        for _ in range(epochs):
            for index in torch.randperm(len(x), generator=generator).split(batch_size):
                index = index.to(x.device)
                loss = F.cross_entropy(model(x[index]), y[index])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
    return model.eval()


def load_feature_classifier(path: str | Path, x: Tensor, y: Tensor, *, epochs: int = 3,
                            seed: int = 0) -> FeatureClassifier:
    """The classifier cached at ``path``, trained on (x, y) and written there if missing.

    The file records what it was trained on (image shape, classes, count, a checksum of
    the images, epochs, seed); a file made for other data or settings is refused rather
    than silently reused.
    """
    settings = {"input_shape": list(x.shape[1:]), "num_classes": int(y.max()) + 1,
                "images": len(x), "checksum": float(x.double().sum()), "epochs": epochs,
                "seed": seed}
    path = Path(path)
    if path.exists():
        saved = torch.load(path, map_location=x.device, weights_only=True)
        if saved.get("settings") != settings:
            raise VaeregError(f"{path}: a feature classifier for other data or settings "
                              f"({saved.get('settings')}, wanted {settings}); delete it or "
                              f"give another path")
        model = FeatureClassifier(tuple(x.shape[1:]), settings["num_classes"]).to(x.device)
        model.load_state_dict(saved["state"])
        return model.eval()
    model = train_feature_classifier(x, y, epochs=epochs, seed=seed)
    state = {"settings": settings, "state": model.state_dict()}
    atomic_write(path, lambda handle: torch.save(state, handle))
    return model


def classifier_frechet_distance(samples: Tensor, reference: Tensor,
                                classifier: FeatureClassifier) -> float:
    """Fréchet distance between ``samples`` and ``reference`` images in the classifier's
    penultimate features."""
    return frechet_distance(classifier.features(samples), classifier.features(reference))
