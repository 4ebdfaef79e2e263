"""``data/skipped_files`` in metrics.json: how many files a run left out as unreadable.

With ``data.on_bad_file = "skip"`` a file dataset leaves out files that are not images
(found when the folder is scanned: the dataset's ``skipped_files``) and files that fail
when decoded (found by a pass over a split: each split's ``skipped_files``); each is
named in a warning when it is met. The final evaluation passes over every split, so by
``on_test_end`` every unreadable file has been met: the count and the names ("path:
reason") go into metrics.json, so a result never hides that it was computed without
them. It runs only for a recipe that sets ``data.on_bad_file = "skip"`` (with "stop"
nothing is ever skipped).
"""
from __future__ import annotations

from typing import Any

from vaereg.core.hooks.hookspecs import hookimpl


def skipped_files(dataset: Any, splits: Any) -> list[str]:
    """Every file the dataset and its splits skipped, each once, in the order met."""
    sources = [getattr(part, "skipped_files", ())
               for part in (dataset, splits.train, splits.val, splits.test)]
    return list(dict.fromkeys(reason for source in sources for reason in source))


class SkippedFilesReport:
    @hookimpl
    def on_test_end(self, trainer: Any, metrics: dict[str, Any]) -> None:
        reasons = skipped_files(trainer.dataset, trainer.splits)
        metrics["data/skipped_files"] = len(reasons)
        metrics["data/skipped"] = reasons
