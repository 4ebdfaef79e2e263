"""Did regularization help a VAE find lesions in brain volumes? Synthetic lesions on an
average template (MNI ICBM152, shipped with nilearn), not a clinical result.

1. Builds the set in ``<out>/data``: healthy "subjects" made from the template by random
   affine warps, bias fields and noise, and subjects with hyper- or hypointense lesions
   of varied size and shape, with masks, as NIfTI in the layout the ``nifti`` dataset
   reads (how each is made: ``synthetic_lesions.py``).
2. Trains, with ``vaereg.compare`` in ``<out>/runs`` over ``--seeds`` seeds, a conv VAE
   (32-64 channels, 32 latents, Bernoulli voxels, Adam 1e-3, batch 64, ``EPOCHS`` epochs)
   on the training subjects' axial slices (``SIZE`` x ``SIZE``, percentile-normalized,
   slices with under 10% brain left out) without regularization and with each of
   dropout, decoupled weight decay, batch norm and a linear KL warm-up (the settings of
   ``localization.py``).
3. Evaluates each run's best-validation checkpoint with ``vaereg eval --anomaly``, which
   writes every map and baseline back into each test volume's own voxels.
4. Writes ``<out>/lesions.md``: per lesion type, voxel AUPRC, best Dice and volume AUROC
   with 95% t-intervals over seeds, for every map beside the intensity, Gaussian and
   per-voxel Gaussian baselines (read back from the written NIfTI maps, which must
   overlay their volumes: ``lesion_figures.py``); whether a vaereg map beats the
   baselines; the recipes side by side.

Finished runs and evaluations are reused, so the same command resumes. ``--set`` (and
the subject counts) shrink it for a smoke test; the report says so.

    python benchmarks/lesions.py [--seeds 3] [--out runs/lesions] [--recipe NAME]...
        [--train-subjects 20] [--val-subjects 3] [--test-subjects 4] [--lesioned 4]
        [--jobs 1] [--set KEY=VALUE]...
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import click

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synthetic_lesions  # noqa: E402
from lesion_figures import VOXELS, lesion_figures  # noqa: E402
from localization import OVERRIDES_OPTION, PLUGINS, SEEDS_OPTION, compared_and_evaluated, \
    defect_set, write_recipes, write_report  # noqa: E402
from localization_table import full_table, recipe_table, summarize, verdict_table  # noqa: E402
from synthetic_lesions import TYPES, LesionSetSize  # noqa: E402

EPOCHS = 5
BATCH = 64
SIZE = 32
MIN_FOREGROUND = 0.1
BASE = {
    "run": {"name": "lesions", "seed": 0, "epochs": EPOCHS, "out_dir": "runs",
            "device": "cpu"},
    "data": {"name": "nifti", "axis": "axial", "size": SIZE, "normalize": "percentile",
             "min_foreground": MIN_FOREGROUND, "batch_size": BATCH},
    "model": {"name": "vanilla", "backbone": "conv", "hidden_dims": [32, 64],
              "latent_dim": 32, "likelihood": "bernoulli"},
    "optimizer": {"name": "adam", "lr": 1e-3},
}
RECIPES = tuple(PLUGINS)
CAVEAT = "Synthetic lesions on an average template, not a clinical result."


def training_slices(data_root: Path) -> int:
    """How many slices the runs train on (the KL warm-up ramps over half the steps)."""
    from vaereg.data.nifti import Nifti
    from vaereg.data.volume_folder import VolumeFolderOptions

    data = {k: v for k, v in BASE["data"].items() if k not in ("name", "batch_size")}
    folder = Nifti(VolumeFolderOptions(root=str(data_root), **data))
    return int(folder.split_rows(0)["train"].x.shape[0])


def report(folders: dict[str, list[Path]], data_root: Path, size: LesionSetSize, seeds: int,
           overrides: tuple[str, ...]) -> str:
    table = summarize(folders, lambda folder: lesion_figures(folder, data_root))
    recipes = list(folders)
    shrunk = "" if size == LesionSetSize() and not overrides else (
        " Shrunk: " + ", ".join([f"{size}", *overrides]) + ".")
    head = (f"**{CAVEAT}** Brain volumes made from the MNI ICBM152 template ({size.train} "
            f"training, {size.val} validation, {size.test} healthy test subjects, "
            f"{size.lesioned} per lesion type: {', '.join(TYPES)}); conv VAE on "
            f"{SIZE}x{SIZE} axial slices, {EPOCHS} epochs, best-validation checkpoint; "
            f"means over {seeds} seeds with 95% t-intervals.{shrunk}")
    return "\n\n".join([head, verdict_table(table, recipes, VOXELS),
                        recipe_table(table, recipes, VOXELS),
                        full_table(table, recipes, VOXELS)]) + "\n"


@click.command()
@SEEDS_OPTION
@click.option("--out", type=click.Path(file_okay=False), default="runs/lesions",
              show_default=True, help="Folder of the lesion set, runs and report.")
@click.option("--recipe", "recipe_names", multiple=True, type=click.Choice(RECIPES),
              help="Only these recipes (repeatable) [all].")
@click.option("--train-subjects", type=click.IntRange(1), default=LesionSetSize().train,
              show_default=True)
@click.option("--val-subjects", type=click.IntRange(1), default=LesionSetSize().val,
              show_default=True)
@click.option("--test-subjects", type=click.IntRange(1), default=LesionSetSize().test,
              show_default=True, help="Healthy test subjects.")
@click.option("--lesioned", type=click.IntRange(1), default=LesionSetSize().lesioned,
              show_default=True, help=f"Test subjects per lesion type ({', '.join(TYPES)}).")
@click.option("--jobs", type=click.IntRange(1), default=1, show_default=True,
              help="Runs and evaluations in parallel (1/K of the cores each).")
@OVERRIDES_OPTION
def main(seeds: int, out: str, recipe_names: tuple[str, ...], train_subjects: int,
         val_subjects: int, test_subjects: int, lesioned: int, jobs: int,
         overrides: tuple[str, ...]) -> None:
    """Build the lesion set, train and evaluate every recipe, write the report."""
    from vaereg.core.reliability.run_main import clean_exit
    from vaereg.core.common.writable import writable_folder

    with clean_exit():
        out_dir = writable_folder(out, "--out")  # exit 2 before any work
        size = LesionSetSize(train_subjects, val_subjects, test_subjects, lesioned)
        data_root = defect_set(out_dir / "data", size, synthetic_lesions, "lesion")
        steps = EPOCHS * math.ceil(training_slices(data_root) / BATCH)
        names = [name for name in RECIPES if not recipe_names or name in recipe_names]
        paths = write_recipes(out_dir / "recipes", data_root, steps, BASE,
                              {name: PLUGINS[name] for name in names})
        folders = compared_and_evaluated([paths[name] for name in names], seeds, overrides,
                                         out_dir / "runs", jobs)
        write_report(out_dir / "lesions", folders,
                     report(folders, data_root, size, seeds, overrides))


if __name__ == "__main__":
    main()
