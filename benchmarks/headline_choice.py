"""Which anomaly score should be the headline? Chosen on validation images, never on test.

The validation analogue of the held-out-class protocol (``benchmarks/anomaly.py
--protocol held-out``): for the run trained without class k, the anomalies are class k's
images of the *training* split (the class filter kept every one of them out of training
and validation), the normals half of the run's validation images; the other half is the
reference each combination is standardized on. No test image is read. Every candidate
is scored on every class, and the rule picks the headline:

    the highest mean AUROC over the classes among the candidates with no class below
    FLOOR; if none has, the highest mean.

With several ``--seeds`` (the runs of each seed scored alike) the mean is over every seed
and class, and the floor holds for every class of every seed: one seed's choice can win
by less than seeds differ.

Candidates, fixed before they were measured: the registered scores ``BASE`` and
``combined``/``combined_latent``, and for every pair and triple of ``BASE`` the maximum
and the mean of the scores standardized on the reference (``max(a,b)``, ``mean(a,b,c)``).
Per-example scores are cached beside each run (``<run>.validation.pt``), so a second call
only prints, and a call after a score joined ``BASE`` computes that score alone. Prints a markdown table, best first, and the chosen candidate.

    python benchmarks/headline_choice.py --runs OUT/held-out [--recipe vanilla] [--seeds 0]
        [--classes 0 1 ...] [--top 15] [--unlabelled]

``--unlabelled`` keeps the candidates that need no class labels (none of ``NEEDS_LABELS``
in them): the headline for data without labels.
"""
from __future__ import annotations

import argparse
import itertools
import statistics
from pathlib import Path

import torch

#: the per-example scores every combination is built from
BASE = ("neg_elbo", "mse", "complexity_corrected", "latent_knn", "latent_mahalanobis",
        "latent_class_mahalanobis", "latent_class_energy", "feature_knn",
        "feature_cosine_knn", "feature_class_energy")
#: the metric that computes each cached score (the registered combinations included)
METRIC_OF = {"neg_elbo": "elbo", "mse": "reconstruction", "complexity_corrected": "complexity",
             **{name: name for name in (*BASE[3:], "combined", "combined_latent")}}
#: the base scores fitted on the training images' class labels
NEEDS_LABELS = ("latent_class_mahalanobis", "latent_class_energy", "feature_class_energy")
#: issue 25's floor: no held-out class below it
FLOOR = 0.6


def validation_sets(run) -> tuple:
    """(reference, scored images, is_anomaly): the run's validation images split in two
    halves (seeded), and class k's images of the training split after the normals."""
    from vaereg.data.tensor_split import TensorSplit

    val = run.splits.val
    order = torch.randperm(len(val), generator=torch.Generator().manual_seed(0))
    half = len(val) // 2
    reference, normals = val.select(order[:half]), val.select(order[half:])
    trained = torch.tensor(sorted(int(c) for c in run.recipe.data.loader.classes))
    whole = run.dataset.load(run.recipe.seed_for_data)  # before the class filter
    x = torch.cat([whole.train.x, whole.val.x])
    y = torch.cat([whole.train.y, whole.val.y])
    held = ~torch.isin(y, trained)
    scored = TensorSplit(torch.cat([normals.x.cpu(), x[held]]),
                         torch.cat([normals.y.cpu(), y[held]]))
    is_anomaly = torch.cat([torch.zeros(len(normals)), torch.ones(int(held.sum()))]).long()
    return reference, scored, is_anomaly


