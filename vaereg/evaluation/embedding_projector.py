"""The test split's posterior means in TensorBoard's embedding projector.

``SummaryWriter.add_embedding`` writes, in the run's TensorBoard log dir (the run folder),
``projector_config.pbtxt`` and under ``<step>/test_posterior_means/`` the points
(``tensors.tsv``), their labels (``metadata.tsv``: class names where the dataset has
them) and a sprite of image thumbnails. The projector runs PCA, t-SNE and UMAP on them
in the browser. Points are capped: a browser handles a few thousand, and the sprite is
one image of all thumbnails.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch.nn import functional as F

from vaereg.data.split_images import split_images
from vaereg.evaluation.run_loading import LoadedRun

CONFIG_FILE = "projector_config.pbtxt"
TAG = "test_posterior_means"
THUMBNAIL = 32  # the largest thumbnail side, in pixels


@torch.no_grad()
def write_projector(run: LoadedRun, points: int = 2000, batch_size: int = 500) -> Path:
    """The first ``points`` test images' posterior means, labels and thumbnails; returns
    the config file. An earlier evaluation's projector entry is replaced, not repeated."""
    from torch.utils.tensorboard import SummaryWriter

    x, y = split_images(run.splits.test, points, batch_size=batch_size)
    means = torch.cat([run.model.encode(x[i:i + batch_size],
                                        None if y is None else y[i:i + batch_size]).mean
                       for i in range(0, len(x), batch_size)])
    names = tuple(getattr(run.dataset, "class_names", ()) or ())
    metadata = None if y is None else [names[k] if names else k for k in y.tolist()]
    if max(x.shape[-2:]) > THUMBNAIL:
        x = F.interpolate(x, scale_factor=THUMBNAIL / max(x.shape[-2:]), mode="area")
    config = run.run_dir / CONFIG_FILE
    config.unlink(missing_ok=True)  # add_embedding appends to it
    with SummaryWriter(log_dir=str(run.run_dir)) as writer:
        writer.add_embedding(means.cpu(), metadata=metadata, label_img=x.cpu(), tag=TAG,
                             global_step=run.checkpoint_info["step"] or 0)
    return config
