"""The figures ``compare`` reads from one finished run: the headline figures of its
``metrics.json``, and registered metrics (``--metrics``) evaluated on the test split for
the final model (``test/...``) and the best-validation checkpoint (``best/test/...``).

Evaluations are cached in the run folder (``compare_eval.json``, keyed by checkpoint and
metric), so a second compare over the same runs neither trains nor evaluates again.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from vaereg.core.run_dir import METRICS_FILE, write_atomic

#: final model, best-validation checkpoint, and the train-test gap of the final model
HEADLINE = ("test/neg_elbo", "best/test/neg_elbo", "gap/neg_elbo")
CACHE_FILE = "compare_eval.json"
CHECKPOINTS = (("last", ""), ("best", "best/"))


def run_figures(folder: Path, metric_names: Sequence[str]) -> dict[str, float]:
    """name -> figure for the run in ``folder`` (metrics a model does not report, e.g.
    neg_elbo of a WAE, are absent)."""
    from vaereg.core.run_loading import load_run
    from vaereg.evaluation.run_evaluation import evaluate_run

    final = json.loads((folder / METRICS_FILE).read_text())
    figures = {name: float(final[name]) for name in HEADLINE if name in final}
    if not metric_names:
        return figures
    cache_path = folder / CACHE_FILE
    cache = json.loads(cache_path.read_text()) if cache_path.is_file() else {}
    for checkpoint, prefix in CHECKPOINTS:
        for name in metric_names:
            key = f"{checkpoint}:{name}"
            if key not in cache:
                loaded = load_run(folder, checkpoint)
                cache[key] = evaluate_run(loaded, metrics=[name]).summary
                write_atomic(cache_path, json.dumps(cache, indent=2, sort_keys=True) + "\n")
            figures.update({prefix + figure: value for figure, value in cache[key].items()})
    return figures
