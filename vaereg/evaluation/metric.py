"""The metric contract and :func:`evaluate`, which runs a list of metrics over one split.

A metric is a class registered in the entry-point group ``vaereg.metrics`` (the built-ins
are declared in vaereg's setup.cfg, third parties add theirs the same way) with an attrs
``Options`` class (fields declared with ``vaereg.option``), ``__init__(self, options)``
and ``compute(self, context: MetricContext) -> MetricResult``; ``requires`` names what it
needs of the model (``vaereg.core.model.model_contract``), so a model that cannot serve it is
refused by name instead of giving NaN or a TypeError; ``needs_labels = True`` says it
fits on the training split's class labels (at least two classes), so ``vaereg eval``
skips it among its defaults where the data has none.

Every result names the likelihood and binarization its numbers are under: a Bernoulli
negative log-likelihood of grey (non-binary) pixels is a loss, not a log-likelihood.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator, Sequence

import attrs
import torch
from torch import Tensor

from vaereg.core.common.errors import RecipeError, VaeregError
from vaereg.core.common.eval_mode import eval_mode
from vaereg.core.common.options import build
from vaereg.core.common.seeding import EVALUATION_SEED, seeded
from vaereg.core.data.batch import Batch
from vaereg.core.model.model_contract import why_not
from vaereg.core.recipes.registry import METRICS
from vaereg.data.split_images import dynamic_binarization, is_binary, split_images


@attrs.frozen
class NoOptions:
    """Options of a metric that has none."""


class Metric:
    """Optional base class of a metric: keeps ``options``; subclasses set ``Options``
    and ``requires`` and implement ``compute``."""

    Options: type = NoOptions
    requires: tuple[str, ...] = ()
    needs_labels: bool = False

    def __init__(self, options: Any):
        self.options = options

    def compute(self, context: "MetricContext") -> "MetricResult":
        raise NotImplementedError


@attrs.frozen
class MetricResult:
    """``summary``: name -> figure; ``per_example``: name -> [N] tensor in the split's order.

    ``likelihood`` is the model's (``model.likelihood_name``); ``binarization`` is
    ``"dynamic"`` (Bernoulli pixels drawn for each pass, seeded), ``"binary"`` (the data
    are 0/1 already) or ``"none"`` (grey pixels).
    """

    summary: dict[str, float]
    per_example: dict[str, Tensor] = attrs.field(factory=dict)
    likelihood: str = ""
    binarization: str = ""

    @property
    def is_log_likelihood(self) -> bool:
        """Whether likelihood figures are log-likelihoods: not so for Bernoulli on grey pixels."""
        return not (self.likelihood == "bernoulli" and self.binarization == "none")


def binarization_of(split: Any, batch_size: int = 500) -> str:
    """How the pixels of ``split`` are binarized: 'dynamic', 'binary' or 'none'."""
    if dynamic_binarization(split):
        return "dynamic"
    return "binary" if is_binary(split, batch_size) else "none"


@attrs.frozen
class MetricContext:
    """What a metric computes from: the model (in eval mode), the split evaluated, the
    training split (None when not given), the device, a generator on that device seeded
    afresh for each metric, the batch size, the split's binarization and the validation
    split (None when not given: normal images, for scores standardized on them). Torch's global
    generator is seeded afresh for each metric too (``Distribution.sample`` and dynamic
    binarization use it). ``fitted``: what metrics fitted on the training split, by name,
    shared by every metric of one ``evaluate`` call (a fit that draws nothing is the same
    whichever metric asks first, so each is done once)."""

    model: Any
    split: Any
    train: Any
    device: torch.device
    generator: torch.Generator
    batch_size: int
    binarization: str = "none"
    val: Any = None
    fitted: dict[str, Any] = attrs.field(factory=dict, eq=False)

    @property
    def likelihood(self) -> str:
        return self.model.likelihood_name

    def required(self, which: str, metric: str) -> Any:
        """The ``train`` or ``val`` split, which ``metric`` needs (``VaeregError`` when
        the evaluation was not given it)."""
        split = getattr(self, which)
        if split is None:
            name = {"train": "training", "val": "validation"}[which]
            raise VaeregError(f"metric '{metric}' needs the {name} split "
                              f"(evaluate(..., {which}=...))")
        return split

    def on(self, split: Any) -> "MetricContext":
        """This context on another split (the training or validation images a score is
        fitted or standardized on)."""
        return attrs.evolve(self, split=split)

    def batches(self) -> Iterator[Batch]:
        """The split's batches, in order (so per-example scores align with the split)."""
        return self.split.batches(self.batch_size)

    @torch.no_grad()
    def per_example(self, score: Callable[[Batch], dict[str, Tensor]]) -> dict[str, Tensor]:
        """``score(batch)`` for every batch, concatenated along the first dimension."""
        parts = [score(batch) for batch in self.batches()]
        return {name: torch.cat([part[name] for part in parts]) for name in parts[0]}

    def images(self, n: int | None = None) -> tuple[Tensor, Tensor | None]:
        """(images, labels or None) of the split, as the model sees them: all in order, or
        ``n`` drawn without replacement (all when fewer), seeded. Only those are read."""
        if n is None:
            return split_images(self.split, batch_size=self.batch_size)
        order = torch.randperm(len(self.split), generator=self.generator, device=self.device)
        return split_images(self.split, index=order[:n].cpu(), batch_size=self.batch_size)

    def result(self, per_example: dict[str, Tensor] | None = None,
               summary: dict[str, float] | None = None) -> MetricResult:
        """A result under this context's likelihood and binarization; the summary holds
        the mean of each per-example score unless ``summary`` names it."""
        per_example = per_example or {}
        means = {name: values.double().mean().item() for name, values in per_example.items()}
        return MetricResult({**means, **(summary or {})}, per_example, self.likelihood,
                            self.binarization)


