"""The figures ``compare`` reads from one finished run: the headline figures of its
``metrics.json``, and registered metrics (``--metrics``) evaluated on the test split for
the final model (``test/...``) and the best-validation checkpoint (``best/test/...``).

Evaluations are cached in the run folder (``compare_eval.json``, keyed by checkpoint,
metric and any non-default :class:`EvalSettings`), so a second compare over the same runs
neither trains nor evaluates again.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Sequence

import attrs

from vaereg.core.common.errors import VaeregError
from vaereg.core.model.objective import headline_figure
from vaereg.core.run_folder.run_dir import METRICS_FILE, write_atomic

#: final model and best-validation checkpoint: test figure and train-test gap, of the
#: run's headline figure (``neg_elbo``, or ``loss`` for a model without an ELBO)
HEADLINE = ("test/{}", "best/test/{}", "gap/{}", "best/gap/{}")
CACHE_FILE = "compare_eval.json"
CHECKPOINTS = (("last", ""), ("best", "best/"))


@attrs.frozen
class EvalSettings:
    """How the metrics are computed: ``iw_samples`` for ``iwae`` (None: its default,
    1,000), and ``test_images``, the first N test images only (None: all) — the two
    knobs that make IWAE affordable on a CPU."""

    iw_samples: int | None = None
    test_images: int | None = None

    def __attrs_post_init__(self) -> None:
        for name in ("iw_samples", "test_images"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise VaeregError(f"{name.replace('_', '-')} must be at least 1, not {value}")

    def cache_key(self, checkpoint: str, name: str) -> str:
        key = f"{checkpoint}:{name}"
        if name == "iwae" and self.iw_samples is not None:
            key += f":k={self.iw_samples}"
        return key + (f":first={self.test_images}" if self.test_images is not None else "")


def evaluate_checkpoint(folder: Path, checkpoint: str, name: str,
                        settings: EvalSettings) -> dict[str, float]:
    """``name``'s summary on the test split of ``folder``'s ``checkpoint`` weights."""
    from vaereg.evaluation.run_loading import load_run
    from vaereg.evaluation.run_evaluation import evaluate_run

    loaded = load_run(folder, checkpoint)
    if settings.test_images is not None:
        import torch

        test = loaded.splits.test
        first = test.select(torch.arange(min(settings.test_images, len(test))))
        loaded = attrs.evolve(loaded, splits=attrs.evolve(loaded.splits, test=first))
    iw_samples = settings.iw_samples if name == "iwae" else None
    return evaluate_run(loaded, metrics=[name], iw_samples=iw_samples).summary


def read_cache(folder: Path) -> dict:
    cache_path = folder / CACHE_FILE
    return json.loads(cache_path.read_text()) if cache_path.is_file() else {}


def missing_evaluations(folder: Path, metric_names: Sequence[str], settings: EvalSettings,
                        cache: dict | None = None) -> list[tuple[str, str]]:
    """(checkpoint, metric) pairs not in ``cache`` (default: ``folder``'s cache file)."""
    cache = read_cache(folder) if cache is None else cache
    return [(checkpoint, name) for checkpoint, _ in CHECKPOINTS for name in metric_names
            if settings.cache_key(checkpoint, name) not in cache]


def same_weights(folder: Path) -> bool:
    """Whether the best-validation checkpoint holds the final weights (the validation loss
    was still falling at the last check): then its figures are the final ones, every
    metric starting from the same seeded generators."""
    import torch

    from vaereg.core.run_folder.checkpoint import load_checkpoint
    from vaereg.evaluation.run_loading import CHECKPOINTS as FILES

    best, last = (load_checkpoint(folder / FILES[name])["model"] for name in ("best", "last"))
    return best.keys() == last.keys() and all(torch.equal(best[key], last[key]) for key in best)


def fill_cache(folder: Path, metric_names: Sequence[str], settings: EvalSettings) -> dict:
    """Evaluate what the cache of ``folder`` lacks, writing it after each figure (a
    Ctrl-C loses at most the one being computed); returns the cache. A best checkpoint
    with the final weights takes the final figures instead of computing them again
    (an IWAE with K = 1000 on 10,000 images is minutes of CPU)."""
    cache = read_cache(folder)
    twins = functools.cache(lambda: same_weights(folder))
    for checkpoint, name in missing_evaluations(folder, metric_names, settings, cache):
        final = cache.get(settings.cache_key("last", name))
        if checkpoint == "best" and final is not None and twins():
            figures = final
        else:
            figures = evaluate_checkpoint(folder, checkpoint, name, settings)
        cache[settings.cache_key(checkpoint, name)] = figures
        write_atomic(folder / CACHE_FILE, json.dumps(cache, indent=2, sort_keys=True) + "\n")
    return cache


def run_figures(folder: Path, metric_names: Sequence[str],
                settings: EvalSettings = EvalSettings()) -> dict[str, float]:
    """name -> figure for the run in ``folder``: its headline figures (a WAE's ``loss``
    where a VAE has ``neg_elbo``) and ``metric_names``, evaluating what is not cached yet."""
    final = json.loads((folder / METRICS_FILE).read_text())
    headline = [name.format(headline_figure(final)) for name in HEADLINE]
    figures = {name: float(final[name]) for name in headline if name in final}
    if not metric_names:
        return figures
    cache = fill_cache(folder, metric_names, settings)
    for checkpoint, prefix in CHECKPOINTS:
        for name in metric_names:
            figures.update({prefix + figure: value
                            for figure, value in cache[settings.cache_key(checkpoint, name)].items()})
    return figures
