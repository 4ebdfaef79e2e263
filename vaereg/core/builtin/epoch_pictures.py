"""TensorBoard pictures of the model: reconstruction and sample grids, weight histograms.

Configured by ``[logging]``; done at its cadence (``vaereg.core.recipes.run_cadence``) and
after the last epoch, also when a plugin (early stopping) ends the run before
``run.epochs``. Grids are drawn for image data only (``vaereg.core.data.data_shape``: not
for signals or volumes); histograms for any. Works for datasets without labels (``y`` is
None) and for conditional models (samples take the labels of the images shown).
"""
from __future__ import annotations

from typing import Any

import torch

from vaereg.core.common.eval_mode import eval_mode
from vaereg.core.data.data_shape import is_image_data
from vaereg.core.hooks.hookspecs import hookimpl
from vaereg.core.recipes.run_cadence import Cadence, LoggingOptions


class EpochPictures:
    def __init__(self, options: LoggingOptions):
        self.options = options
        self.cadence = Cadence(options.every_n_epochs, options.min_seconds)

    @hookimpl
    def on_train_epoch_end(self, trainer: Any, epoch: int) -> None:
        done = epoch + 1
        if not self.cadence.due(done, last_epoch=trainer.is_last_epoch):
            return
        if self.options.histograms:
            trainer.tensorboard.histograms(trainer.model, epoch)
        if self.options.images and is_image_data(trainer.dataset):
            self.images(trainer, epoch)
        self.cadence.done(done)

    @torch.no_grad()
    def images(self, trainer: Any, epoch: int) -> None:
        first = next(iter(trainer.splits.val.batches(self.options.num_images)))
        x, y = first.x, first.y
        log = trainer.tensorboard
        with eval_mode(trainer.model) as model:
            log.images("images/reconstructions", torch.cat([x, model.reconstruct(x, y)]),
                       epoch)
            generator = torch.Generator(device=trainer.device).manual_seed(
                trainer.recipe.run.seed)
            log.images("images/samples", model.sample(len(x), y=y, generator=generator),
                       epoch)
