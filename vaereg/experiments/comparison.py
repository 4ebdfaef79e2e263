"""``vaereg.compare``: the library function behind ``vaereg compare`` (and the
benchmarks built on it): plan every (recipe, seed) run, train what is missing, evaluate,
summarize and write the reports."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

from vaereg.core.common.errors import VaeregError
from vaereg.core.common.writable import writable_folder


def check_metric_names(names: Sequence[str]) -> list[str]:
    """Each name checked against the metric registry now, so a typo fails before hours
    of training, not after."""
    from vaereg.evaluation.metric import make_metric

    for name in names:
        make_metric(name)
    return list(names)


def compare(recipes: Sequence[str | Path], *, seeds: int = 3, overrides: Sequence[str] = (),
            metrics: Sequence[str] = (), out: str | Path = "runs/compare", jobs: int = 1,
            iw_samples: int | None = None, test_images: int | None = None,
            anomaly: bool = False, ood: str | None = None,
            echo: Callable[[str], Any] = print) -> dict[str, Any]:
    """Run each recipe with seeds 0..``seeds``-1 (``overrides`` applied to all), evaluate
    ``metrics`` on the test split for the final and the best-validation weights
    (``iwae`` with ``iw_samples`` samples; on the first ``test_images`` images) and, with
    ``anomaly`` (or ``ood``, a dataset's name), the anomaly protocol as ``vaereg eval
    --anomaly`` (``--ood``) does, and write ``compare.md``, ``compare.json`` and
    ``compare.png`` in ``out``. Returns the summary (``compare.json``'s content).
    Finished runs and evaluations are reused; ``jobs`` runs train, then evaluate, in
    parallel."""
    from vaereg.experiments.anomaly_figures import (AnomalyProtocol, anomaly_figures,
                                                    common_headline)
    from vaereg.experiments.compare_report import REPORTS, summarize, write_reports
    from vaereg.experiments.compare_runs import RunsFailed, plan_runs, train_missing
    from vaereg.experiments.evaluate_runs import evaluate_missing
    from vaereg.experiments.run_figures import EvalSettings, run_figures
    from vaereg.tracking.parent_run import parent_run

    if seeds < 1 or jobs < 1:
        raise VaeregError(f"seeds and jobs must be at least 1, not {seeds} and {jobs}")
    if anomaly and ood:
        raise VaeregError("choose one anomaly protocol: --ood DATASET or --anomaly")
    if ood:
        from vaereg.core.recipes.registry import DATASETS

        try:
            DATASETS.load(ood)  # a typo fails before hours of training, not after
        except KeyError:
            raise VaeregError(f"--ood: {DATASETS.unknown(ood)}") from None
    protocol = AnomalyProtocol(ood) if anomaly or ood else None
    settings = EvalSettings(iw_samples, test_images)
    names = check_metric_names(metrics)
    out = Path(out)
    planned = plan_runs([str(recipe) for recipe in recipes], seeds, tuple(overrides), out)
    writable_folder(out, "--out")  # after the recipes: bad input leaves no folder behind
    arguments = {"recipes": [str(recipe) for recipe in recipes], "seeds": seeds,
                 "overrides": list(overrides), "metrics": names, "anomaly": anomaly, "ood": ood}
    with parent_run(out, [run.table for run in planned], "compare", arguments) as parent:
        folders = train_missing(planned, jobs, echo)
        failed = evaluate_missing([(f"{run.label} seed {run.seed}", folders[run], run.log)
                                   for run in planned], names, settings, jobs, echo, protocol)
        if failed:
            raise RunsFailed("these evaluations failed (the figures of the others are kept; "
                             "the same command retries only these): " + ", ".join(failed))
        labels = list(dict.fromkeys(run.label for run in planned))
        figures = {run: run_figures(folders[run], names, settings) for run in planned}
        headlines, described = [], None
        if protocol is not None:
            for run in planned:
                found, headline, described = anomaly_figures(folders[run], protocol)
                figures[run].update(found)
                headlines.append(headline)
        summary = summarize(labels, {label: [figures[run] for run in planned
                                             if run.label == label] for label in labels},
                            list(range(seeds)), common_headline(headlines), described)
        write_reports(summary, out)
        if parent is not None:
            parent.upload(REPORTS)
            parent.finish()
    return summary
