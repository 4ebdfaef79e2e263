"""What ``compare`` reports: per metric and recipe, the mean over seeds with its 95%
interval, and the paired (same-seed) change against the first recipe, as a table
(``compare.md``, also printed), ``compare.json`` and ``compare.png``."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Sequence

from vaereg.experiments.compare_rows import Section, ordered, sections
from vaereg.experiments.statistics import mean_interval, paired_difference

REPORTS = ("compare.md", "compare.json", "compare.png")
PANEL_COLUMNS = 4
#: compare.png shows the table's first figures only (an anomaly compare has a hundred)
MAX_PANELS = 24


def summarize(labels: Sequence[str], figures: dict[str, list[dict[str, float]]],
              seeds: Sequence[int], headline: str | None = None,
              protocol: str | None = None) -> dict[str, Any]:
    """The comparison as JSON-ready data. ``figures[label][i]`` are the figures of seed
    ``seeds[i]``; a metric is compared when every run reports it, in the order of
    :mod:`compare_rows` (``headline``: the anomaly score reported first; ``protocol``:
    the anomaly protocol's description, where one was evaluated)."""
    runs = [run for label in labels for run in figures[label]]
    names = ordered([name for name in runs[0] if all(name in run for run in runs)], headline)
    base = labels[0]
    metrics = {}
    for name in names:
        rows = {}
        baseline = [run[name] for run in figures[base]]
        for label in labels:
            values = [run[name] for run in figures[label]]
            row = {"values": values, **_estimate(mean_interval(values))}
            if label != base:
                change = paired_difference(values, baseline)
                scale = abs(mean_interval(baseline).mean)
                row["change"] = {**_estimate(change),
                                 "percent": 100 * change.mean / scale if scale else math.nan}
            rows[label] = row
        metrics[name] = rows
    summary = {"seeds": list(seeds), "baseline": base, "recipes": list(labels),
               "level": 0.95, "metrics": metrics}
    if protocol is not None:
        summary.update({"anomaly_protocol": protocol, "headline": headline})
    return summary


def _estimate(estimate) -> dict[str, float]:
    return {"mean": estimate.mean, "low": estimate.low, "high": estimate.high}


def _interval(row: dict[str, float]) -> str:
    if math.isnan(row["low"]):
        return "n/a (1 seed)"
    return f"[{row['low']:.4g}, {row['high']:.4g}]"


def markdown(summary: dict[str, Any]) -> str:
    """The tables of :func:`compare_rows.sections`: a likelihood figure's has a row per
    recipe (mean, 95% CI, and the change against the baseline with its paired 95% CI: an
    interval that excludes 0 is an effect beyond seed noise); an anomaly family's has a
    row per score or map, and a column per recipe and per change."""
    base, seeds = summary["baseline"], summary["seeds"]
    lines = [f"# Compare: {len(summary['recipes'])} recipes, seeds {seeds}", "",
             f"Means over {len(seeds)} seeds with 95% t-intervals; change: recipe - {base}, "
             f"paired by seed.", ""]
    if summary.get("anomaly_protocol"):
        lines += [f"Anomaly figures: {summary['anomaly_protocol']} (each run's eval.json, "
                  f"in its eval/ folder).", ""]
    for section in sections(list(summary["metrics"]), summary.get("headline")):
        lines += (_family_table(summary, section) if section.family
                  else _figure_table(summary, section.rows[0][1]))
    return "\n".join(lines)


def _figure_table(summary: dict[str, Any], name: str) -> list[str]:
    base = summary["baseline"]
    lines = [f"## {name}", "", "| recipe | mean | 95% CI | change vs " + base
             + " | paired 95% CI | change % |", "| --- | ---: | --- | ---: | --- | ---: |"]
    for label, row in summary["metrics"][name].items():
        change = row.get("change")
        tail = ("| — | — | — |" if change is None else
                f"| {change['mean']:+.4g} | {_interval(change)} | {change['percent']:+.2f}% |")
        lines.append(f"| {label} | {row['mean']:.4g} | {_interval(row)} {tail}")
    return lines + [""]


def _family_table(summary: dict[str, Any], section: Section) -> list[str]:
    """Per row: each recipe's mean [95% CI], then each change [paired 95% CI]."""
    base, others = summary["baseline"], summary["recipes"][1:]
    header = [section.row_header, *summary["recipes"], *(f"{label} - {base}" for label in others)]
    lines = [f"## {section.title}", "", "| " + " | ".join(header) + " |",
             "| --- |" + " ---: |" * (len(header) - 1)]
    for label, name in section.rows:
        rows = summary["metrics"][name]
        cells = [f"{rows[recipe]['mean']:.4g} {_interval(rows[recipe])}"
                 for recipe in summary["recipes"]]
        cells += [f"{rows[recipe]['change']['mean']:+.4g} {_interval(rows[recipe]['change'])}"
                  for recipe in others]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines + [""]


def write_reports(summary: dict[str, Any], out: Path) -> list[Path]:
    """compare.md, compare.json and compare.png in ``out``."""
    from vaereg.core.run_folder.run_dir import write_atomic

    paths = [out / name for name in REPORTS]
    write_atomic(paths[0], markdown(summary))
    write_atomic(paths[1], json.dumps(summary, indent=2, allow_nan=True) + "\n")
    plot(summary, paths[2])
    return paths


def plot(summary: dict[str, Any], path: Path) -> None:
    """compare.png: :func:`comparison_figure`, written atomically."""
    from vaereg.evaluation.pictures import save_figure

    save_figure(comparison_figure(summary), path)


def comparison_figure(summary: dict[str, Any]):
    """A grid of panels, one per metric (the first :data:`MAX_PANELS`): per recipe, each seed's value as a dot and the
    mean as a point with its 95% interval as a bar. The axis spans the values only, so a
    difference of a few percent stays visible, and no bar suggests a zero it omits."""
    from matplotlib.figure import Figure

    names, recipes = list(summary["metrics"])[:MAX_PANELS], summary["recipes"]
    columns = min(len(names), PANEL_COLUMNS)
    rows = -(-len(names) // columns)
    figure = Figure(figsize=(3.4 * columns, 0.6 + 2.9 * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).flatten()
    seeds = len(summary["seeds"])
    offsets = [0.25 * (i / (seeds - 1) - 0.5) if seeds > 1 else 0.0 for i in range(seeds)]
    for ax, name in zip(axes, names):
        for x, (label, row) in enumerate(summary["metrics"][name].items()):
            ax.scatter([x + offset for offset in offsets[:len(row["values"])]], row["values"],
                       s=14, color="tab:grey", alpha=0.7, zorder=2, gid="seeds",
                       label="one seed" if x == 0 else None)
            low, high = ((row["mean"], row["mean"]) if math.isnan(row["low"])
                         else (row["low"], row["high"]))
            ax.errorbar([x + 0.3], [row["mean"]], yerr=[[row["mean"] - low], [high - row["mean"]]],
                        fmt="D", color="tab:blue", markersize=5, capsize=4, zorder=3,
                        label="mean, 95% CI" if x == 0 else None)
        ax.set_xticks([x + 0.15 for x in range(len(recipes))], recipes, rotation=30,
                      ha="right", fontsize=8)
        ax.set_xlim(-0.4, len(recipes) - 0.3)
        ax.set_title(name, fontsize=9)
        ax.margins(y=0.12)
        ax.tick_params(axis="y", labelsize=8)
        ax.grid(axis="y", alpha=0.3)
    for ax in axes[len(names):]:
        ax.set_visible(False)
    axes[0].legend(fontsize=7, loc="best")
    shown = (f" (the first {len(names)} of {len(summary['metrics'])} figures of compare.md)"
             if len(names) < len(summary["metrics"]) else "")
    figure.suptitle(f"{len(recipes)} recipes, seeds {summary['seeds']}: each seed, and the "
                    f"mean with its 95% t-interval{shown}", fontsize=10)
    return figure
