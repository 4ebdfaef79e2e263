"""An auxiliary classifier on the encoder's features, trained with the VAE.

Supervised regularization of the encoder (Le et al. 2018, *Supervised autoencoders*).

The cross-entropy of a linear head on the encoder body's output pulls the classes apart
in that space, which the reconstruction objective alone does not do. Why it is here: the
feature-space anomaly scores (``feature_knn``, ``feature_class_energy``) measure how far
an image lies from the training classes there, so an unseen class stands further out
(docs/metrics.md, "Held-out classes"). The head is a submodule of the model
(``class_head``), saved and loaded with its weights. Training steps only: validation
reports the model's own terms.
"""
from __future__ import annotations

import attrs
import torch
from torch import nn
from torch.nn import functional as F

from vaereg import VaeregError, hookimpl, in_range, option

#: the head's attribute on the model, and so the prefix of its weights in checkpoints
HEAD = "class_head"
#: the objective's term: cross-entropy per image, in nats
TERM = "class_ce"


@attrs.frozen
class ClassHeadOptions:
    weight: float = option(10.0, "weight of the cross-entropy term (the objective is in "
                           "nats per image)", check=in_range(0))


def feature_width(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """The width of ``model.features``, from one blank image (in eval mode, so that
    batch-norm statistics are not touched; the model is built in training mode)."""
    model.eval()
    with torch.no_grad():
        width = model.features(torch.zeros(1, *input_shape)).shape[1]
    model.train()
    return width


@attrs.define(eq=False)  # identity equality: a recipe may run two equal instances
class ClassHead:
    Options = ClassHeadOptions
    requires = ("encoder_features",)
    options: ClassHeadOptions

    @hookimpl
    def build_layers(self, trainer, model: nn.Module) -> None:
        classes = trainer.dataset.num_classes
        if "conditional" in model.capabilities:
            raise VaeregError("plugin class_head: the model is conditional, so its encoder "
                              "reads the label it would be trained to predict; use an "
                              "unconditional model")
        if classes < 2:
            raise VaeregError(f"plugin class_head needs labelled data with at least 2 "
                              f"classes; data '{trainer.recipe.data.name}' has {classes}")
        width = feature_width(model, trainer.dataset.input_shape)
        setattr(model, HEAD, nn.Linear(width, classes))

    @hookimpl
    def transform_objective(self, trainer, objective, batch) -> None:
        if batch.y is None:
            raise VaeregError("plugin class_head: a training batch came without labels")
        logits = getattr(trainer.model, HEAD)(objective.outputs["features"])
        objective.add_term(TERM,
                           F.cross_entropy(logits, batch.y, reduction="none"),
                           self.options.weight)
