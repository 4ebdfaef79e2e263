"""Reconstruction of recipes/image_folder.toml out of the box, against the MLP recipe's, on
one folder of Fashion-MNIST PNGs.

Writes Fashion-MNIST images as PNG files in class folders (``train/<class>/``,
``test/<class>/``; the first N of each official split), then trains with ``vaereg run``
(only ``data.root`` and ``run.out_dir`` set) the template and the same recipe with
vanilla.toml's ``[model]`` (the MLP recipe: MLP 512-256, 16 latents, Bernoulli), and
evaluates both with ``vaereg eval --metrics reconstruction``: test PSNR (dB, higher is
better), SSIM and MSE of the reconstructions (posterior means decoded, pixels in [0, 1]).

    python benchmarks/image_folder_template.py [--train 2000] [--test 500] [--epochs N]
                                               [--template recipes/image_folder.toml]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

RECIPES = Path(__file__).resolve().parents[1] / "recipes"
CLASS_NAMES = ("t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt",
               "sneaker", "bag", "ankle-boot")


def write_pngs(root: Path, train: int, test: int) -> None:
    """The first ``train`` and ``test`` Fashion-MNIST images as PNGs in class folders."""
    from PIL import Image

    from vaereg.data.fashion_mnist import FashionMNIST

    (train_x, train_y, test_x, test_y), _ = FashionMNIST(FashionMNIST.Options()).load_raw()
    for part, images, labels, count in (("train", train_x, train_y, train),
                                        ("test", test_x, test_y, test)):
        for index in range(count):
            folder = root / part / CLASS_NAMES[int(labels[index])]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(images[index].numpy(), "L").save(folder / f"{index:05d}.png")


def vaereg(*args: str, cwd: Path) -> None:
    subprocess.run([sys.executable, "-m", "vaereg", *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL)


def toml_value(value) -> str:
    return json.dumps(value)  # lists, strings and numbers read the same in TOML


def measure(template: Path, name: str, model_overrides: list[str], root: Path, out: Path,
            epochs: int | None) -> dict[str, float]:
    """Train ``template`` (with ``model_overrides``) on ``root``; its test figures."""
    overrides = [f"data.root={toml_value(str(root))}", f"run.out_dir={toml_value(str(out))}",
                 f"run.name={toml_value(name)}", *model_overrides]
    if epochs is not None:
        overrides.append(f"run.epochs={epochs}")
    started = time.perf_counter()
    vaereg("run", str(template), "--quiet", *(arg for o in overrides for arg in ("--set", o)),
           cwd=out)
    seconds = time.perf_counter() - started
    run_dir = out / name / "version_0"
    vaereg("eval", str(run_dir), "--metrics", "reconstruction", "--projector-points", "0",
           cwd=out)
    from vaereg.evaluation.evaluation_folder import evaluation_folder

    record = evaluation_folder(run_dir, "best", "test", "none") / "eval.json"
    figures = json.loads(record.read_text())["metrics"]
    return {"psnr": figures["test/psnr"], "ssim": figures["test/ssim"],
            "mse": figures["test/mse"], "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=2000, help="training images [2000]")
    parser.add_argument("--test", type=int, default=500, help="test images [500]")
    parser.add_argument("--epochs", type=int, help="[the template's run.epochs]")
    parser.add_argument("--template", type=Path, default=RECIPES / "image_folder.toml")
    args = parser.parse_args()
    mlp = tomllib.loads((RECIPES / "vanilla.toml").read_text())["model"]
    mlp_overrides = [f"model.{key}={toml_value(value)}" for key, value in mlp.items()]
    with tempfile.TemporaryDirectory() as folder:
        root, out = Path(folder) / "images", Path(folder) / "runs"
        out.mkdir()
        write_pngs(root, args.train, args.test)
        rows = {"template": measure(args.template.resolve(), "template", [], root, out,
                                    args.epochs),
                "MLP recipe": measure(args.template.resolve(), "mlp", mlp_overrides, root,
                                      out, args.epochs)}
    print(f"{args.train} training, {args.test} test images (Fashion-MNIST PNGs, 28x28), "
          f"{args.template.name}")
    print("| model | test PSNR (dB) | SSIM | MSE | training s |")
    print("| --- | --- | --- | --- | --- |")
    for name, row in rows.items():
        print(f"| {name} | {row['psnr']:.2f} | {row['ssim']:.3f} | {row['mse']:.4f} | "
              f"{row['seconds']:.0f} |")


if __name__ == "__main__":
    main()