def metric_class(name: str) -> type:
    """The metric class registered as ``name`` (``VaeregError`` for an unknown name)."""
    try:
        return METRICS.load(name)
    except KeyError:
        raise VaeregError(METRICS.unknown(name)) from None


def make_metric(name: str, options: dict[str, Any] | None = None, source: str = "code") -> Any:
    """The metric registered as ``name`` with ``options`` (a table of its option keys).

    Unknown names and bad options raise ``VaeregError`` / ``RecipeError`` (every problem,
    located at ``metrics.<name>.<key>`` in ``source``)."""
    cls = metric_class(name)
    built, problems = build(cls.Options, options or {}, source, f"metrics.{name}")
    if problems:
        raise RecipeError(problems)
    return cls(built)


def unservable(name: str, metric: Any, model: Any, model_name: str = "") -> str | None:
    """None when ``model`` can serve ``metric`` (a class or object named ``name``), else why
    not (its ``requires`` against the model contract)."""
    model_name = model_name or type(model).__name__
    return why_not("metric", name, metric, model_name, model)


def unlabelled(name: str, metric: Any, train: Any) -> str | None:
    """None unless ``metric`` (a class or object named ``name``) needs the training
    split's class labels (``needs_labels``) and ``train`` has fewer than two classes;
    then why."""
    if not getattr(metric, "needs_labels", False):
        return None
    labels = getattr(train, "y", None)
    classes = 0 if labels is None else len(labels.unique())
    if classes >= 2:
        return None
    found = "no labels" if labels is None else f"{classes} class"
    return (f"metric '{name}' needs class labels of at least 2 classes on the training "
            f"split, and this run's has {found}")


def device_of(model: Any) -> torch.device:
    """The device of ``model``'s parameters (the CPU for a model without any)."""
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


def evaluate(model: Any, split: Any, metrics: Sequence[Any], *, train: Any = None,
             val: Any = None, prefix: str = "test", batch_size: int = 500,
             seed: int = EVALUATION_SEED) -> MetricResult:
    """Run ``metrics`` (registered names or metric objects) on ``split`` and merge them.

    Summary names get ``prefix/`` (``test/iwae_nll``; no prefix when empty); per-example
    names stay bare (one split: the columns of a scores file). ``train`` and ``val`` are
    the run's other splits, for metrics that fit or standardize on them. Each metric starts from
    generators seeded with ``seed``, so its figures do not depend on which others ran (and
    with the trainer's batch size and seed, ``elbo`` gives the trainer's final figures).
    The model is put in eval mode and its mode restored afterwards. A metric the model
    cannot serve (its ``requires``) is refused with ``VaeregError`` before any runs.
    """
    metrics = [make_metric(metric) if isinstance(metric, str) else metric for metric in metrics]
    reasons = [unservable(type(metric).__name__, metric, model) for metric in metrics]
    if any(reasons):
        raise VaeregError("; ".join(reason for reason in reasons if reason))
    device = device_of(model)
    binarization = binarization_of(split, batch_size)
    summary: dict[str, float] = {}
    per_example: dict[str, Tensor] = {}
    fitted: dict[str, Any] = {}
    with eval_mode(model):
        for metric in metrics:
            generator = torch.Generator(device=device).manual_seed(seed)
            context = MetricContext(model, split, train, device, generator, batch_size,
                                    binarization, val, fitted)
            with seeded(seed, device):
                result = metric.compute(context)
            for name, value in result.summary.items():
                summary[_unique(f"{prefix}/{name}" if prefix else name, summary, metric)] = value
            for name, values in result.per_example.items():
                per_example[_unique(name, per_example, metric)] = values
    return MetricResult(summary, per_example, model.likelihood_name, binarization)


def _unique(name: str, taken: dict[str, Any], metric: Any) -> str:
    if name in taken:
        raise VaeregError(f"metric {type(metric).__name__} reports '{name}', which an "
                          f"earlier metric already reported")
    return name