def base_scores(run_dir: Path) -> dict:
    """Per-example scores of the reference and the scored images, and the labels (cached;
    the scores a cache lacks are computed and added: each metric is seeded afresh, so
    alone it gives what it gives beside the others)."""
    cache = run_dir.parent.with_suffix(".validation.pt")
    found = torch.load(cache) if cache.exists() else {"reference": {}, "scored": {}}
    missing = list(dict.fromkeys(metric for score, metric in METRIC_OF.items()
                                 if score not in found["scored"]))
    if not missing:
        return found
    from vaereg import load_run
    from vaereg.evaluation import evaluate

    run = load_run(run_dir)
    reference, scored, is_anomaly = validation_sets(run)
    batch = run.recipe.data.loader.batch_size
    for name, images in (("reference", reference), ("scored", scored)):
        result = evaluate(run.model, images, missing, train=run.splits.train, val=reference,
                          batch_size=batch)
        found[name].update({k: v.double().cpu() for k, v in result.per_example.items()})
    found["is_anomaly"] = is_anomaly
    torch.save(found, cache)
    return found


def candidates(found: dict) -> dict:
    """Every candidate's score of each scored image."""
    from vaereg.evaluation.score_combination import standardized

    scored, reference = found["scored"], found["reference"]
    result = {name: scored[name] for name in (*BASE, "combined", "combined_latent")}
    z = {name: standardized(scored[name], reference[name]) for name in BASE}
    for size in (2, 3):
        for names in itertools.combinations(BASE, size):
            stacked = torch.stack([z[name] for name in names])
            result[f"max({','.join(names)})"] = stacked.amax(0)
            result[f"mean({','.join(names)})"] = stacked.mean(0)
    return result


def needs_no_labels(candidate: str) -> bool:
    """Whether the candidate is built without any of the ``NEEDS_LABELS`` scores."""
    return not any(part in candidate for part in NEEDS_LABELS)


def chosen(rows: dict) -> str:
    """The rule: best mean among those with no class below FLOOR, else the best mean."""
    clear = [name for name, aurocs in rows.items() if min(aurocs) >= FLOOR]
    return max(clear or rows, key=lambda name: statistics.mean(rows[name]))


def class_means(aurocs: list[float], classes: int) -> list[float]:
    """Each class's mean over the seeds, from AUROCs listed seed after seed."""
    return [statistics.mean(aurocs[k::classes]) for k in range(classes)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", required=True, help="the held-out protocol's folder")
    parser.add_argument("--recipe", default="vanilla")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--classes", nargs="+", type=int, default=list(range(10)))
    parser.add_argument("--top", type=int, default=15, help="rows printed, best mean first")
    parser.add_argument("--unlabelled", action="store_true",
                        help="only the candidates that need no class labels")
    args = parser.parse_args()
    from vaereg.evaluation import anomaly_metrics

    rows: dict[str, list[float]] = {}  # candidate -> AUROC per (seed, class), seed-major
    for seed in args.seeds:
        for k in args.classes:
            run_dir = Path(args.runs) / f"{args.recipe}_class{k}_seed{seed}" / "version_0"
            found = base_scores(run_dir)
            for name, score in candidates(found).items():
                if args.unlabelled and not needs_no_labels(name):
                    continue
                auroc = anomaly_metrics(score, found["is_anomaly"])["auroc"]
                rows.setdefault(name, []).append(auroc)
    order = sorted(rows, key=lambda name: statistics.mean(rows[name]), reverse=True)
    seeds = f" (mean over seeds {', '.join(map(str, args.seeds))})" if len(args.seeds) > 1 else ""
    print(f"| candidate{seeds} | " + " | ".join(map(str, args.classes)) + " | mean | min |")
    print("| --- " * (len(args.classes) + 3) + "|")
    for name in order[:args.top]:
        aurocs = rows[name]
        means = class_means(aurocs, len(args.classes))
        print(f"| {name} | " + " | ".join(f"{a:.3f}" for a in means)
              + f" | **{statistics.mean(aurocs):.3f}** | {min(aurocs):.3f} |")
    cleared = any(min(aurocs) >= FLOOR for aurocs in rows.values())
    why = (f"the best mean with no class below {FLOOR}" if cleared
           else f"no candidate has every class at {FLOOR} or above, so the best mean")
    print(f"\nchosen by the rule ({why}): {chosen(rows)}")


if __name__ == "__main__":
    main()
