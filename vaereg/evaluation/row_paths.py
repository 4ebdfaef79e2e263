"""Which image each row of scores.csv is: its file where the split reads files, else its
dataset, split and index (``fashion_mnist:test[17]``; ``ood:test[17]`` for a row of the
``--ood`` dataset)."""
from __future__ import annotations

from vaereg.data.split_images import split_files
from vaereg.evaluation.run_evaluation import RunEvaluation
from vaereg.evaluation.run_loading import LoadedRun


def row_paths(run: LoadedRun, evaluation: RunEvaluation) -> list[str]:
    if evaluation.paths is not None:
        return list(evaluation.paths)
    files = split_files(getattr(run.splits, evaluation.split))
    ood = evaluation.protocol.startswith("out of distribution")
    rows = []
    for row, index in enumerate(evaluation.index.tolist()):
        other = ood and bool(evaluation.is_anomaly[row])
        if files is not None and not other:
            rows.append(files[index])
        else:
            name = "ood" if other else run.recipe.data.name
            rows.append(f"{name}:{evaluation.split}[{index}]")
    return rows
