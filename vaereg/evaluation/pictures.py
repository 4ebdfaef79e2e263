"""Pictures of a loaded run: the latent space (PCA of posterior means, coloured by
class), ROC curves of the anomaly scores, sample grids and reconstructions beside their
inputs. PNGs are written atomically; matplotlib draws through ``Figure`` (the Agg
renderer), never pyplot, so no display or global backend is involved."""
from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Sequence

import torch
from torch import Tensor

from vaereg.core.common.atomic_file import atomic_write
from vaereg.core.common.errors import VaeregError
from vaereg.core.data.class_subset import class_labels, class_names
from vaereg.core.model.model_contract import CONDITIONAL, has
from vaereg.data.split_images import read_positions, split_images
from vaereg.evaluation.run_loading import LoadedRun

GRID_COLUMNS = 8
#: up to this many classes get a legend of named colours; more, a colour bar of labels
LEGEND_CLASSES = 20


def save_figure(figure, path: Path) -> None:
    """A matplotlib ``Figure`` as a PNG, written atomically."""
    atomic_write(path, lambda handle: figure.savefig(handle, format="png", dpi=100))


def _save_grid(images: Tensor, path: Path, nrow: int) -> None:
    from torchvision.utils import save_image
    atomic_write(path, lambda handle: save_image(images.cpu(), handle, nrow=nrow,
                                                 padding=2, format="png"))


@torch.no_grad()
def posterior_means(model, split, batch_size: int = 500) -> Tensor:
    """E_q(z|x)[z] for every image of ``split``, in order."""
    return torch.cat([model.encode(batch.x, batch.y).mean for batch in split.batches(batch_size)])


def pca_2d(points: Tensor) -> Tensor:
    """The points projected on their first two principal components."""
    centred = points.double() - points.double().mean(0)
    _, _, v = torch.linalg.svd(centred, full_matrices=False)
    return centred @ v[:2].T


def latent_space_plot(run: LoadedRun, path: Path) -> Path:
    """latent_space.png: :func:`latent_space_figure`, written atomically."""
    save_figure(latent_space_figure(run), path)
    return path


def latent_space_figure(run: LoadedRun):
    """The test split's posterior means in 2-D, coloured by class: a legend of class
    names for up to ``LEGEND_CLASSES`` classes, else a colour bar."""
    import matplotlib
    from matplotlib.figure import Figure

    test = run.splits.test
    points = pca_2d(posterior_means(run.model, test)).cpu()
    figure = Figure(figsize=(6, 5))
    axes = figure.subplots()
    if points.shape[1] < 2:  # a 1-D latent space: plot it against zero
        points = torch.cat([points, torch.zeros_like(points)], 1)
    labels = None if test.y is None else test.y.cpu()[read_positions(test)]
    if labels is None:  # no labels: one colour
        axes.scatter(points[:, 0], points[:, 1], s=2)
    elif len(labels.unique()) <= LEGEND_CLASSES:
        colours = "tab10" if len(labels.unique()) <= 10 else "tab20"
        for rank, (label, name) in enumerate(zip(labels.unique(),
                                                 class_names(run.dataset, labels.unique()))):
            chosen = labels == label
            axes.scatter(points[chosen, 0], points[chosen, 1], s=2,
                         color=matplotlib.colormaps[colours](rank), label=name)
        axes.legend(title="class", markerscale=4, fontsize=8, loc="center left",
                    bbox_to_anchor=(1.01, 0.5), frameon=False)
    else:
        drawn = axes.scatter(points[:, 0], points[:, 1], c=labels, cmap="viridis", s=2)
        figure.colorbar(drawn, ax=axes, label="class label")
    axes.set(title=f"test posterior means, PCA ({len(points)} images)", xlabel="PC 1",
             ylabel="PC 2")
    figure.tight_layout()
    return figure


