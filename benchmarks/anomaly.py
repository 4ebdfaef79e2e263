"""One-class anomaly detection on Fashion-MNIST (the protocol of Ruff et al. 2018): for each
class k, train on class k only (``data.classes = [k]``), then score the whole test split
with `vaereg eval RUN --anomaly`; the other nine classes are the anomalies. Prints the
AUROC of the negative ELBO per class and the mean, for each recipe.

Scores are under the recipe's likelihood (Bernoulli on grey pixels for the vanilla
recipes: a loss, not a log-likelihood); the AUROC depends strongly on that choice.

    python benchmarks/anomaly.py [--epochs 3] [--recipes vanilla vanilla_dropout]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

RECIPES = Path(__file__).resolve().parents[1] / "recipes"


def vaereg(*args: str, cwd: str) -> None:
    subprocess.run([sys.executable, "-m", "vaereg", *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL)


def auroc(recipe: str, k: int, epochs: int, out: str) -> float:
    name = f"{recipe}_class{k}"
    vaereg("run", str(RECIPES / f"{recipe}.toml"), "--quiet", "--set", f"data.classes=[{k}]",
           "--set", f"run.epochs={epochs}", "--set", f"run.name='{name}'",
           "--set", "run.device='cpu'", "--set", f"run.out_dir='{out}'", cwd=out)
    run_dir = Path(out) / name / "version_0"
    vaereg("eval", str(run_dir), "--anomaly", "--metrics", "elbo", cwd=out)
    return json.loads((run_dir / "eval.json").read_text())["metrics"]["anomaly/neg_elbo/auroc"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--recipes", nargs="+", default=["vanilla", "vanilla_dropout"])
    args = parser.parse_args()
    table = {}
    with tempfile.TemporaryDirectory() as out:
        for recipe in args.recipes:
            table[recipe] = [auroc(recipe, k, args.epochs, out) for k in range(10)]
    print("| recipe | " + " | ".join(str(k) for k in range(10)) + " | mean |")
    print("| --- " * 12 + "|")
    for recipe, values in table.items():
        print(f"| {recipe} | " + " | ".join(f"{v:.3f}" for v in values)
              + f" | **{statistics.mean(values):.3f}** |")


if __name__ == "__main__":
    main()
