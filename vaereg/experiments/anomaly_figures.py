"""The anomaly figures ``compare --anomaly`` (or ``--ood DATASET``) reads from one run:
``vaereg eval``'s evaluation of that protocol on the test split, for the final weights
(``anomaly/...``, ``localization/...``) and the best-validation checkpoint (``best/...``).

An evaluation folder of the run (``eval/<checkpoint>-test-<protocol>/``) is reused when
its ``eval.json`` was asked for the same way (its ``request``) and its checkpoint still
holds the evaluated weights; otherwise the protocol is evaluated again, as ``vaereg eval``
would, which writes (or replaces) that folder (all but the heat-map pictures). So a compare
after ``vaereg eval RUN --anomaly`` evaluates nothing, and one after a resume that changed
the weights evaluates the stale checkpoints again.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

import attrs

from vaereg.core.common.errors import VaeregError
from vaereg.experiments.compare_rows import compared_anomaly_figure

CHECKPOINTS = (("last", ""), ("best", "best/"))
HEADLINE_KEY = "anomaly/headline"


@attrs.frozen
class AnomalyProtocol:
    """``--anomaly`` (``ood`` None) or ``--ood DATASET``, with the dataset's defaults."""

    ood: str | None = None

    @property
    def arguments(self) -> list[str]:
        return ["--ood", self.ood] if self.ood else ["--anomaly"]

    def request(self) -> dict[str, Any]:
        """What eval.json's ``request`` holds for the evaluation compare makes."""
        return {"split": "test", "metrics": None, "iw_samples": None, "batch_size": None,
                "anomaly": self.ood is None, "ood": self.ood, "ood_options": []}


def finished_evaluation(folder: Path, checkpoint: str,
                        protocol: AnomalyProtocol) -> dict[str, Any] | None:
    """The eval.json of ``checkpoint`` asked for as ``protocol`` asks, whose checkpoint
    still holds the evaluated weights; None when there is none."""
    from vaereg.evaluation.stale_evaluations import EVAL_FILE, evaluation_folders, stale_identity

    for evaluation in evaluation_folders(folder):
        if not evaluation.name.startswith(f"{checkpoint}-test-"):
            continue
        record = json.loads((evaluation / EVAL_FILE).read_text())
        if record.get("request") == protocol.request() and stale_identity(evaluation) is None:
            return record
    return None


def missing_checkpoints(folder: Path, protocol: AnomalyProtocol) -> list[str]:
    return [checkpoint for checkpoint, _ in CHECKPOINTS
            if finished_evaluation(folder, checkpoint, protocol) is None]


def evaluate_protocol(folder: Path, checkpoint: str, protocol: AnomalyProtocol) -> None:
    """``vaereg eval FOLDER --checkpoint CHECKPOINT --anomaly`` (or ``--ood``), without
    the embedding projector's files and the heat-map pictures (most of its time, and
    one run's ``vaereg eval`` draws them)."""
    from vaereg.evaluation.eval_command import evaluate_and_save
    from vaereg.evaluation.run_loading import load_run

    evaluate_and_save(load_run(folder, checkpoint), anomaly=protocol.ood is None,
                      ood=protocol.ood, projector_points=0, heat_maps=False)


def fill_evaluations(folder: Path, protocol: AnomalyProtocol) -> None:
    for checkpoint in missing_checkpoints(folder, protocol):
        evaluate_protocol(folder, checkpoint, protocol)


def headline_score(record: dict[str, Any]) -> str | None:
    """The anomaly score an eval.json names as its headline (``anomaly/headline``)."""
    named = record.get(HEADLINE_KEY, record["metrics"].get(HEADLINE_KEY))
    return named if isinstance(named, str) else None


def anomaly_figures(folder: Path, protocol: AnomalyProtocol
                    ) -> tuple[dict[str, float], str | None, str]:
    """(the compared figures of both checkpoints, the final weights' headline score or
    None, the protocol's description), evaluating what is missing or stale first."""
    fill_evaluations(folder, protocol)
    figures, headline, described = {}, None, ""
    for checkpoint, prefix in CHECKPOINTS:
        record = finished_evaluation(folder, checkpoint, protocol)
        if record is None:  # written by another vaereg, or changed since
            raise VaeregError(f"{folder}: no evaluation of {checkpoint}.pt asked for as "
                              f"compare asks ({' '.join(protocol.arguments)}) after evaluating it")
        figures.update({prefix + name: float(value) for name, value in record["metrics"].items()
                        if compared_anomaly_figure(name)})
        if checkpoint == "last":
            headline, described = headline_score(record), record["protocol"]
    return figures, headline, described


def common_headline(headlines: Sequence[str | None]) -> str | None:
    """The headline score most runs name (the first named, on a tie); None when none
    names one. Runs may differ: the rule that picks it sees only each run's own data."""
    named = Counter(headline for headline in headlines if headline)
    return max(named, key=named.get) if named else None
