"""Per-step cost of the non-finite check, against one whole training step.

Times (best of several repeats, CPU) a forward + backward + Adam step of the default
recipe's MLP VAE (784-512-256-16, batch 128), and ``step_is_finite`` on its loss and
gradients. Run: ``python benchmarks/nonfinite_check_cost.py``.
"""
from __future__ import annotations

import timeit

import torch

from vaereg import Objective
from vaereg.core.recipes.recipe import load_recipe
from vaereg.core.reliability.nonfinite import step_is_finite
from vaereg.models.vanilla import VanillaVAE


def main(repeats: int = 7, number: int = 20) -> None:
    spec = load_recipe("recipes/vanilla.toml").model
    model = VanillaVAE(spec.options, (1, 28, 28), 10)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(128, 1, 28, 28)
    state = {}

    def step() -> None:
        loss = Objective.from_model(model, model(x), x).loss()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=False)
        state["loss"] = loss

    step()
    step_time = min(timeit.repeat(step, repeat=repeats, number=number)) / number
    check = lambda: step_is_finite(state["loss"], model.parameters())  # noqa: E731
    check_time = min(timeit.repeat(check, repeat=repeats, number=number)) / number
    print(f"training step {step_time * 1e3:.2f} ms, check {check_time * 1e3:.3f} ms "
          f"({100 * check_time / step_time:.1f}% of a step), "
          f"{torch.get_num_threads()} threads")


if __name__ == "__main__":
    main()
