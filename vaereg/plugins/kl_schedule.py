"""KL schedules: warm-up, cyclical annealing, free bits and capacity annealing.

Multiplies the weight of the objective's ``kl`` term by the schedule's weight (so two
schedules, or a schedule on a model whose KL weight is not 1 such as InfoVAE, compose by
multiplication), and with free bits or capacity annealing reduces that term to
``|KL' - C|`` instead of its batch mean (see ``vaereg.functional.kl_schedules``); only one
plugin may do that. ``recon`` and ``kl`` stay as measured, so runs remain comparable.
Logs ``kl_schedule/weight`` and ``kl_schedule/capacity`` every step.

State: the step count comes from the trainer; the cyclical schedule's length T is fixed
when the run starts (from ``run.epochs`` unless ``total_steps`` is set) and kept in
checkpoints, so a run resumed with more epochs keeps the phase it had and goes on
cycling with the same period.
"""
from __future__ import annotations

from functools import partial
from typing import Any, Iterator, Literal

import attrs
from torch import Tensor

from vaereg import free_bits_kl, hookimpl, in_range, kl_capacity, kl_weight, option, positive, \
    scheduled_kl


@attrs.frozen
class KLScheduleOptions:
    schedule: Literal["constant", "linear", "cyclical", "capacity"] = option(
        "linear", "'linear' warm-up, 'cyclical' annealing (Fu et al. 2019), 'capacity' "
        "annealing (Burgess et al. 2018), or a 'constant' weight")
    beta: float = option(1.0, "KL weight once warmed up (gamma of Burgess et al., who use "
                         "1000 with 'capacity')", check=in_range(0))
    ramp_steps: int = option(1000, "optimizer steps of the linear ramp: the weight for "
                             "'linear', the capacity C for 'capacity'", check=in_range(0))
    cycles: int = option(4, "'cyclical': number of cycles M over the run", check=positive)
    ratio: float = option(0.5, "'cyclical': fraction R of each cycle spent rising",
                          check=in_range(0, 1, low_open=True))
    total_steps: int = option(0, "'cyclical': steps T the cycles span; 0 = the run's epochs "
                              "x batches per epoch when it starts", check=in_range(0))
    capacity_max: float = option(25.0, "'capacity': final capacity C_max, in nats",
                                 check=in_range(0))
    free_bits: float = option(0.0, "floor lambda in nats per latent dimension (Kingma et al. "
                              "2016); 0 = off", check=in_range(0))

    @property
    def reduces_kl(self) -> bool:
        return self.schedule == "capacity" or self.free_bits > 0


def reduced_kl(kl: Tensor, floor: float, capacity: float) -> Tensor:
    """|KL' - C| for per-example KL terms ``[batch, latent_dim]``; KL' is the batch-mean
    KL summed over dimensions, each dimension floored at ``floor`` when it is > 0."""
    per_dim = kl.mean(0) if kl.dim() > 1 else kl.mean().reshape(1)
    value = free_bits_kl(per_dim, floor) if floor else per_dim.sum()
    return scheduled_kl(value, 1.0, capacity)


def single_kl_reduction(recipe: Any, name: str) -> Iterator[tuple[str, str]]:
    """Free bits and capacity replace how the KL term is reduced: two plugins cannot both
    say what "the" KL is, so a second one is refused when the recipe loads."""
    reducing = [spec.name for spec in recipe.plugins
                if spec.use == "kl_schedule" and spec.options.reduces_kl]
    if len(reducing) > 1 and name == reducing[-1]:
        yield (f"plugins.{name}", f"only one kl_schedule may use free_bits or 'capacity' "
               f"(they replace how the KL term is reduced); found {', '.join(reducing)}")


@attrs.define(eq=False)  # identity equality: a recipe may run two equal instances
class KLSchedule:
    Options = KLScheduleOptions
    requires = ("term:kl",)
    check_recipe = staticmethod(single_kl_reduction)
    options: KLScheduleOptions
    total_steps: int = attrs.field(default=0, init=False)  # T, fixed when the run starts

    @hookimpl
    def on_train_start(self, trainer) -> None:
        if not self.total_steps:
            batch_size = trainer.recipe.data.loader.batch_size
            self.total_steps = self.options.total_steps or \
                trainer.recipe.run.epochs * trainer.splits.train.num_batches(batch_size)

    @hookimpl
    def transform_objective(self, trainer, objective) -> None:
        o = self.options
        weight = kl_weight(trainer.step, o.schedule, beta=o.beta, ramp_steps=o.ramp_steps,
                           total_steps=max(self.total_steps, 1), cycles=o.cycles,
                           ratio=o.ratio)
        capacity_now = kl_capacity(trainer.step, o.capacity_max, o.ramp_steps) \
            if o.schedule == "capacity" else 0.0
        objective.scale("kl", weight)
        if o.reduces_kl:
            objective.reduce_with("kl", partial(reduced_kl, floor=o.free_bits,
                                                capacity=capacity_now), owner="kl_schedule")
        trainer.log("kl_schedule/weight", weight)
        trainer.log("kl_schedule/capacity", capacity_now)

    @hookimpl
    def on_save_checkpoint(self) -> dict[str, int]:
        return {"total_steps": self.total_steps}

    @hookimpl
    def on_load_checkpoint(self, state: dict[str, int]) -> None:
        self.total_steps = int(state["total_steps"])
