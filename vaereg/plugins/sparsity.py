"""Sparse weights and activations in the hidden layers.

* ``l1``: l1 * sum |w| (unstructured).
* ``group``: group * sum_g ||w_g||_2, one group per output neuron (a row of a linear
  weight) or output channel of a convolution: group lasso (Yuan & Lin 2006), structured
  sparsity (Wen et al. 2016), so whole units can be pruned.
* ``proximal = true``: instead of adding those two to the loss, apply their proximal
  operator after each optimizer step with the group's learning rate: w <- sign(w)
  max(|w| - lr*l1, 0), then w_g <- w_g max(0, 1 - lr*group/||w_g||). This makes weights
  exactly zero; a (sub)gradient of |w| under Adam never does. With Adam the step is a
  heuristic (the prox uses lr, not Adam's per-coordinate step size).
* ``activation``: activation * sum_j KL(rho || rho_j), rho_j the batch-mean soft activity
  tanh(|a_j|) of hidden unit j (Ng's sparse autoencoder penalty).

Reports (every epoch and in metrics.json): ``sparsity/zero_fraction`` of the targeted
weights, ``sparsity/dead/<part>.<index>`` (units whose whole weight group is zero) and
``sparsity/effective_params`` (non-zero parameters of the whole model).
"""
from __future__ import annotations

from typing import Any, Literal

import attrs
import torch
from torch import Tensor, nn

from vaereg import hidden_blocks, hookimpl, in_range, option


@attrs.frozen
class SparsityOptions:
    l1: float = option(0.0, "coefficient of sum |w|", check=in_range(0))
    group: float = option(0.0, "coefficient of the group lasso sum_g ||w_g||_2", check=in_range(0))
    proximal: bool = option(False, "soft-threshold after each step (exact zeros) instead of "
                            "adding l1/group terms to the loss")
    where: Literal["encoder", "decoder", "both"] = option(
        "both", "which part's hidden layers are sparsified")
    activation: float = option(0.0, "weight of the activation-sparsity KL penalty",
                               check=in_range(0))
    target_rate: float = option(0.05, "target mean activity rho of each hidden unit",
                                check=in_range(0, 1, low_open=True, high_open=True))


def sparse_layers(model: nn.Module, where: str = "both") -> dict[str, nn.Module]:
    """{'<part>.<index>': weight layer} of the hidden blocks."""
    return {f"{b.part}.{b.index}": b.linear for b in hidden_blocks(model, where)}


def group_shape(layer: nn.Module) -> list[int]:
    """Broadcast shape of one value per group: output units lie on dim 1 of a transposed
    convolution's weight (in, out, kh, kw), on dim 0 otherwise."""
    out_dim = 1 if isinstance(layer, nn.modules.conv._ConvTransposeNd) else 0
    return [-1 if d == out_dim else 1 for d in range(layer.weight.dim())]


def group_norms(layer: nn.Module) -> Tensor:
    """L2 norm of each output unit's weights."""
    shape = group_shape(layer)
    dims = [d for d, size in enumerate(shape) if size == 1]
    return torch.linalg.vector_norm(layer.weight, dim=dims)


def penalties(layers: dict[str, nn.Module], l1: float, group: float) -> dict[str, Tensor]:
    """The non-zero weight penalties, named ``l1`` and ``group_lasso``."""
    terms = {}
    if l1:
        terms["l1"] = l1 * sum(layer.weight.abs().sum() for layer in layers.values())
    if group:
        terms["group_lasso"] = group * sum(group_norms(layer).sum() for layer in layers.values())
    return terms


@torch.no_grad()
def proximal_step(layer: nn.Module, lr: float, l1: float = 0.0, group: float = 0.0) -> None:
    """Soft-threshold ``layer.weight``: the prox of lr * (l1 |w|_1 + group sum_g ||w_g||)."""
    weight = layer.weight
    if l1:
        weight.copy_(weight.sign() * (weight.abs() - lr * l1).clamp_min(0))
    if group:
        norms = group_norms(layer)
        scale = (1 - lr * group / norms.clamp_min(torch.finfo(norms.dtype).tiny)).clamp_min(0)
        weight.mul_(scale.view(group_shape(layer)))


