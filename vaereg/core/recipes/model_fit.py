"""Whether a recipe's model can be built for its dataset's images, checked before any
training (``vaereg validate``): a conv backbone that cannot halve the image size, a
fixed-size backbone on images of another size. The model is built on the meta device,
so no weights are allocated and a large model costs nothing to check."""
from __future__ import annotations

import torch

from vaereg.core.common.errors import VaeregError
from vaereg.core.recipes.recipe import Recipe


def check_model_fits_data(recipe: Recipe) -> tuple[int, ...]:
    """The dataset's input shape (an image folder's headers are scanned for it), once the
    recipe's model was built for it; a model that cannot take it is refused (exit 2)."""
    dataset = recipe.data.cls(recipe.data.options)
    shape = tuple(dataset.input_shape)
    spec = recipe.model
    try:
        with torch.device("meta"):
            spec.cls(spec.options, shape, dataset.num_classes)
    except ValueError as error:  # the models' way of refusing a shape
        raise VaeregError(f"model '{spec.name}' on the {'x'.join(map(str, shape))} images "
                          f"of data '{recipe.data.name}': {error}") from None
    except (NotImplementedError, RuntimeError):  # what meta tensors raise when a model
        return shape  # reads values while built: `run` builds it for real and says more
    return shape
