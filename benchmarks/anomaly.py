"""Anomaly detection on Fashion-MNIST through vaereg, in two protocols:

- ``one-class`` (Ruff et al. 2018): for each class k, train on class k only
  (``data.classes = [k]``); the other nine classes are the anomalies.
- ``held-out``: for each class k, train on the nine others; class k is the anomaly.

Each run is trained with `vaereg run` and scored with `vaereg eval RUN --anomaly
--metrics ...`; its AUROCs are written to ``OUT/<protocol>/<recipe>_class<k>_seed<s>.json``
as soon as it ends, and a run whose file exists is not repeated, so the same command
resumes an interrupted benchmark (a finished training or evaluation is reused, an
unfinished training resumes from its last checkpoint, or starts again where it has none or
the resume fails; a result file without a score now asked for has the run evaluated
again, its other figures kept). A ``vaereg`` command that fails stops the benchmark with
its message and exit code 1, no traceback. The likelihood
regret, the costliest score, is computed on ``--subset`` test images drawn at random
(seed 0; the others on all 10,000). Prints, per recipe
and score, the AUROC per class (the mean over seeds, with a 95% t-interval over seeds
when there are several) and the mean over classes (its interval: over the seeds' means).

Scores are under the recipe's likelihood (Bernoulli on grey pixels for the vanilla
recipes: a loss, not a log-likelihood); the AUROC depends strongly on that choice.

    python benchmarks/anomaly.py [--protocol one-class|held-out] [--seeds 1] [--epochs 3]
        [--train-size 0] [--recipes vanilla vanilla_dropout] [--classes 0 1 ...]
        [--scores neg_elbo mse complexity_corrected combined ...] [--subset 1000]
        [--set KEY.PATH=VALUE ...] [--out DIR] [--table-only]

``--set`` overrides a key of every recipe, as for ``vaereg run`` (e.g. ``--set
"model.backbone='conv'"``); runs already in ``--out`` are reused whatever it says, so give
each setting its own ``--out``.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from vaereg.experiments.statistics import mean_interval

RECIPES = Path(__file__).resolve().parents[1] / "recipes"
#: the metric that computes each score
METRIC_OF = {"neg_elbo": "elbo", "recon": "elbo", "mse": "reconstruction",
             "complexity_corrected": "complexity", "combined": "combined",
             "likelihood_regret": "likelihood_regret", "likelihood_ratio": "likelihood_ratio",
             "latent_mahalanobis": "latent_mahalanobis", "latent_knn": "latent_knn",
             "latent_class_mahalanobis": "latent_class_mahalanobis",
             "latent_class_energy": "latent_class_energy", "combined_latent": "combined_latent",
             "mean_mse_latent_knn": "mean_mse_latent_knn",
             "mean_mse_latent_knn_class_energy": "mean_mse_latent_knn_class_energy",
             **{name: name for name in ("feature_knn", "feature_cosine_knn",
                                        "feature_class_energy",
                                        "mean_mse_feature_knn_class_energy",
                                        "mean_elbo_complexity_feature_knn",
                                        "mean_elbo_latent_knn_feature_cosine_knn",
                                        "mean_mse_feature_knn_feature_cosine_knn")}}
#: scores fitted on the training labels of at least two classes (not in one-class runs)
NEEDS_TWO_CLASSES = {"latent_class_mahalanobis", "latent_class_energy",
                     "mean_mse_latent_knn_class_energy", "feature_class_energy",
                     "mean_mse_feature_knn_class_energy"}
#: scores computed on ``--subset`` random test images (through the library), not all
SUBSET_SCORES = {"likelihood_regret"}
#: the held-out classes issue 25's goal names besides the mean over all (simple and
#: complex ones, where a single likelihood score fails)
GOAL_CLASSES = (1, 2, 7, 8)


def vaereg(*args: str, cwd: str, check: bool = True) -> bool:
    """Run ``vaereg ARGS`` (its messages on stderr); whether it succeeded. A failure stops
    the benchmark (``check``) with a line saying how to go on."""
    code = subprocess.run([sys.executable, "-m", "vaereg", *args], cwd=cwd,
                          stdout=subprocess.DEVNULL).returncode
    if code and check:
        raise SystemExit(f"`vaereg {' '.join(args[:2])} ...` failed with exit code {code} "
                         f"(its message above); the same command goes on from there: "
                         f"finished runs and evaluations are reused")
    return code == 0


def trained_classes(protocol: str, k: int) -> list[int]:
    return [k] if protocol == "one-class" else [c for c in range(10) if c != k]


def aurocs(args: argparse.Namespace, recipe: str, k: int, seed: int, out: Path) -> dict:
    """The run's AUROC per score (and the evaluation's seconds), from its result file or
    by training and evaluating it."""
    name = f"{recipe}_class{k}_seed{seed}"
    result = out / f"{name}.json"
    earlier = json.loads(result.read_text()) if result.exists() else {}
    if all(score in earlier for score in args.scores):
        return earlier
    run_dir = out / name / "version_0"
    if not (run_dir / "metrics.json").exists() and not (
            (run_dir / "checkpoints" / "last.pt").exists()
            and vaereg("run", "--resume", str(run_dir), "--quiet", cwd=str(out), check=False)):
        shutil.rmtree(out / name, ignore_errors=True)
        classes = ",".join(map(str, trained_classes(args.protocol, k)))
        vaereg("run", str(RECIPES / f"{recipe}.toml"), "--quiet",
               "--set", f"data.classes=[{classes}]", "--set", f"run.epochs={args.epochs}",
               "--set", f"run.name='{name}'", "--set", f"run.seed={seed}",
               "--set", f"data.train_size={args.train_size}", "--set", "run.device='cpu'",
               "--set", f"run.out_dir='{out}'",
               *[arg for override in args.set for arg in ("--set", override)], cwd=str(out))
    whole = [score for score in args.scores if score not in SUBSET_SCORES]
    record = evaluation(run_dir, whole, out)
    figures = {**earlier, **{score: record["metrics"][f"anomaly/{score}/auroc"]
                             for score in whole}}
    figures["seconds"] = record["seconds"]
    figures["headline"] = record.get("anomaly/headline")
    for score in set(args.scores) & SUBSET_SCORES - set(earlier):
        figures[score] = subset_auroc(run_dir, score, args)
    result.write_text(json.dumps(figures, indent=1) + "\n")
    return figures


def evaluation(run_dir: Path, scores: list[str], out: Path) -> dict:
    """The run's eval.json with every score of ``scores``: the one there, or a new one."""
    def record():
        found = list(run_dir.glob("eval/best-test-held-out-*/eval.json"))
        return json.loads(found[0].read_text()) if found else {"metrics": {}}
    if all(f"anomaly/{score}/auroc" in record()["metrics"] for score in scores):
        return record()
    metrics = ",".join(dict.fromkeys(METRIC_OF[score] for score in scores))
    vaereg("eval", str(run_dir), "--anomaly", "--metrics", metrics, "--projector-points", "0",
           cwd=str(out))
    return record()


