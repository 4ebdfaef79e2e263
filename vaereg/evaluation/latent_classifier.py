"""A linear softmax classifier on the posterior's parameters, fitted on the training
labels: its free energy is the ``latent_class_energy`` anomaly score.

    f(x) = W ((u(x) - a) / b) + c,     E(x) = -log sum_c exp f_c(x)

with u(x) the posterior mean and log standard deviation side by side, a and b the
training features' mean and standard deviation, and (W, c) minimizing the mean
cross-entropy plus WEIGHT_DECAY ||W||^2 over the training images (L-BFGS from zero, in
float64: the same fit every time). A low energy means some trained class claims the image
strongly (Liu et al. 2020, "Energy-based out-of-distribution detection", NeurIPS); an
image of no trained class gets no strong logit.
"""
from __future__ import annotations

import attrs
import torch
from torch import Tensor
from torch.distributions import Distribution
from torch.nn import functional as F

from vaereg.core.common.errors import VaeregError

#: the ridge on the weights, per unit of mean cross-entropy
WEIGHT_DECAY = 1e-3
#: L-BFGS iterations of the fit
FIT_STEPS = 300


def posterior_features(posterior: Distribution) -> Tensor:
    """u(x): the posterior's mean and log standard deviation, [N, 2 d] float64."""
    return torch.cat([posterior.mean, posterior.stddev.log()], dim=1).double()


@attrs.frozen
class LinearSoftmax:
    """The fitted classifier: standardization (``center``, ``scale``), ``weight`` [D, C]
    and ``bias`` [C] over the training ``classes``."""

    center: Tensor
    scale: Tensor
    weight: Tensor
    bias: Tensor
    classes: Tensor

    def logits(self, features: Tensor) -> Tensor:
        """f(x) of each row of ``features`` [N, D]: [N, C] float64."""
        features = features.double().to(self.center.device)
        return ((features - self.center) / self.scale) @ self.weight + self.bias

    def energy(self, features: Tensor) -> Tensor:
        """E(x) = -logsumexp f(x): float64 [N], higher = claimed by no class."""
        return -torch.logsumexp(self.logits(features), dim=1)


def fit_linear_softmax(features: Tensor, labels: Tensor) -> LinearSoftmax:
    """The classifier of ``labels`` [N] from ``features`` [N, D] (see the module)."""
    classes = labels.unique()
    if len(classes) < 2:
        raise VaeregError(f"the latent classifier needs at least 2 classes in the training "
                          f"labels, got {len(classes)}")
    features = features.double()
    center, scale = features.mean(0), features.std(0).clamp(min=1e-6)
    inputs = (features - center) / scale
    targets = torch.searchsorted(classes, labels.to(classes.device))
    weight = torch.zeros(features.shape[1], len(classes), dtype=torch.float64,
                         device=features.device, requires_grad=True)
    bias = torch.zeros(len(classes), dtype=torch.float64, device=features.device,
                       requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=FIT_STEPS,
                                  line_search_fn="strong_wolfe")

    def loss() -> Tensor:
        optimizer.zero_grad()
        value = F.cross_entropy(inputs @ weight + bias, targets) + WEIGHT_DECAY * weight.square().sum()
        value.backward()
        return value

    with torch.enable_grad():
        optimizer.step(loss)
    return LinearSoftmax(center, scale, weight.detach(), bias.detach(), classes)