@torch.no_grad()
def sparsity_report(model: nn.Module, layers: dict[str, nn.Module]) -> dict[str, float]:
    """Zero-weight fraction of ``layers``, dead units per layer, non-zero model parameters."""
    zeros = sum(int((layer.weight == 0).sum()) for layer in layers.values())
    total = sum(layer.weight.numel() for layer in layers.values())
    report = {"sparsity/zero_fraction": zeros / total}
    report.update({f"sparsity/dead/{name}": float((group_norms(layer) == 0).sum())
                   for name, layer in layers.items()})
    report["sparsity/effective_params"] = float(sum(int((p != 0).sum()) for p in model.parameters()))
    return report


def kl_to_rate(activity: Tensor, rate: float) -> Tensor:
    """sum_j KL(Bernoulli(rate) || Bernoulli(rho_j)), rho_j the mean of ``activity``
    (N, units, ...) over every dim but 1."""
    dims = [d for d in range(activity.dim()) if d != 1]
    rho = activity.mean(dims).clamp(1e-6, 1 - 1e-6)
    return (rate * torch.log(rate / rho) + (1 - rate) * torch.log((1 - rate) / (1 - rho))).sum()


class ActivityMonitor:
    """Keeps the last training-mode output of each block's activation (with its graph)."""

    def __init__(self, model: nn.Module, where: str = "both"):
        self.outputs: dict[int, Tensor] = {}
        self.handles = [block.activation.register_forward_hook(self._keep)
                        for block in hidden_blocks(model, where)]

    def _keep(self, module: nn.Module, _inputs: Any, output: Tensor) -> None:
        if module.training and torch.is_grad_enabled():
            self.outputs[id(module)] = output

    def kl(self, rate: float) -> Tensor:
        """Activity KL summed over the monitored layers, from their last outputs."""
        return sum(kl_to_rate(torch.tanh(out.abs()), rate) for out in self.outputs.values())

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.outputs.clear()


class Sparsity:
    Options = SparsityOptions
    requires = ("hidden_blocks",)

    def __init__(self, options: SparsityOptions):
        self.options = options
        self.monitor: ActivityMonitor | None = None

    def layers(self, model: nn.Module) -> dict[str, nn.Module]:
        return sparse_layers(model, self.options.where)

    @hookimpl
    def on_train_start(self, trainer: Any) -> None:
        if self.options.activation:
            self.monitor = ActivityMonitor(trainer.model, self.options.where)

    @hookimpl
    def compute_penalties(self, trainer: Any, model: nn.Module) -> dict[str, Tensor]:
        o = self.options
        weights = penalties(self.layers(model), o.l1, o.group)
        if o.proximal:  # applied by the step; logged to follow them
            for name, value in weights.items():
                trainer.log(f"sparsity/{name}", value.detach())
            weights = {}
        if self.monitor is not None:
            weights["activation_kl"] = o.activation * self.monitor.kl(o.target_rate)
        return weights

    @hookimpl
    def on_batch_end(self, trainer: Any) -> None:
        if not self.options.proximal:
            return
        lr = {id(p): group["lr"] for group in trainer.optimizer.param_groups for p in group["params"]}
        for layer in self.layers(trainer.model).values():
            proximal_step(layer, lr[id(layer.weight)], self.options.l1, self.options.group)

    @hookimpl
    def on_train_epoch_end(self, trainer: Any, metrics: dict[str, float]) -> None:
        metrics.update(sparsity_report(trainer.model, self.layers(trainer.model)))

    @hookimpl
    def on_train_end(self) -> None:
        if self.monitor is not None:
            self.monitor.remove()
            self.monitor = None

    @hookimpl
    def on_test_end(self, trainer: Any, metrics: dict[str, float]) -> None:
        metrics.update(sparsity_report(trainer.model, self.layers(trainer.model)))
