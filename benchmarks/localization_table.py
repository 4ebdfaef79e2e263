"""The localization benchmarks' tables, read from the evaluations' own files: per defect
kind and map, pixel AUPRC and best Dice (``eval.json``'s ``localization/<map>/<kind>/...``)
and image AUROC of the map's top-1% mean against the normal test images (from
``scores.csv``: ``<map>_top1pct``, the defect kind being the image's folder), each as a
mean over seeds with a 95% t-interval. The table writers take a :class:`Layout` (which
figures, which baselines, what a kind is called), so the lesion benchmark's voxel
figures use them too."""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Callable, Sequence

import attrs
import torch

from vaereg.evaluation.anomaly import anomaly_metrics
from vaereg.evaluation.anomaly_maps import MODEL_MAPS
from vaereg.evaluation.baseline_maps import BASELINES
from vaereg.experiments.statistics import Estimate, mean_interval

IMAGE_SCORE = "{}_top1pct"
NORMAL = "good"


@attrs.frozen
class Layout:
    """What the tables show: ``heads`` (figure -> column head, in order; the first is the
    one the recipes are compared on), the ``baselines`` among the maps, and what the
    first column's kinds are called."""

    heads: dict[str, str]
    baselines: tuple[str, ...]
    kind: str

    @property
    def figures(self) -> tuple[str, ...]:
        return tuple(self.heads)


PIXELS = Layout({"pixel_auprc": "pixel AUPRC", "best_dice": "best Dice",
                 "image_auroc": "image AUROC"}, BASELINES, "defect")


def image_aurocs(scores_csv: Path, maps: Sequence[str]) -> dict[tuple[str, str], float]:
    """(map, kind) -> AUROC of ``<map>_top1pct`` of the kind's images against the normal
    test images (``test/good/``), each row's kind being its file's folder."""
    with scores_csv.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    kinds = [Path(row["path"]).parent.name for row in rows]
    aurocs = {}
    for kind in sorted(set(kinds) - {NORMAL}):
        chosen = [i for i, k in enumerate(kinds) if k in (kind, NORMAL)]
        labels = torch.tensor([int(kinds[i] == kind) for i in chosen])
        for name in maps:
            values = torch.tensor([float(rows[i][IMAGE_SCORE.format(name)]) for i in chosen],
                                  dtype=torch.float64)
            aurocs[name, kind] = anomaly_metrics(values, labels)["auroc"]
    return aurocs


def run_figures(eval_folder: Path) -> dict[tuple[str, str, str], float]:
    """(map, kind, figure) -> value for one evaluation folder."""
    metrics = json.loads((eval_folder / "eval.json").read_text())["metrics"]
    maps = [*MODEL_MAPS, *BASELINES]
    aurocs = image_aurocs(eval_folder / "scores.csv", maps)
    figures = {}
    for (name, kind), auroc in aurocs.items():
        figures[name, kind, "image_auroc"] = auroc
        for figure in ("pixel_auprc", "best_dice"):
            figures[name, kind, figure] = metrics[f"localization/{name}/{kind}/{figure}"]
    return figures


def summarize(folders: dict[str, list[Path]],
              figures_of: Callable[[Path], dict[tuple[str, str, str], float]] = run_figures
              ) -> dict[tuple[str, str, str, str], Estimate]:
    """(recipe, map, kind, figure) -> mean over the recipe's seeds with its interval;
    ``folders``: recipe -> its runs' evaluation folders, one per seed, each read by
    ``figures_of``."""
    per_recipe = {recipe: [figures_of(folder) for folder in paths]
                  for recipe, paths in folders.items()}
    return {(recipe, *key): mean_interval([run[key] for run in runs])
            for recipe, runs in per_recipe.items() for key in runs[0]}


def cell(estimate: Estimate | None) -> str:
    """``mean [low, high]``; ``n/a`` for a figure a map does not have."""
    if estimate is None:
        return "n/a"
    if math.isnan(estimate.low):
        return f"{estimate.mean:.3f}"
    return f"{estimate.mean:.3f} [{estimate.low:.3f}, {estimate.high:.3f}]"


def _kinds(table: dict) -> list[str]:
    return sorted({kind for _, _, kind, _ in table})


def full_table(table: dict, recipes: Sequence[str], layout: Layout = PIXELS) -> str:
    """Every recipe and map, and the baselines (the same for every run: shown once, from
    the first recipe's runs), per kind."""
    lines = [f"| {layout.kind} | map | recipe | " + " | ".join(layout.heads.values()) + " |",
             "| --- | --- | --- | " + "---: | " * len(layout.heads)]
    for kind in _kinds(table):
        rows = [(name, recipes[0], "baseline") for name in layout.baselines]
        rows += [(name, recipe, recipe) for recipe in recipes for name in MODEL_MAPS]
        for name, recipe, shown in rows:
            values = " | ".join(cell(table.get((recipe, name, kind, f)))
                               for f in layout.figures)
            lines.append(f"| {kind} | {name} | {shown} | {values} |")
    return "\n".join(lines)


def best_model_map(table: dict, kind: str, figure: str) -> tuple[str, str]:
    """(recipe, map) with the highest mean ``figure`` on ``kind``."""
    return max(((recipe, name) for recipe, name, k, f in table
                if k == kind and f == figure and name in MODEL_MAPS),
               key=lambda pair: table[pair[0], pair[1], kind, figure].mean)


def verdict_table(table: dict, recipes: Sequence[str], layout: Layout = PIXELS) -> str:
    """Per kind and figure: the best vaereg (recipe, map) against the better of the
    intensity baselines and against the Gaussian one, and whether it beats both (its
    whole 95% interval above both: the baselines do not vary with the seed)."""
    lines = [f"| {layout.kind} | figure | best vaereg map (recipe) | intensity (better "
             "direction) | gaussian | beats both |", "| --- | --- | --- | ---: | ---: | --- |"]
    for kind in _kinds(table):
        for figure in layout.figures:
            recipe, name = best_model_map(table, kind, figure)
            best = table[recipe, name, kind, figure]
            intensity = max(("intensity", "intensity_inverted"),
                            key=lambda b: table[recipes[0], b, kind, figure].mean)
            baselines = [table[recipes[0], b, kind, figure] for b in (intensity, "gaussian")]
            beaten = all(best.low > b.mean if not math.isnan(best.low) else best.mean > b.mean
                         for b in baselines)
            lines.append(f"| {kind} | {layout.heads[figure]} | {cell(best)} {name} ({recipe}) | "
                         f"{baselines[0].mean:.3f} {intensity} | {baselines[1].mean:.3f} | "
                         f"{'yes' if beaten else 'no'} |")
    return "\n".join(lines)


def recipe_table(table: dict, recipes: Sequence[str], layout: Layout = PIXELS) -> str:
    """The recipes side by side on one map (the one with the highest mean of the layout's
    first figure over every recipe and kind): did regularization help?"""
    kinds, figure = _kinds(table), layout.figures[0]
    name = max(MODEL_MAPS, key=lambda m: sum(table[r, m, k, figure].mean
                                             for r in recipes for k in kinds))
    lines = [f"{layout.heads[figure]} of map `{name}` (the best on average) per recipe:", "",
             "| recipe | " + " | ".join(kinds) + " |", "| --- | " + "---: | " * len(kinds)]
    for recipe in recipes:
        lines.append(f"| {recipe} | " + " | ".join(cell(table[recipe, name, k, figure])
                                                  for k in kinds) + " |")
    return "\n".join(lines)
