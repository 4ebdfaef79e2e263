"""Which map finds brighter-than-expected defects? On the localization benchmark's trained
runs (``benchmarks/localization.py``; nothing is trained here), the pixel AUPRC and best
Dice, per defect kind, of vaereg's maps (``nll``, ``residual``, ``hyperintensity``,
``gradient``, ``combi``, ``restoration``) and of candidate maps that keep one sign of
the residual x - E[x|z] (Baur et al. 2021 keep the positive part for hyperintense FLAIR
lesions) or weigh it by the pixel's intensity, beside the ``intensity`` baseline; each
also smoothed (Gaussian, sigma 1 and 2 pixels). 4 posterior samples, z drawn with torch
seed 0.

- ``residual_positive``: max(x - E[x|z], 0); ``residual_negative``: max(E[x|z] - x, 0).
- ``deviance_positive``: the Bernoulli deviance x log(x/p) + (1-x) log((1-x)/(1-p)),
  p = E[x|z], where x > p (the per-pixel NLL less that of a perfect fit), else 0.
- ``gaussian_positive``: max((x - mu) / sigma, 0), mu and sigma per pixel of the
  training images.
- ``intensity*<map>``: x times ``residual``, ``residual_positive`` or
  ``deviance_positive``: a residual counted only where the pixel is bright.

``--defects test`` scores the set's own test images (choosing a map there would tune on
the test masks); ``--defects validation`` (the default) scores defects the set never
holds, for choosing fairly: the set's ``val/good/`` normals and 50 defects per kind drawn
(``synthetic_defects.add_defect``, generator seed 1001) on Fashion-MNIST training images
the set did not use.

    python benchmarks/signed_residuals.py [--out runs/localization] [--seed 0]
        [--defects validation|test]
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from synthetic_defects import KINDS, add_defect, existing_size
from vaereg.data.split_images import split_images
from vaereg.evaluation.anomaly_maps import model_maps, smooth
from vaereg.evaluation.baseline_maps import PixelGaussian
from vaereg.evaluation.defect_set import labelled_defects
from vaereg.evaluation.localization import best_dice, pixel_auprc
from vaereg.evaluation.run_loading import load_run

RECIPES = ("unregularized", "dropout", "weight_decay", "batchnorm", "kl_warmup", "swept")
SAMPLES = 4
VALIDATION_SEED = 1001  # the generator of the validation defects (the set's is its seed)
PER_KIND = 50


@torch.no_grad()
def candidate_maps(run, x: torch.Tensor) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    maps = model_maps(run.model, x)
    torch.manual_seed(0)
    posterior = run.model.encode(x, None)
    signed = torch.zeros(x.shape[0], *x.shape[2:])
    deviance = torch.zeros_like(signed)
    likelihood = run.model.likelihood
    perfect_fit = likelihood.perfect_fit_nll(x)
    for _ in range(SAMPLES):
        output = run.model.decode(posterior.rsample(), None)
        p = likelihood.mean(output)
        signed += (x - p).mean(1)
        deviance += ((likelihood.nll_per_element(output, x) - perfect_fit) * (x > p)).mean(1)
    signed, deviance = signed / SAMPLES, deviance / SAMPLES
    gaussian = PixelGaussian.fit(run.splits.train)
    z = ((x - gaussian.mean) / gaussian.std).mean(1)
    intensity = x.mean(1)
    maps.update({"residual_positive": signed.clamp_min(0),
                 "residual_negative": (-signed).clamp_min(0), "deviance_positive": deviance,
                 "gaussian_positive": z.clamp_min(0), "intensity": intensity})
    for name in ("residual", "residual_positive", "deviance_positive"):
        maps[f"intensity*{name}"] = intensity * maps[name]
    return maps


def validation_defects(root: str) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """PER_KIND defects per kind on training images the set at ``root`` left out (its
    generator's permutation past train + val), drawn with VALIDATION_SEED."""
    from pathlib import Path

    from vaereg.data.fashion_mnist import FashionMNIST

    size = existing_size(Path(root) / "data")
    if size is None:
        raise SystemExit(f"{root}/data is not a finished set of benchmarks/localization.py "
                         "(no defects.json): build and train it first")
    (train_x, _, _, _), _ = FashionMNIST(FashionMNIST.Options()).load_raw()
    train_x = train_x.numpy()
    order = np.random.default_rng(size.seed).permutation(len(train_x))
    unused = iter(order[size.train + size.val:])
    rng = np.random.default_rng(VALIDATION_SEED)
    images, masks, kinds = [], [], []
    for kind in KINDS:
        while kinds.count(kind) < PER_KIND:
            image = train_x[next(unused)]
            drawn = next(filter(None, (add_defect(image, kind, rng) for _ in range(20))), None)
            if drawn is not None:
                images.append(drawn[0])
                masks.append(drawn[1])
                kinds.append(kind)
    x = torch.tensor(np.stack(images), dtype=torch.float32).unsqueeze(1) / 255
    return x, torch.tensor(np.stack(masks)), kinds


def scored_images(run, defects: str, drawn) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """(images, masks, kinds): normals and defects, ``good`` for the normals."""
    if defects == "test":
        labelled = labelled_defects(run)
        x, _ = split_images(labelled.anomaly_set.split)
        return x, labelled.masks, list(labelled.kinds)
    normals, _ = split_images(run.splits.val)
    x, masks, kinds = drawn
    return (torch.cat([normals, x]),
            torch.cat([torch.zeros(len(normals), *masks.shape[1:], dtype=torch.bool), masks]),
            ["good"] * len(normals) + kinds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/localization",
                        help="the folder of benchmarks/localization.py, its runs trained")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--defects", choices=("validation", "test"), default="validation")
    args = parser.parse_args()
    drawn = validation_defects(args.out) if args.defects == "validation" else None
    print(f"{args.defects} defects, runs of seed {args.seed}")
    print("| recipe | kind | map | sigma | pixel AUPRC | best Dice |")
    print("| --- | --- | --- | ---: | ---: | ---: |")
    for recipe in RECIPES:
        run = load_run(f"{args.out}/runs/{recipe}/seed_{args.seed}/version_0", "best")
        x, masks, kinds = scored_images(run, args.defects, drawn)
        maps = candidate_maps(run, x)
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