def subset_auroc(run_dir: Path, score: str, args: argparse.Namespace) -> float:
    """The AUROC of ``score`` on ``--subset`` test images drawn at random (seed 0), for a
    score too costly for the whole test split on this machine."""
    import torch

    from vaereg import load_run
    from vaereg.evaluation import anomaly_metrics, evaluate

    run = load_run(run_dir)
    test = run.splits.test
    chosen = torch.randperm(len(test), generator=torch.Generator().manual_seed(0))[:args.subset]
    images = test.select(chosen)
    trained = torch.tensor(sorted(int(c) for c in run.recipe.data.loader.classes))
    is_anomaly = (~torch.isin(images.y.cpu(), trained)).long()
    result = evaluate(run.model, images, [METRIC_OF[score]], train=run.splits.train,
                      val=run.splits.val, batch_size=run.recipe.data.loader.batch_size)
    return anomaly_metrics(result.per_example[score].double().cpu(), is_anomaly)["auroc"]


def interval(values: list[float]) -> str:
    """``mean ± half-width`` of the 95% t-interval over seeds (the mean alone for one)."""
    estimate = mean_interval(values)
    if estimate.n < 2:
        return f"{estimate.mean:.3f}"
    return f"{estimate.mean:.3f} ± {estimate.half_width:.3f}"


