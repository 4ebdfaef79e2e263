"""The cost of each anomaly score per image: every metric alone on the first N test images
of a run, timed, and its ratio to the ``elbo`` metric's time (one ELBO pass), which is
what transfers between machines. ``likelihood_ratio`` also fits its background model,
``combined`` scores the validation split and the latent distances encode the training
split: that fixed cost is printed apart (the
metric timed once with the images, once with one image).

    python benchmarks/anomaly_score_cost.py RUN_DIR [--images 500] [--metrics combined ...]
"""
from __future__ import annotations

import argparse
import time

import torch

from vaereg import load_run
from vaereg.evaluation import evaluate

METRICS = ("elbo", "reconstruction", "complexity", "combined", "likelihood_regret",
           "likelihood_ratio", "latent_mahalanobis", "latent_knn", "combined_latent")

#: metrics with a cost per evaluation besides the cost per image
FIXED = {"likelihood_ratio": "background fit on {run.splits.train.x.shape[0]} training images, 1 epoch:",
         "combined": "the validation split's {run.splits.val.x.shape[0]} images scored:",
         "latent_mahalanobis": "{run.splits.train.x.shape[0]} training images encoded:",
         "latent_knn": "{run.splits.train.x.shape[0]} training images encoded:",
         "combined_latent": "{run.splits.train.x.shape[0]} training images encoded and the "
                            "validation split's {run.splits.val.x.shape[0]} images scored:"}


def seconds(run, metric: str, n: int) -> float:
    images = run.splits.test.select(torch.arange(n))
    start = time.perf_counter()
    evaluate(run.model, images, [metric], train=run.splits.train, val=run.splits.val,
             batch_size=run.recipe.data.loader.batch_size)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--metrics", nargs="+", default=METRICS[1:], choices=METRICS[1:],
                        help="the metrics timed beside elbo (default: all)")
    args = parser.parse_args()
    run = load_run(args.run_dir)
    n = args.images
    elbo = seconds(run, "elbo", n) / n
    print(f"elbo: {1000 * elbo:.3f} ms per image")
    for metric in args.metrics:
        per_image = seconds(run, metric, n) / n
        if metric in FIXED:
            fixed = seconds(run, metric, 1)
            per_image = (per_image * n - fixed) / (n - 1)
            print(f"{metric}: {FIXED[metric].format(run=run)} {fixed:.1f} s")
        print(f"{metric}: {1000 * per_image:.3f} ms per image, {per_image / elbo:.1f} x elbo")


if __name__ == "__main__":
    main()
