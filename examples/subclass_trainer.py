"""A Trainer subclass that changes the training step: docs/subclassing.md explains it.

It adds an L2 pull of the posterior means toward the prior mean,
``mu_weight * E ||mu(x)||^2``, to the objective as the penalty ``mu_l2`` (logged as
``penalty/mu_l2``). Every plugin of the recipe keeps working: the loop calls the hooks
around ``training_step``.

    python examples/subclass_trainer.py recipes/vanilla_dropout.toml --set run.epochs=1

The run records this class (``run.trainer``, this file's path), so ``vaereg run --resume
RUN_DIR`` after a Ctrl-C continues with it; so does ``vaereg run RECIPE --trainer
examples/subclass_trainer.py:MeanPenaltyTrainer``.
"""
from __future__ import annotations

import sys

import vaereg


class MeanPenaltyTrainer(vaereg.Trainer):
    """The recipe's training, with ``mu_weight * mean ||mu||^2`` added to the loss."""

    mu_weight = 0.1

    def training_step(self, batch: vaereg.Batch) -> vaereg.Objective:
        objective = super().training_step(batch)
        means = objective.outputs["posterior"].mean
        objective.add_penalty("mu_l2", self.mu_weight * means.pow(2).sum(1).mean())
        return objective


def main(argv: list[str]) -> None:
    """``RECIPE [--set KEY=VALUE ...]``, as for ``vaereg run``: ``run_main`` gives the same
    clean end (Ctrl-C: a checkpoint, exit 130 and the command that resumes)."""
    overrides = [value for flag, value in zip(argv[1:], argv[2:]) if flag == "--set"]
    vaereg.run_main(MeanPenaltyTrainer(vaereg.load_recipe(argv[0], overrides)))


if __name__ == "__main__":
    main(sys.argv[1:])
