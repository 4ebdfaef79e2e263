"""Registered metrics ``active_units`` and ``mutual_information`` (see docs/metrics.md)."""
from __future__ import annotations

import attrs

from vaereg.core.common.options import in_range, option
from vaereg.evaluation.active_units import active_units
from vaereg.evaluation.metric import Metric, MetricContext, MetricResult
from vaereg.evaluation.mutual_information import mutual_information_of_batches


@attrs.frozen
class ActiveUnitsOptions:
    threshold: float = option(0.01, "a unit is active when Var_x of its posterior mean "
                              "exceeds this", check=in_range(0))


class ActiveUnits(Metric):
    """``active_units``: how many latent units have Var_x(E_q[z_u]) > threshold."""

    Options = ActiveUnitsOptions
    requires = ("posterior",)

    def compute(self, context: MetricContext) -> MetricResult:
        model = context.model
        means = context.per_example(lambda b: {"mean": model.encode(b.x, b.y).mean})["mean"]
        count = active_units(means, self.options.threshold)
        return context.result(summary={"active_units": float(count),
                                       "latent_dim": float(model.latent_dim)})


class MutualInformation(Metric):
    """``mutual_information``: I(x; z) in nats with the aggregate posterior over the split."""

    requires = ("posterior_density",)

    def compute(self, context: MetricContext) -> MetricResult:
        # the pixels the model sees (binarized if so), a batch at a time
        mi = mutual_information_of_batches(context.model,
                                           ((b.x, b.y) for b in context.batches()))
        return context.result(summary={"mutual_information": mi})
