"""Weight decay with one meaning under every optimizer (Loshchilov & Hutter 2019).

* ``coupled``: g <- g + lambda * w before the optimizer step: L2 through the optimizer,
  what ``torch.optim.Adam(weight_decay=lambda)`` does (and PyTorch-VAE uses).
* ``decoupled``: w <- w * (1 - lr * lambda) before the step, with the group's current lr:
  AdamW's decay, for any optimizer.
* ``penalty``: lambda/2 * sum w^2 added to the loss, logged as ``penalty/weight_decay``.

The plugin decays by itself, so the ``[optimizer]`` must not decay too: a recipe that sets
both is refused. Decayed: the weights of encoder (with the mu/log-variance heads) and
decoder; biases and normalization parameters only on request; the likelihood's
parameters never. Each decayed parameter group carries its coefficient as ``decay``.
"""
from __future__ import annotations

from typing import Any, Iterator, Literal

import attrs
import torch
from torch import Tensor, nn

from vaereg import VaeregError, hookimpl, in_range, option, parameter_groups

NORMS = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)


def _optional_non_negative(value: float | None) -> str | None:
    return None if value is None else in_range(0)(value)


@attrs.frozen
class WeightDecayOptions:
    value: float = option(1e-2, "decay coefficient lambda (coupled and penalty modes usually "
                          "want far smaller values than decoupled)", check=in_range(0))
    mode: Literal["coupled", "decoupled", "penalty"] = option(
        "decoupled", "L2 on the gradient, AdamW-style shrinking, or a loss penalty")
    encoder: float | None = option(None, "lambda for the encoder and its heads (default: value)",
                                   check=_optional_non_negative)
    decoder: float | None = option(None, "lambda for the decoder (default: value)",
                                   check=_optional_non_negative)
    include_bias_and_norm: bool = option(False, "also decay biases and normalization parameters")


def part_of(model: nn.Module, name: str) -> str | None:
    """'encoder', 'decoder' or None for a parameter name, from the model's ``parts``."""
    parts = getattr(model, "parts", None)
    if parts is None:
        raise VaeregError(f"weight_decay: model {type(model).__name__} does not declare `parts` "
                          "(which top-level modules form the encoder and the decoder)")
    top = name.split(".", 1)[0]
    for part, modules in parts.items():
        if top in modules:
            return part
    return None


def decay_coefficients(model: nn.Module, value: float = 1e-2, encoder: float | None = None,
                       decoder: float | None = None,
                       include_bias_and_norm: bool = False) -> dict[str, float]:
    """{parameter name: lambda} for every parameter to decay (lambda > 0)."""
    lambdas = {"encoder": value if encoder is None else encoder,
               "decoder": value if decoder is None else decoder}
    chosen = {}
    for module_name, module in model.named_modules():
        for param_name, _ in module.named_parameters(recurse=False):
            name = f"{module_name}.{param_name}" if module_name else param_name
            part = part_of(model, name)
            exempt = isinstance(module, NORMS) or param_name == "bias"
            if part and lambdas[part] > 0 and (include_bias_and_norm or not exempt):
                chosen[name] = lambdas[part]
    return chosen


def split_by_decay(param_groups: list[dict], coefficients: dict[str, float]) -> list[dict]:
    """Split each group (``params`` with aligned ``names``) by coefficient; every new group
    keeps the old group's other keys and gets ``decay`` (0.0 = not decayed)."""
    split = []
    for group in param_groups:
        by_decay: dict[float, dict[str, list]] = {}
        for name, param in zip(group["names"], group["params"]):
            bucket = by_decay.setdefault(coefficients.get(name, 0.0), {"params": [], "names": []})
            bucket["params"].append(param)
            bucket["names"].append(name)
        split += [{**group, **bucket, "decay": decay} for decay, bucket in by_decay.items()]
    return split


def weight_decay_groups(model: nn.Module, **options: Any) -> list[dict]:
    """Parameter groups for any torch optimizer, e.g.
    ``Adam(weight_decay_groups(model, value=1e-2))``; then call :func:`decay_weights`
    (or :func:`add_decay_to_gradients`) on ``optimizer.param_groups`` before each step."""
    return split_by_decay(parameter_groups(model), decay_coefficients(model, **options))


@torch.no_grad()
def add_decay_to_gradients(param_groups: list[dict]) -> None:
    """Coupled decay: g += lambda * w for parameters that have a gradient."""
    for group in param_groups:
        for param in group["params"]:
            if group.get("decay") and param.grad is not None:
                param.grad.add_(param, alpha=group["decay"])


@torch.no_grad()
def decay_weights(param_groups: list[dict]) -> None:
    """Decoupled decay: w *= 1 - lr * lambda, skipping parameters without a gradient
    (as AdamW does)."""
    for group in param_groups:
        for param in group["params"]:
            if group.get("decay") and param.grad is not None:
                param.mul_(1 - group["lr"] * group["decay"])


def l2_penalty(param_groups: list[dict]) -> Tensor:
    """sum over groups of lambda/2 * sum w^2 (differentiable)."""
    terms = [group["decay"] / 2 * sum(p.pow(2).sum() for p in group["params"])
             for group in param_groups if group.get("decay")]
    return torch.stack(terms).sum() if terms else torch.zeros(())


def optimizer_decay_problems(recipe: Any, name: str) -> Iterator[tuple[str, str]]:
    """Decaying twice is never what the recipe means: ask for one of the two. Checked
    when the recipe loads, so ``vaereg validate`` refuses it too."""
    found = recipe.optimizer.options.weight_decay
    if found:
        yield ("optimizer.weight_decay",
               f"expected 0 when plugin {name} (weight_decay) is used (it applies the decay "
               f"itself), found {found!r} (adamw's default is 0.01); set "
               f"optimizer.weight_decay = 0")


class WeightDecay:
    Options = WeightDecayOptions
    requires = ("parts",)
    check_recipe = staticmethod(optimizer_decay_problems)

    def __init__(self, options: WeightDecayOptions):
        self.options = options
        self.coefficients = attrs.asdict(options)
        self.mode = self.coefficients.pop("mode")

    @hookimpl
    def configure_optimizer(self, trainer: Any, model: nn.Module, param_groups: list[dict]) -> None:
        param_groups[:] = split_by_decay(param_groups, decay_coefficients(model, **self.coefficients))

    @hookimpl
    def compute_penalties(self, trainer: Any) -> dict[str, Tensor] | None:
        if self.mode != "penalty":
            return None
        return {"weight_decay": l2_penalty(trainer.optimizer.param_groups)}

    @hookimpl
    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        if self.mode == "coupled":
            add_decay_to_gradients(optimizer.param_groups)
        elif self.mode == "decoupled":
            decay_weights(optimizer.param_groups)
