"""The cost of vaereg's anomaly maps: residual maps (``nll``, ``residual`` and
``hyperintensity``, 4 posterior samples) over 10,000 Fashion-MNIST test images with
``vaereg.evaluation.anomaly_maps`` against a plain PyTorch loop computing the same maps
with the same weights (the MLP VAE of recipes/vanilla.toml, untrained: the cost does not
depend on the weights); the gradient map's cost as a multiple of the residual maps'; and
``vaereg score``'s throughput on PNG files with ``--maps all``, its default maps, and
those without heat-map pictures (a one-epoch run on PNGs; the marginal rate between two
sizes, so process start-up and calibration are left out, and the whole call's rate).

The two loops run alternately, ``--rounds`` times each, in one process; the ratio is
the plain loop's median time over vaereg's (vaereg's throughput as a share of the plain
loop's: >= 0.9 is the goal). The load average is printed before and after.

    python benchmarks/anomaly_maps.py [--images 10000] [--rounds 5] [--batch 500]
                                      [--score-images 100 400] [--threads 1]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.nn import functional as F
from torchvision.transforms import functional as TF

sys.path.insert(0, str(Path(__file__).resolve().parent))

from plain_script import VAE  # noqa: E402

RECIPES = Path(__file__).resolve().parents[1] / "recipes"
SAMPLES = 4
#: ``vaereg score`` timed with these options: every map, as it scored before ``--maps``
SCORE_CASES = {"--maps all": ("--maps", "all"), "default maps": (),
               "default maps, --no-heat-maps": ("--no-heat-maps",)}


def vaereg_model() -> torch.nn.Module:
    from vaereg.core.recipes.recipe import load_recipe
    from vaereg.evaluation.run_loading import build_model

    torch.manual_seed(0)
    model, _ = build_model(load_recipe(RECIPES / "vanilla.toml"), torch.device("cpu"))
    return model.eval()


def plain_copy(model: torch.nn.Module) -> VAE:
    """plain_script's VAE holding ``model``'s weights (the same 784-512-256-16 MLP)."""
    plain = VAE(latent=16)
    pairs = [(plain.encoder[1], model.encoder[1].linear), (plain.encoder[3], model.encoder[2].linear),
             (plain.mu, model.mu_head), (plain.logvar, model.logvar_head),
             (plain.decoder[0], model.decoder[0].linear), (plain.decoder[2], model.decoder[1].linear),
             (plain.decoder[4], model.decoder[2])]
    for mine, theirs in pairs:
        mine.load_state_dict(theirs.state_dict())
    return plain.eval()


@torch.no_grad()
def plain_residual_maps(vae: VAE, x: torch.Tensor, samples: int) -> dict[str, torch.Tensor]:
    h = vae.encoder(x)
    mu, std = vae.mu(h), torch.exp(0.5 * vae.logvar(h))
    nll = torch.zeros(x.shape[0], *x.shape[2:])
    residual, brighter = torch.zeros_like(nll), torch.zeros_like(nll)
    entropy = -(torch.special.xlogy(x, x) + torch.special.xlogy(1 - x, 1 - x))
    for _ in range(samples):
        logits = vae.decoder(mu + torch.randn_like(mu) * std).view_as(x)
        mean = torch.sigmoid(logits)
        bce = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
        nll += bce.sum(1)
        residual += (x - mean).abs().mean(1)
        brighter += ((bce - entropy) * (x > mean)).mean(1)
    pooled = TF.gaussian_blur(brighter.unsqueeze(1) / samples, [13, 13], [2.0, 2.0])
    return {"nll": nll / samples, "residual": residual / samples,
            "hyperintensity": x.mean(1) * pooled.squeeze(1)}


def timed(compute, x: torch.Tensor, batch: int) -> tuple[float, dict[str, torch.Tensor]]:
    """Seconds to map every image of ``x`` in batches, and the maps (z seeded alike)."""
    torch.manual_seed(1)
    start = time.perf_counter()
    parts = [compute(x[i:i + batch]) for i in range(0, len(x), batch)]
    seconds = time.perf_counter() - start
    if isinstance(parts[0], torch.Tensor):
        return seconds, {"map": torch.cat(parts)}
    return seconds, {name: torch.cat([p[name] for p in parts]) for name in parts[0]}


def map_costs(images: int, rounds: int, batch: int) -> None:
    from vaereg.data.fashion_mnist import FashionMNIST
    from vaereg.evaluation.anomaly_maps import MapOptions, gradient_maps, residual_maps

    def gradient_map(model, x, y, samples):  # ``gradient`` alone (``combi`` is a product)
        options = MapOptions(samples=samples, restoration_steps=0)
        return gradient_maps(model, x, y, x.new_zeros(x.shape[0], *x.shape[2:]),
                             options)["gradient"]

    (_, _, test_x, _), _ = FashionMNIST(FashionMNIST.Options()).load_raw()
    x = (test_x[:images].float() / 255).unsqueeze(1)
    model = vaereg_model()
    plain = plain_copy(model)
    loops = {"plain": lambda b: plain_residual_maps(plain, b, SAMPLES),
             "vaereg": lambda b: residual_maps(model, b, None, SAMPLES)}
    times: dict[str, list[float]] = {"plain": [], "vaereg": [], "gradient": []}
    maps = {}
    for _ in range(rounds):
        for name, compute in loops.items():
            seconds, maps[name] = timed(compute, x, batch)
            times[name].append(seconds)
        times["gradient"].append(timed(lambda b: gradient_map(model, b, None, SAMPLES), x,
                                       batch)[0])
    difference = max(float((maps["plain"][k] - maps["vaereg"][k]).abs().max()) for k in maps["plain"])
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"residual maps (nll, residual, hyperintensity, {SAMPLES} samples) of {len(x):,} "
          f"images, batch {batch}, {rounds} alternated rounds, medians: plain "
          f"{median['plain']:.2f} s "
          f"({len(x) / median['plain']:,.0f} images/s), vaereg {median['vaereg']:.2f} s "
          f"({len(x) / median['vaereg']:,.0f} images/s); largest difference of the maps "
          f"{difference:.2g}")
    print(f"ratio (vaereg throughput / plain): {median['plain'] / median['vaereg']:.3f}")
    print(f"gradient map: {median['gradient']:.2f} s, "
          f"{median['gradient'] / median['vaereg']:.2f}x the residual maps")


def write_pngs(folder: Path, count: int, offset: int = 0) -> None:
    from PIL import Image

    from vaereg.data.fashion_mnist import FashionMNIST

    (train_x, _, _, _), _ = FashionMNIST(FashionMNIST.Options()).load_raw()
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(offset, offset + count):
        Image.fromarray(train_x[index].numpy(), "L").save(folder / f"{index:05d}.png")


def vaereg_cli(*args: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "vaereg", *args], check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def score_rate(sizes: tuple[int, int]) -> None:
    """``vaereg score`` on ``sizes`` new images in each of ``SCORE_CASES``: the whole
    call's rate, and the marginal rate between the two sizes."""
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        write_pngs(root / "train" / "images", 500)
        vaereg_cli("run", str(RECIPES / "image_folder.toml"), "--quiet",
                   "--set", f"data.root='{root / 'train'}'", "--set", "run.epochs=1",
                   "--set", "model.backbone='mlp'", "--set", "model.hidden_dims=[512, 256]",
                   "--set", "model.latent_dim=16", "--set", "data.num_workers=0",
                   "--set", f"run.out_dir='{root / 'runs'}'", "--set", "run.device='cpu'")
        run_dir = next((root / "runs").glob("*/version_0"))
        vaereg_cli("score", str(run_dir), str(root / "train" / "images" / "00000.png"),
                   "--maps", "all", "--out", str(root / "calibrating"))  # calibrated once
        for size in sizes:
            write_pngs(root / f"new_{size}", size, offset=1000)
        for case, options in SCORE_CASES.items():
            seconds = {}
            for size in sizes:
                seconds[size] = vaereg_cli("score", str(run_dir), str(root / f"new_{size}"),
                                           *options, "--out", str(root / f"{case}_{size}"))
            small, large = sizes
            print(f"vaereg score, {case}: "
                  + ", ".join(f"{n} images in {s:.1f} s ({n / s:.1f} images/s with start-up)"
                              for n, s in seconds.items())
                  + f"; marginal {(large - small) / (seconds[large] - seconds[small]):.1f} "
                    f"images/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--score-images", type=int, nargs=2, default=(100, 400))
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads of the map loops (1: steadier on a busy machine)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores, "
          f"{torch.get_num_threads()} torch threads")
    map_costs(args.images, args.rounds, args.batch)
    score_rate(tuple(args.score_images))
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