def roc_plot(roc: dict[str, tuple[Tensor, Tensor]], summary: dict[str, float],
             protocol: str, path: Path) -> Path:
    """roc.png: one ROC curve per anomaly score, its AUROC in the legend."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5, 5))
    axes = figure.subplots()
    for name, (fpr, tpr) in roc.items():
        axes.plot(fpr, tpr, label=f"{name} (AUROC {summary[f'anomaly/{name}/auroc']:.3f})")
    axes.plot([0, 1], [0, 1], color="grey", linestyle=":")
    axes.set(xlabel="false-positive rate", ylabel="true-positive rate")
    axes.set_title("\n".join(textwrap.wrap(protocol, 50)), fontsize=9)
    axes.legend(loc="lower right")
    figure.tight_layout()
    save_figure(figure, path)
    return path


def chosen_label(run: LoadedRun, label: int | None, n: int) -> Tensor | None:
    """``n`` copies of class ``label`` for a model that declares ``conditional``, or
    None when no class was asked for; a class for a model that ignores labels, or one
    outside its classes, is refused."""
    if label is None:
        return None
    model = run.model
    classes = getattr(model, "num_classes", 0)
    if not has(model, CONDITIONAL):
        raise VaeregError(f"--class: the model '{run.recipe.model.name}' is not conditional "
                          f"(it ignores labels), so it cannot draw a chosen class")
    if not 0 <= label < classes:
        raise VaeregError(f"--class must be in 0..{classes - 1}, not {label}")
    return torch.full((n,), label, dtype=torch.long, device=run.device)


def sample_grid(run: LoadedRun, path: Path, n: int = 64, label: int | None = None,
                seed: int = 0) -> Path:
    """``n`` samples from the prior in a grid; ``label`` asks a conditional model for one
    class."""
    y = chosen_label(run, label, n)
    generator = torch.Generator(device=run.device).manual_seed(seed)
    _save_grid(run.model.sample(n, y=y, generator=generator), path, GRID_COLUMNS)
    return path


def chosen_images(run: LoadedRun, n: int, classes: Sequence[int | str] = (),
                  at_random: bool = False, seed: int = 0) -> Tensor:
    """Positions of ``n`` test images: the first ones, or a random sample seeded by
    ``seed``; with ``classes`` (labels or class names), of those classes only, taking
    turns so that each class is shown."""
    test = run.splits.test
    positions = torch.arange(len(test))
    if at_random:
        generator = torch.Generator().manual_seed(seed)
        positions = positions[torch.randperm(len(test), generator=generator)]
    if not classes:
        return positions[:n]
    if test.y is None:
        raise VaeregError("--class: the test split of this run has no labels")
    labels = class_labels(tuple(classes), run.dataset, "--class")
    y = test.y.cpu()[positions]
    groups = [positions[y == label] for label in labels]
    empty = [name for name, group in zip(class_names(run.dataset, labels), groups)
             if not len(group)]
    if empty:
        raise VaeregError(f"--class: the test split has no image of {', '.join(empty)}")
    turns = [group[i] for i in range(max(map(len, groups))) for group in groups
             if i < len(group)]
    return torch.stack(turns[:n])


@torch.no_grad()
def reconstruction_grid(run: LoadedRun, path: Path, n: int = 32,
                        classes: Sequence[int | str] = (), at_random: bool = False,
                        seed: int = 0) -> Path:
    """``n`` test images (see :func:`chosen_images`), each followed by its
    reconstruction."""
    x, y = split_images(run.splits.test,
                        index=chosen_images(run, n, classes, at_random, seed))
    pairs = torch.stack([x, run.model.reconstruct(x, y)], 1).flatten(0, 1)
    _save_grid(pairs, path, 2 * min(len(x), GRID_COLUMNS // 2))
    return path


@torch.no_grad()
def interpolation(run: LoadedRun, start: int, end: int, steps: int = 10, split: str = "test",
                  label: int | None = None) -> Tensor:
    """``steps`` images decoded at evenly spaced points of the line from the posterior
    mean of image ``start`` of ``split`` to that of image ``end`` (both ends included).

    Each end is encoded with its own label; the decoder gets the label of ``start``
    (a conditional model's), or class ``label`` when given."""
    if steps < 2:
        raise VaeregError(f"--steps must be at least 2 (the two ends), not {steps}")
    data = getattr(run.splits, split)
    for name, position in (("--from", start), ("--to", end)):
        if not 0 <= position < len(data):
            raise VaeregError(f"{name} {position}: the {split} split has images "
                              f"0..{len(data) - 1}")
    x, y = split_images(data, index=torch.tensor([start, end]))
    if len(x) < 2:
        raise VaeregError(f"image {start} or {end} of the {split} split is an unreadable file")
    model = run.model
    means = model.encode(x, y).mean
    t = torch.linspace(0, 1, steps, device=means.device).unsqueeze(1)
    z = (1 - t) * means[0] + t * means[1]
    decoder_y = chosen_label(run, label, steps)
    if decoder_y is None and y is not None:
        decoder_y = y[:1].expand(steps)
    return model.likelihood.mean(model.decode(z, decoder_y))


def interpolation_grid(run: LoadedRun, path: Path, start: int, end: int, steps: int = 10,
                       split: str = "test", label: int | None = None) -> Path:
    """One row of :func:`interpolation`'s images, ``start``'s decode first."""
    _save_grid(interpolation(run, start, end, steps, split, label), path, steps)
    return path
