"""The feature classifier of classifier_frechet_distance on Fashion-MNIST: training
time, test accuracy, and the distance between the two halves of the test set (the
figure's floor for 5000 images; a model's samples should be read against it).

    python benchmarks/feature_classifier.py [--epochs 3]
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import click
import torch

from vaereg.data.fashion_mnist import FashionMNIST
from vaereg.evaluation import classifier_frechet_distance, load_feature_classifier


@click.command()
@click.option("--epochs", default=3, show_default=True, help="training epochs")
def main(epochs: int) -> None:
    splits = FashionMNIST(FashionMNIST.Options(download=False)).load(seed=0)
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        classifier = load_feature_classifier(Path(folder) / "c.pt", splits.train,
                                             epochs=epochs)
        seconds = time.perf_counter() - start
    test = splits.test
    with torch.no_grad():
        accuracy = (classifier(test.x).argmax(1) == test.y).float().mean().item()
    floor = classifier_frechet_distance(test.x[:5000], test.x[5000:], classifier)
    print(f"{epochs} epochs on {len(splits.train)} images ({torch.get_num_threads()} threads): "
          f"{seconds:.0f} s; test accuracy {accuracy:.3f}; "
          f"classifier Frechet distance between test halves {floor:.3f}")


if __name__ == "__main__":
    main()
