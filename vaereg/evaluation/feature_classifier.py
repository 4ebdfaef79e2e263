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
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from vaereg.core.common.atomic_file import atomic_write
from vaereg.core.common.errors import VaeregError
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


def train_feature_classifier(split: Any, *, epochs: int = 3, seed: int = 0,
                             batch_size: int = 128, lr: float = 1e-3) -> FeatureClassifier:
    """Adam on cross-entropy over a labelled split (``batches``, ``y``), read a batch at a
    time (a streamed split is never all in memory); initialization and shuffling seeded
    by ``seed``. Tensors in memory: ``TensorSplit(x, y)``."""
    if split.y is None:
        raise VaeregError("the feature classifier trains on labels, but this split has none")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        first = next(iter(split.batches(batch_size))).x
        model = FeatureClassifier(tuple(first.shape[1:]), int(split.y.max()) + 1).to(first.device)
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        generator = torch.Generator().manual_seed(seed)
        for _ in range(epochs):
            for batch in split.batches(batch_size, generator):
                loss = F.cross_entropy(model(batch.x), batch.y)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
    return model.eval()


def data_settings(split: Any, batch_size: int = 500) -> dict[str, Any]:
    """What a cached classifier records of its training data, from one pass over it:
    image shape, classes, count and a checksum of the pixels."""
    shape, count, sums = None, 0, []
    for batch in split.batches(batch_size):
        shape, count = list(batch.x.shape[1:]), count + len(batch)
        sums.append(float(batch.x.double().sum()))
    return {"input_shape": shape, "num_classes": int(split.y.max()) + 1, "images": count,
            "checksum": math.fsum(sums)}


def load_feature_classifier(path: str | Path, split: Any, *, epochs: int = 3,
                            seed: int = 0) -> FeatureClassifier:
    """The classifier cached at ``path``, trained on the labelled ``split`` and written
    there if missing.

    The file records what it was trained on (image shape, classes, count, a checksum of
    the images, epochs, seed); a file made for other data or settings is refused rather
    than silently reused.
    """
    if split.y is None:
        raise VaeregError("the feature classifier trains on labels, but this split has none")
    settings = {**data_settings(split), "epochs": epochs, "seed": seed}
    path = Path(path)
    if path.exists():
        device = next(iter(split.batches(1))).x.device
        saved = torch.load(path, map_location=device, weights_only=True)
        if saved.get("settings") != settings:
            raise VaeregError(f"{path}: a feature classifier for other data or settings "
                              f"({saved.get('settings')}, wanted {settings}); delete it or "
                              f"give another path")
        model = FeatureClassifier(tuple(settings["input_shape"]),
                                  settings["num_classes"]).to(device)
        model.load_state_dict(saved["state"])
        return model.eval()
    model = train_feature_classifier(split, epochs=epochs, seed=seed)
    state = {"settings": settings, "state": model.state_dict()}
    atomic_write(path, lambda handle: torch.save(state, handle))
    return model


def classifier_frechet_distance(samples: Tensor, reference: Tensor,
                                classifier: FeatureClassifier) -> float:
    """Fréchet distance between ``samples`` and ``reference`` images in the classifier's
    penultimate features."""
    return frechet_distance(classifier.features(samples), classifier.features(reference))
