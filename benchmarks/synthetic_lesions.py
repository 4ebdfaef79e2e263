"""A synthetic-lesion set of brain volumes in the layout the ``nifti`` dataset reads, made
from the one real anatomy that can be had offline: the MNI ICBM152 2009 T1 template that
the nilearn wheel ships (an average of 152 brains; skull-stripped with its brain mask).
Synthetic lesions on an average template: not a clinical data set.

Each "subject" is the template, skull-stripped, resampled onto a ``SPACING`` mm grid
(``GRID`` voxels, the template's field of view) through its own random affine warp:
rotations up to ``ROTATION`` degrees about each axis, scalings 1 +- ``SCALING`` per axis,
shifts up to ``SHIFT`` mm (trilinear interpolation). Lesions, if any, are drawn next (see
below); then a smooth multiplicative bias field, exp of a random 4x4x4 grid upsampled
with cubic splines, scaled to a standard deviation of ``BIAS`` (a few percent, as an
uncorrected scanner field); then Gaussian noise of sd ``NOISE`` times the brain's 99th
percentile, inside the brain only (the background stays 0, as after skull stripping).
Every other subject is stored flipped left-right (an LAS affine) to exercise the readers'
reorientation; the maps must come back in each file's own orientation.

Lesions (``test/<type>/``, 1 to ``MAX_LESIONS`` per volume, each inside the brain):
an ellipsoid of random orientation with semi-axes of ``RADII`` voxels each, its surface
made irregular by a smooth random field (``ROUGHNESS``), and a soft edge one voxel wide;
its voxels are blended towards a target intensity:

- ``hyperintense``: 1.1 to 1.4 times the brain's 99th percentile (brighter than any
  normal tissue: the situation of MS lesions on FLAIR, where thresholding wins).
- ``hypointense``: 0.2 to 0.5 times the brain's 5th percentile (darker than CSF, the
  darkest normal tissue: intensity alone also flags the ventricles).

The mask (``ground_truth/<type>/<stem>_mask.nii.gz``, 1 = lesion) marks the lesion's
voxels inside the brain whose blend weight is at least 0.5. Splits: ``train/good``,
``val/good``, ``test/good`` healthy subjects, ``test/<type>`` lesioned ones, every volume
a different subject. Everything is drawn from one numpy generator seeded with ``seed``,
so the same options give the same files.
"""
from __future__ import annotations

import json
from pathlib import Path

import attrs
import numpy as np

TYPES = ("hyperintense", "hypointense")
SPACING = 4.0  # mm
ROTATION = 8.0  # degrees
SCALING = 0.08
SHIFT = 6.0  # mm
BIAS = 0.08
NOISE = 0.03
MAX_LESIONS = 3
RADII = (1.5, 5.0)  # voxels
ROUGHNESS = 0.35
TARGETS = {"hyperintense": (99, 1.1, 1.4), "hypointense": (5, 0.2, 0.5)}  # percentile, range
MANIFEST = "lesions.json"


@attrs.frozen
class LesionSetSize:
    """How many subjects each part of the set has (lesioned: per lesion type)."""

    train: int = 20
    val: int = 3
    test: int = 4
    lesioned: int = 4
    seed: int = 0


@attrs.frozen
class Template:
    """The skull-stripped template (float32 voxels) and its affine."""

    voxels: np.ndarray
    brain: np.ndarray
    affine: np.ndarray

    @classmethod
    def load(cls) -> "Template":
        """The 2 mm template and brain mask shipped with nilearn (no download)."""
        from nilearn.datasets import load_mni152_brain_mask, load_mni152_template

        image = load_mni152_template(resolution=2)
        brain = np.asarray(load_mni152_brain_mask(resolution=2).dataobj) > 0
        voxels = np.asarray(image.dataobj, dtype=np.float32) * brain
        return cls(voxels, brain, image.affine)

    def grid(self) -> tuple[tuple[int, int, int], np.ndarray]:
        """The subjects' shape and affine: the template's field of view at ``SPACING``."""
        extent = np.array(self.voxels.shape) * np.abs(np.diag(self.affine)[:3])
        shape = tuple(int(side) for side in np.floor(extent / SPACING))
        affine = np.diag([SPACING, SPACING, SPACING, 1.0])
        affine[:3, 3] = self.affine[:3, 3]
        return shape, affine


def _rotation(angles: np.ndarray) -> np.ndarray:
    ax, ay, az = np.deg2rad(angles)
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    return rx @ ry @ rz


def _smooth_field(shape: tuple[int, ...], rng: np.random.Generator, coarse: int = 4) -> np.ndarray:
    """A smooth random field of ``shape``, mean 0 and sd 1 (a coarse grid, upsampled)."""
    from scipy.ndimage import zoom

    field = zoom(rng.standard_normal((coarse,) * len(shape)),
                 [s / coarse for s in shape], order=3, mode="nearest")[tuple(slice(s) for s in shape)]
    return (field - field.mean()) / max(field.std(), 1e-6)


