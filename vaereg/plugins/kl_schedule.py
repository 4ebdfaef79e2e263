"""KL schedules: warm-up, cyclical annealing, free bits and capacity annealing.

Replaces the KL part of the objective by ``weight * |KL' - C|`` (see
``vaereg.functional.kl_schedules``); ``neg_elbo``, ``recon`` and ``kl`` stay as
measured, so runs remain comparable. Logs ``kl_schedule/weight`` and
``kl_schedule/capacity`` every step. Stateless: everything follows from
``trainer.step`` and the recipe, so a run resumed with the same recipe continues the same
schedule (the cyclical one spans the recipe's epochs unless ``total_steps`` is set).
"""
from __future__ import annotations

from typing import Literal

import attrs

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
                              "x batches per epoch", check=in_range(0))
    capacity_max: float = option(25.0, "'capacity': final capacity C_max, in nats",
                                 check=in_range(0))
    free_bits: float = option(0.0, "floor lambda in nats per latent dimension (Kingma et al. "
                              "2016); 0 = off", check=in_range(0))


@attrs.define(eq=False)  # identity equality: a recipe may run two equal instances
class KLSchedule:
    Options = KLScheduleOptions
    options: KLScheduleOptions
    total_steps: int = attrs.field(default=1, init=False)  # T, set at train start

    @hookimpl
    def on_train_start(self, trainer) -> None:
        batch_size = trainer.recipe.data.options.batch_size
        self.total_steps = self.options.total_steps or \
            trainer.recipe.run.epochs * trainer.splits.train.num_batches(batch_size)

    @hookimpl
    def transform_loss(self, trainer, terms: dict) -> None:
        o = self.options
        weight = kl_weight(trainer.step, o.schedule, beta=o.beta, ramp_steps=o.ramp_steps,
                           total_steps=self.total_steps, cycles=o.cycles, ratio=o.ratio)
        capacity_now = kl_capacity(trainer.step, o.capacity_max, o.ramp_steps) \
            if o.schedule == "capacity" else 0.0
        kl = free_bits_kl(terms["kl_per_dim"], o.free_bits) if o.free_bits else terms["kl"]
        terms["loss"] = terms["loss"] - terms["kl"] + scheduled_kl(kl, weight, capacity_now)
        trainer.log("kl_schedule/weight", weight)
        trainer.log("kl_schedule/capacity", capacity_now)
