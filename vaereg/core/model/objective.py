"""The objective of one training step, kept as its parts until the moment it is summed.

A model's ``loss`` returns *per-example* named terms (shape ``[batch]``, or
``[batch, ...]`` whose trailing dimensions are summed per example, e.g. the KL per latent
dimension) and declares each term's default weight. Plugins then change weights, change
how one term is reduced to a scalar, or add terms and penalties, all before the sum

    loss = sum_t weight_t * reduce_t(term_t) + sum_p penalty_p

where ``reduce_t`` is the batch mean of the per-example values unless a plugin replaced
it (free bits, capacity annealing). Nobody takes a summed loss apart again, so two
plugins that weight the same term compose: their factors multiply.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from torch import Tensor

from vaereg.core.common.errors import VaeregError

Reduction = Callable[[Tensor], Tensor]


def per_example(values: Tensor) -> Tensor:
    """A term's value per example: trailing dimensions summed, shape ``[batch]``."""
    return values if values.dim() == 1 else values.flatten(1).sum(1)


def batch_mean(values: Tensor) -> Tensor:
    """The default reduction: the batch mean of the per-example values."""
    return per_example(values).mean()


class Objective:
    """Named per-example ``terms``, their ``weights``, and scalar ``penalties``.

    ``outputs`` is what the model's forward pass returned (``posterior``, ``z``,
    ``output``), so a plugin can add a term on the aggregate posterior;
    ``elbo_terms`` names the terms whose per-example sum is the negative ELBO.
    """

    def __init__(self, terms: dict[str, Tensor], weights: dict[str, float],
                 outputs: dict[str, Any] | None = None, elbo_terms: tuple[str, ...] = ()):
        unknown = sorted((set(weights) | set(elbo_terms)) - set(terms))
        if unknown:
            raise VaeregError(f"weights or ELBO terms named that the loss did not return: "
                              f"{unknown}")
        self.terms = dict(terms)
        self.weights = {name: float(weights.get(name, 0.0)) for name in terms}
        self.outputs = outputs or {}
        self.elbo_terms = tuple(elbo_terms)
        self.penalties: dict[str, Tensor] = {}
        self._reductions: dict[str, tuple[str, Reduction]] = {}

    @classmethod
    def from_model(cls, model: Any, outputs: dict[str, Any], target: Tensor) -> "Objective":
        """The model's terms for ``target`` given its forward ``outputs``, at its default
        weights: ``Objective.from_model(model, model(x), x).loss()`` is its loss."""
        return cls(model.loss(outputs, target), model.term_weights, outputs,
                   getattr(model, "elbo_terms", ()))

    def neg_elbo(self) -> Tensor | None:
        """Per-example negative ELBO, the sum of the ``elbo_terms`` (None for a model
        without one, such as WAE)."""
        if not self.elbo_terms:
            return None
        return sum(per_example(self.terms[name]) for name in self.elbo_terms)

    def per_example_loss(self) -> Tensor:
        """The negative ELBO per example, or for a model without one its weighted terms
        (what attacks and anomaly scores rank images by)."""
        elbo = self.neg_elbo()
        if elbo is not None:
            return elbo
        return sum(weight * per_example(self.terms[name])
                   for name, weight in self.weights.items() if weight != 0.0)

    def scale(self, name: str, factor: float) -> None:
        """Multiply a term's weight (how two KL schedules compose)."""
        self._require(name)
        self.weights[name] *= float(factor)

    def reduce_with(self, name: str, reduction: Reduction, owner: str) -> None:
        """Replace the batch mean of one term by ``reduction(term)`` (a scalar).

        Only one reduction per term: two cannot both be "the" value of a term, so a
        second one is refused rather than silently winning. ``owner`` names who asked.
        """
        self._require(name)
        if name in self._reductions:
            raise VaeregError(f"term '{name}' is already reduced by {self._reductions[name][0]};"
                              f" {owner} cannot reduce it too")
        self._reductions[name] = (owner, reduction)

    def add_term(self, name: str, values: Tensor, weight: float) -> None:
        """A new per-example term (e.g. an MMD penalty on the aggregate posterior)."""
        if name in self.terms:
            raise VaeregError(f"the objective already has a term named '{name}'")
        self.terms[name] = values
        self.weights[name] = float(weight)

    def add_penalty(self, name: str, value: Tensor) -> None:
        """A scalar added to the loss as it is (explicit L2, sparsity)."""
        if name in self.penalties:
            raise VaeregError(f"two plugins add a penalty named '{name}'")
        self.penalties[name] = value

    def reduced(self, name: str) -> Tensor:
        """The scalar a term contributes before its weight."""
        reduction = self._reductions.get(name, (None, batch_mean))[1]
        return reduction(self.terms[name])

    def loss(self) -> Tensor:
        """sum_t weight_t * reduce_t(term_t) + sum of penalties. A term of weight 0 stays
        in the graph (its gradients are zeros, not missing)."""
        parts = [weight * self.reduced(name) for name, weight in self.weights.items()]
        parts += list(self.penalties.values())
        if not parts:
            raise VaeregError("the objective is empty: the model's loss returned no term")
        return sum(parts[1:], parts[0])

    def _require(self, name: str) -> None:
        if name not in self.terms:
            raise VaeregError(f"the model's loss has no term '{name}'; its terms: "
                              f"{', '.join(self.terms)}")


def batch_scalars(objective: Objective, loss: Tensor) -> dict[str, Tensor]:
    """What a step reports (detached): ``loss``, each term's batch mean, ``neg_elbo``
    when the model has one, and each penalty as ``penalty/<name>``."""
    scalars = {"loss": loss.detach()}
    for name, values in objective.terms.items():
        scalars[name] = batch_mean(values.detach())
    elbo = objective.neg_elbo()
    if elbo is not None:
        scalars["neg_elbo"] = elbo.detach().mean()
    for name, value in objective.penalties.items():
        scalars[f"penalty/{name}"] = value.detach()
    return scalars


def headline_figure(metrics: Mapping[str, Any]) -> str:
    """The figure a run is judged by, from its metrics: ``neg_elbo`` when it reports
    ``test/neg_elbo`` (a model with an ELBO), else ``loss``, the model's own objective (a
    WAE's). Final metrics, ``vaereg run``'s last line and ``compare`` all ask here."""
    return "neg_elbo" if "test/neg_elbo" in metrics else "loss"


def default_monitor(model: Any) -> str:
    """``val/neg_elbo`` for a model with an ELBO, else ``val/loss`` (its own objective)."""
    return "val/neg_elbo" if getattr(model, "elbo_terms", ()) else "val/loss"