def table(args: argparse.Namespace, results: dict) -> str:
    """Markdown: a row per recipe and score, a column per class, then the mean (and, in
    the held-out protocol with all of them, the mean over ``GOAL_CLASSES``); the classes
    and seeds are those of ``results``, keyed (recipe, class, seed)."""
    classes = sorted({k for _, k, _ in results})
    seeds = sorted({s for _, _, s in results})
    groups = {"mean": classes}
    if args.protocol == "held-out" and set(GOAL_CLASSES) <= set(classes) != set(GOAL_CLASSES):
        groups["mean of " + ", ".join(map(str, GOAL_CLASSES))] = list(GOAL_CLASSES)
    lines = ["| recipe | score | " + " | ".join(map(str, classes)) + " | "
             + " | ".join(groups) + " |", "| --- " * (len(classes) + 2 + len(groups)) + "|"]
    for recipe in args.recipes:
        for score in args.scores:
            cells = [interval([results[recipe, k, s][score] for s in seeds]) for k in classes]
            means = [interval([statistics.mean(results[recipe, k, s][score] for k in group)
                               for s in seeds]) for group in groups.values()]
            lines.append(f"| {recipe} | {score} | " + " | ".join(cells) + " | "
                         + " | ".join(f"**{mean}**" for mean in means) + " |")
    return "\n".join(lines)


def finished(args: argparse.Namespace, out: Path) -> dict:
    """The results already written with every score of ``--scores``, for the seeds whose
    runs cover the same classes: the classes every such seed has (``--table-only``, while
    a benchmark is still running)."""
    found = {(recipe, k, seed): figures
             for recipe in args.recipes for k in args.classes for seed in range(args.seeds)
             if (path := out / f"{recipe}_class{k}_seed{seed}.json").exists()
             and all(score in (figures := json.loads(path.read_text())) for score in args.scores)}
    seeds = sorted({s for _, _, s in found})
    classes = [k for k in args.classes
               if all((recipe, k, s) in found for recipe in args.recipes for s in seeds[:1])]
    seeds = [s for s in seeds if all((recipe, k, s) in found
                                     for recipe in args.recipes for k in classes)]
    return {key: value for key, value in found.items() if key[1] in classes and key[2] in seeds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocol", choices=["one-class", "held-out"], default="one-class")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--train-size", type=int, default=0,
                        help="training images drawn before the classes are kept (0 = all)")
    parser.add_argument("--recipes", nargs="+", default=["vanilla", "vanilla_dropout"])
    parser.add_argument("--classes", nargs="+", type=int, default=list(range(10)))
    parser.add_argument("--scores", nargs="+", default=["neg_elbo"], choices=list(METRIC_OF))
    parser.add_argument("--subset", type=int, default=1000,
                        help="test images likelihood_regret is computed on (seeded draw)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE",
                        help="override a key of every recipe (repeatable), as for vaereg run")
    parser.add_argument("--out", help="folder for runs and results (default: a temporary one)")
    parser.add_argument("--table-only", action="store_true",
                        help="print the table of the runs finished in --out; train nothing")
    args = parser.parse_args()
    labelled = [score for score in args.scores if score in NEEDS_TWO_CLASSES]
    if args.protocol == "one-class" and labelled:
        parser.error(f"{', '.join(labelled)} fit on the training labels of at least two "
                     f"classes, and the one-class protocol trains on one")
    if args.table_only:
        if not args.out:
            parser.error("--table-only reads the runs of --out DIR")
        results = finished(args, Path(args.out) / args.protocol)
        print(table(args, results) if results else "no finished runs")
        return
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(args.out or scratch) / args.protocol
        out.mkdir(parents=True, exist_ok=True)
        results = {}
        for seed in range(args.seeds):  # a first table over every class as soon as can be
            for recipe in args.recipes:
                for k in args.classes:
                    results[recipe, k, seed] = aurocs(args, recipe, k, seed, out)
                    print(f"{recipe} class {k} seed {seed}: " + ", ".join(
                        f"{score} {results[recipe, k, seed][score]:.3f}"
                        for score in args.scores), flush=True)
    print(table(args, results))


if __name__ == "__main__":
    main()
