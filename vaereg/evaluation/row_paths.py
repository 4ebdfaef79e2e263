"""Which image each row of scores.csv is (see ``vaereg.data.example_names``): the
anomaly protocols name their rows as they build their sets; an evaluation of one of the
run's splits names them here."""
from __future__ import annotations

from vaereg.core.run_loading import LoadedRun
from vaereg.data.example_names import example_names
from vaereg.evaluation.run_evaluation import RunEvaluation


def row_paths(run: LoadedRun, evaluation: RunEvaluation) -> list[str]:
    if evaluation.paths is not None:
        return list(evaluation.paths)
    return example_names(getattr(run.splits, evaluation.split), evaluation.index.tolist(),
                         run.recipe.data.name, evaluation.split)
