"""One-class anomaly detection on Fashion-MNIST (the protocol of Ruff et al. 2018): for each
class k, train on class k only (``data.classes = [k]``), then score the whole test split
with `vaereg eval RUN --anomaly`; the other nine classes are the anomalies. Prints the
AUROC per class and the mean, for each recipe and score: the negative ELBO, and with
``--scores neg_elbo complexity_corrected`` also the complexity-corrected ELBO (Serrà et
al. 2020), computed from the same runs.

Scores are under the recipe's likelihood (Bernoulli on grey pixels for the vanilla
recipes: a loss, not a log-likelihood); the AUROC depends strongly on that choice.

    python benchmarks/anomaly.py [--epochs 3] [--recipes vanilla vanilla_dropout]
                                 [--scores neg_elbo complexity_corrected]
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


def auroc(recipe: str, k: int, epochs: int, out: str, scores: list[str]) -> dict[str, float]:
    name = f"{recipe}_class{k}"
    vaereg("run", str(RECIPES / f"{recipe}.toml"), "--quiet", "--set", f"data.classes=[{k}]",
           "--set", f"run.epochs={epochs}", "--set", f"run.name='{name}'",
           "--set", "run.device='cpu'", "--set", f"run.out_dir='{out}'", cwd=out)
    run_dir = Path(out) / name / "version_0"
    metrics = "elbo,complexity" if "complexity_corrected" in scores else "elbo"
    vaereg("eval", str(run_dir), "--anomaly", "--metrics", metrics, "--projector-points", "0",
           cwd=out)
    folder = run_dir / "eval" / f"best-test-held-out-classes-trained-on-{k}"
    figures = json.loads((folder / "eval.json").read_text())["metrics"]
    return {score: figures[f"anomaly/{score}/auroc"] for score in scores}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--recipes", nargs="+", default=["vanilla", "vanilla_dropout"])
    parser.add_argument("--scores", nargs="+", default=["neg_elbo"],
                        choices=["neg_elbo", "complexity_corrected"])
    args = parser.parse_args()
    table = {}
    with tempfile.TemporaryDirectory() as out:
        for recipe in args.recipes:
            per_class = [auroc(recipe, k, args.epochs, out, args.scores) for k in range(10)]
            for score in args.scores:
                table[recipe, score] = [figures[score] for figures in per_class]
    print("| recipe | score | " + " | ".join(str(k) for k in range(10)) + " | mean |")
    print("| --- " * 13 + "|")
    for (recipe, score), values in table.items():
        print(f"| {recipe} | {score} | " + " | ".join(f"{v:.3f}" for v in values)
              + f" | **{statistics.mean(values):.3f}** |")


if __name__ == "__main__":
    main()
