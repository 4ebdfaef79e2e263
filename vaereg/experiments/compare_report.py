"""What ``compare`` reports: per metric and recipe, the mean over seeds with its 95%
interval, and the paired (same-seed) change against the first recipe, as a table
(``compare.md``, also printed), ``compare.json`` and ``compare.png``."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Sequence

from vaereg.experiments.statistics import mean_interval, paired_difference

REPORTS = ("compare.md", "compare.json", "compare.png")


def summarize(labels: Sequence[str], figures: dict[str, list[dict[str, float]]],
              seeds: Sequence[int]) -> dict[str, Any]:
    """The comparison as JSON-ready data. ``figures[label][i]`` are the figures of seed
    ``seeds[i]``; a metric is compared when every run reports it."""
    runs = [run for label in labels for run in figures[label]]
    names = [name for name in runs[0] if all(name in run for run in runs)]
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
    return {"seeds": list(seeds), "baseline": base, "recipes": list(labels),
            "level": 0.95, "metrics": metrics}


def _estimate(estimate) -> dict[str, float]:
    return {"mean": estimate.mean, "low": estimate.low, "high": estimate.high}


def _interval(row: dict[str, float]) -> str:
    if math.isnan(row["low"]):
        return "n/a (1 seed)"
    return f"[{row['low']:.4g}, {row['high']:.4g}]"


def markdown(summary: dict[str, Any]) -> str:
    """One table per metric: mean, 95% CI, and the change against the baseline with its
    paired 95% CI (an interval that excludes 0 is an effect beyond seed noise)."""
    base, seeds = summary["baseline"], summary["seeds"]
    lines = [f"# Compare: {len(summary['recipes'])} recipes, seeds {seeds}", "",
             f"Means over {len(seeds)} seeds with 95% t-intervals; change: recipe - {base}, "
             f"paired by seed.", ""]
    for name, rows in summary["metrics"].items():
        lines += [f"## {name}", "", "| recipe | mean | 95% CI | change vs " + base
                  + " | paired 95% CI | change % |", "| --- | ---: | --- | ---: | --- | ---: |"]
        for label, row in rows.items():
            change = row.get("change")
            tail = ("| — | — | — |" if change is None else
                    f"| {change['mean']:+.4g} | {_interval(change)} | {change['percent']:+.2f}% |")
            lines.append(f"| {label} | {row['mean']:.4g} | {_interval(row)} {tail}")
        lines.append("")
    return "\n".join(lines)


def write_reports(summary: dict[str, Any], out: Path) -> list[Path]:
    """compare.md, compare.json and compare.png in ``out``."""
    from vaereg.core.run_dir import write_atomic

    paths = [out / name for name in REPORTS]
    write_atomic(paths[0], markdown(summary))
    write_atomic(paths[1], json.dumps(summary, indent=2, allow_nan=True) + "\n")
    plot(summary, paths[2])
    return paths


def plot(summary: dict[str, Any], path: Path) -> None:
    """One panel per metric: a bar per recipe at its mean, the 95% interval as error bars."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(summary["metrics"])
    figure, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3.4), squeeze=False)
    for ax, name in zip(axes[0], names):
        rows = summary["metrics"][name]
        means = [row["mean"] for row in rows.values()]
        errors = [0.0 if math.isnan(row["low"]) else row["mean"] - row["low"]
                  for row in rows.values()]
        ax.bar(range(len(rows)), means, yerr=errors, capsize=4, color="tab:blue", alpha=0.7)
        ax.set_xticks(range(len(rows)), list(rows), rotation=30, ha="right", fontsize=8)
        ax.set_title(name, fontsize=9)
        low = min(m - e for m, e in zip(means, errors))
        high = max(m + e for m, e in zip(means, errors))
        pad = (high - low) * 0.2 or abs(high) * 0.05 or 1.0
        ax.set_ylim(low - pad, high + pad)  # differences of a few percent stay visible
    figure.suptitle(f"mean and 95% CI over {len(summary['seeds'])} seeds", fontsize=10)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
