"""The ``[optimizer]`` section: which torch optimizer, with its own validated options."""
from __future__ import annotations

import attrs
import torch
from torch import nn

from vaereg.core.common.options import in_range, option, positive


def _betas(value: tuple[float, ...]) -> str | None:
    ok = len(value) == 2 and all(0 <= b < 1 for b in value)
    return None if ok else "two numbers in [0, 1)"


@attrs.frozen
class AdamOptions:
    lr: float = option(1e-3, "learning rate", check=positive)
    betas: tuple[float, ...] = option((0.9, 0.999), "running-average coefficients", check=_betas)
    eps: float = option(1e-8, "denominator term for stability", check=positive)
    weight_decay: float = option(0.0, "L2 coefficient (prefer the weight_decay plugin)",
                                 check=in_range(0))
    amsgrad: bool = option(False, "use the AMSGrad variant")


@attrs.frozen
class AdamWOptions(AdamOptions):
    weight_decay: float = option(1e-2, "decoupled decay coefficient", check=in_range(0))


@attrs.frozen
class SGDOptions:
    lr: float = option(1e-2, "learning rate", check=positive)
    momentum: float = option(0.0, "momentum factor", check=in_range(0, 1, high_open=True))
    dampening: float = option(0.0, "momentum dampening", check=in_range(0, 1))
    nesterov: bool = option(False, "Nesterov momentum (needs momentum > 0)")
    weight_decay: float = option(0.0, "L2 coefficient (prefer the weight_decay plugin)",
                                 check=in_range(0))

    def __attrs_post_init__(self) -> None:
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError("nesterov = true needs momentum > 0 and dampening = 0")


OPTIMIZERS = {
    "adam": (torch.optim.Adam, AdamOptions),
    "adamw": (torch.optim.AdamW, AdamWOptions),
    "sgd": (torch.optim.SGD, SGDOptions),
}


def parameter_groups(model: nn.Module) -> list[dict]:
    """One group of every trainable parameter, with their names aligned (``params``,
    ``names``): what ``configure_optimizer`` hooks start from and split."""
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    return [{"params": [p for _, p in named], "names": [n for n, _ in named]}]


def build_optimizer(name: str, options: object, param_groups: list[dict]) -> torch.optim.Optimizer:
    """The torch optimizer for validated options; group-level settings win."""
    cls, _ = OPTIMIZERS[name]
    kwargs = attrs.asdict(options)
    return cls(param_groups, **kwargs)