def warped(template: Template, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A subject's anatomy on the grid, and its brain mask, through a random affine warp."""
    from scipy.ndimage import map_coordinates

    shape, affine = template.grid()
    center = np.array([0.0, -18.0, 18.0])  # about the brain's centre, in MNI mm
    matrix = _rotation(rng.uniform(-ROTATION, ROTATION, 3)) * rng.uniform(
        1 - SCALING, 1 + SCALING, 3)
    shift = rng.uniform(-SHIFT, SHIFT, 3)
    grid = np.stack(np.meshgrid(*[np.arange(s) for s in shape], indexing="ij"), -1)
    world = grid @ affine[:3, :3].T + affine[:3, 3]
    source = (world - center - shift) @ np.linalg.inv(matrix).T + center
    inverse = np.linalg.inv(template.affine)
    coords = (source @ inverse[:3, :3].T + inverse[:3, 3]).transpose(3, 0, 1, 2)
    voxels = map_coordinates(template.voxels, coords, order=1, cval=0.0).astype(np.float32)
    brain = map_coordinates(template.brain.astype(np.float32), coords, order=1) > 0.5
    return voxels * brain, brain


def lesion_weight(shape: tuple[int, ...], brain: np.ndarray,
                  rng: np.random.Generator) -> np.ndarray:
    """Blend weights in [0, 1] of one irregular ellipsoid centred on a brain voxel."""
    inside = np.argwhere(brain)
    center = inside[rng.integers(len(inside))]
    radii = rng.uniform(*RADII, 3)
    rotation = _rotation(rng.uniform(-90, 90, 3))
    lo = np.maximum(center - int(np.ceil(RADII[1] * (1 + ROUGHNESS))) - 2, 0)
    hi = np.minimum(center + int(np.ceil(RADII[1] * (1 + ROUGHNESS))) + 3, shape)
    box = tuple(slice(a, b) for a, b in zip(lo, hi))
    grid = np.stack(np.meshgrid(*[np.arange(a, b) for a, b in zip(lo, hi)], indexing="ij"), -1)
    local = (grid - center) @ rotation / radii
    distance = np.sqrt((local ** 2).sum(-1))  # 1 on the ellipsoid's surface
    surface = 1 + ROUGHNESS * _smooth_field(distance.shape, rng, coarse=3)
    edge = 1.0 / radii.mean()  # about one voxel, in ellipsoid units
    weight = np.zeros(shape, np.float32)
    weight[box] = np.clip((surface - distance) / edge + 0.5, 0, 1)
    return weight * brain


def with_lesions(voxels: np.ndarray, brain: np.ndarray, kind: str,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``voxels`` with 1 to ``MAX_LESIONS`` lesions of ``kind``, and their mask."""
    percentile, low, high = TARGETS[kind]
    reference = np.percentile(voxels[brain], percentile)
    weight = np.zeros(voxels.shape, np.float32)
    for _ in range(rng.integers(1, MAX_LESIONS + 1)):
        weight = np.maximum(weight, lesion_weight(voxels.shape, brain, rng))
    target = reference * rng.uniform(low, high)
    return voxels * (1 - weight) + target * weight, (weight >= 0.5) & brain


def acquired(voxels: np.ndarray, brain: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``voxels`` through a scanner: a smooth bias field, then noise inside the brain."""
    bias = np.exp(BIAS * _smooth_field(voxels.shape, rng))
    noise = NOISE * np.percentile(voxels[brain], 99) * rng.standard_normal(voxels.shape)
    return np.where(brain, np.maximum(voxels * bias + noise, 1e-3), 0).astype(np.float32)


def _save(array: np.ndarray, affine: np.ndarray, flip: bool, path: Path) -> None:
    import nibabel as nib

    if flip:  # the same voxels, stored left-right reversed (an LAS affine)
        array = array[::-1]
        affine = affine @ np.array([[-1, 0, 0, array.shape[0] - 1], [0, 1, 0, 0],
                                    [0, 0, 1, 0], [0, 0, 0, 1]], dtype=float)
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(np.ascontiguousarray(array), affine), path)


def parts(size: LesionSetSize) -> list[tuple[str, str | None, int]]:
    """(folder, lesion type or None, how many) of each part of the set."""
    return [("train/good", None, size.train), ("val/good", None, size.val),
            ("test/good", None, size.test),
            *((f"test/{kind}", kind, size.lesioned) for kind in TYPES)]


def build(root: Path, size: LesionSetSize) -> None:
    """Write the set of ``size`` under ``root`` (module docstring), then its manifest."""
    template = Template.load()
    _, affine = template.grid()
    rng = np.random.default_rng(size.seed)
    subject = 0
    for folder, kind, count in parts(size):
        for _ in range(count):
            stem, flip = f"subject{subject:03d}", subject % 2 == 1
            voxels, brain = warped(template, rng)
            if kind is not None:
                voxels, mask = with_lesions(voxels, brain, kind, rng)
                _save(mask.astype(np.uint8), affine, flip,
                      root / "ground_truth" / kind / f"{stem}_mask.nii.gz")
            _save(acquired(voxels, brain, rng), affine, flip, root / folder / f"{stem}.nii.gz")
            subject += 1
    (root / MANIFEST).write_text(json.dumps(attrs.asdict(size)) + "\n")


def existing_size(root: Path) -> LesionSetSize | None:
    """The size of the set already built in ``root`` (None if there is none)."""
    manifest = root / MANIFEST
    if not manifest.is_file():
        return None
    return LesionSetSize(**json.loads(manifest.read_text()))
