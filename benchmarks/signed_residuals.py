"""Do signed residual maps find brighter-than-expected defects? On the localization
benchmark's trained runs (``benchmarks/localization.py``; nothing is trained here), the
pixel AUPRC and best Dice, per defect kind, of maps that keep one sign of the residual
x - E[x|z] (Baur et al. 2021 keep the positive part for hyperintense FLAIR lesions),
beside ``residual`` (|x - E[x|z]|) and the ``intensity`` baseline; each also smoothed
(Gaussian, sigma 1 and 2 pixels). 4 posterior samples, z drawn with torch seed 0.

- ``residual_positive``: max(x - E[x|z], 0); ``residual_negative``: max(E[x|z] - x, 0).
- ``deviance_positive``: the Bernoulli deviance x log(x/p) + (1-x) log((1-x)/(1-p)),
  p = E[x|z], where x > p (the per-pixel NLL less that of a perfect fit), else 0.
- ``gaussian_positive``: max((x - mu) / sigma, 0), mu and sigma per pixel of the
  training images.

    python benchmarks/signed_residuals.py [--out runs/localization] [--seed 0]
"""
from __future__ import annotations

import argparse

import torch

from vaereg.data.split_images import split_images
from vaereg.evaluation.anomaly_maps import smooth
from vaereg.evaluation.baseline_maps import PixelGaussian
from vaereg.evaluation.defect_set import labelled_defects
from vaereg.evaluation.localization import best_dice, pixel_auprc
from vaereg.evaluation.run_loading import load_run

RECIPES = ("unregularized", "dropout", "weight_decay", "batchnorm", "kl_warmup", "swept")
SAMPLES = 4
EPSILON = 1e-6


@torch.no_grad()
def signed_maps(run, x: torch.Tensor) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    posterior = run.model.encode(x, None)
    signed = torch.zeros(x.shape[0], *x.shape[2:])
    deviance = torch.zeros_like(signed)
    for _ in range(SAMPLES):
        p = run.model.likelihood.mean(run.model.decode(posterior.rsample(), None))
        signed += (x - p).mean(1)
        p, xc = p.clamp(EPSILON, 1 - EPSILON), x.clamp(EPSILON, 1 - EPSILON)
        pixel = x * (xc / p).log() + (1 - x) * ((1 - xc) / (1 - p)).log()
        deviance += (pixel * (x > p)).mean(1)
    signed, deviance = signed / SAMPLES, deviance / SAMPLES
    gaussian = PixelGaussian.fit(run.splits.train)
    z = ((x - gaussian.mean) / gaussian.std).mean(1)
    return {"residual": signed.abs(), "residual_positive": signed.clamp_min(0),
            "residual_negative": (-signed).clamp_min(0), "deviance_positive": deviance,
            "gaussian_positive": z.clamp_min(0), "intensity": x.mean(1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/localization",
                        help="the folder of benchmarks/localization.py, its runs trained")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print("| recipe | kind | map | sigma | pixel AUPRC | best Dice |")
    print("| --- | --- | --- | ---: | ---: | ---: |")
    for recipe in RECIPES:
        run = load_run(f"{args.out}/runs/{recipe}/seed_{args.seed}/version_0", "best")
        defects = labelled_defects(run)
        x, _ = split_images(defects.anomaly_set.split)
        maps = signed_maps(run, x)
        kinds, masks = defects.kinds, defects.masks
        for kind in sorted(set(kinds) - {"good"}):
            rows = torch.tensor([k in (kind, "good") for k in kinds])
            for name, values in maps.items():
                for sigma in (0.0, 1.0, 2.0):
                    chosen = smooth(values[rows], sigma)
                    print(f"| {recipe} | {kind} | {name} | {sigma:g} | "
                          f"{pixel_auprc(chosen, masks[rows]):.3f} | "
                          f"{best_dice(chosen, masks[rows]):.3f} |", flush=True)


if __name__ == "__main__":
    main()
