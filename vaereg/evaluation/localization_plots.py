"""pixel_roc_pr.png: the pixel ROC and precision-recall curves of every map and baseline,
each named with its pixel AUROC or AUPRC, over all pixels of the scored images."""
from __future__ import annotations

from pathlib import Path

from torch import Tensor

from vaereg.evaluation.localization import pixel_curves
from vaereg.evaluation.pictures import save_figure

PLOT_FILE = "pixel_roc_pr.png"


def pixel_curves_plot(maps: dict[str, Tensor], masks: Tensor, summary: dict[str, float],
                      path: Path) -> Path:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 5))
    roc, pr = figure.subplots(1, 2)
    for name, values in maps.items():
        fpr, tpr, precision = pixel_curves(values, masks)
        key = f"localization/{name}"
        roc.plot(fpr, tpr, label=f"{name} ({summary[f'{key}/pixel_auroc']:.3f})")
        pr.plot(tpr, precision, label=f"{name} ({summary[f'{key}/pixel_auprc']:.3f})")
    roc.plot([0, 1], [0, 1], color="grey", linestyle=":")
    roc.set(title="pixel ROC (AUROC)", xlabel="false-positive rate",
            ylabel="true-positive rate")
    pr.set(title="pixel precision-recall (AUPRC)", xlabel="recall", ylabel="precision")
    for axes in (roc, pr):
        axes.legend(fontsize=7)
    save_figure(figure, path)
    return path
