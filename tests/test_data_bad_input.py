"""Bad data through the CLI: exit 2, a message naming the file, no traceback (in this
process); files left out with a warning (in a subprocess, as a user sees it)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import tomli_w
from PIL import Image

from vaereg.testing import tiny_recipe

from cli_process import in_process
from image_fixtures import celeba_folder, class_folders, mvtec_folder, write_images


def truncated(folder: Path) -> Path:
    paths = write_images(folder, 12, size=32)
    paths[3].write_bytes(paths[3].read_bytes()[:200])
    return folder


def not_an_image(folder: Path) -> Path:
    write_images(folder, 12)
    (folder / "notes.png").write_text("these are not pixels")
    return folder


def mixed_sizes(folder: Path) -> Path:
    write_images(folder, 10)
    write_images(folder, 2, size=9, start=10)
    return folder


def mixed_modes(folder: Path) -> Path:
    write_images(folder, 10)
    write_images(folder, 2, mode="L", start=10)
    return folder


def empty(folder: Path) -> Path:
    folder.mkdir()
    return folder


def no_partition(folder: Path) -> Path:
    celeba_folder(folder)
    (folder / "list_eval_partition.txt").unlink()
    return folder


def mask_of_another_size(folder: Path) -> Path:
    mvtec_folder(folder)
    Image.new("L", (8, 9)).save(folder / "ground_truth" / "dark" / "0001_mask.png")
    return folder


def defect_without_a_mask(folder: Path) -> Path:
    mvtec_folder(folder)
    (folder / "ground_truth" / "bright" / "0002_mask.png").unlink()
    return folder


CASES = {
    "missing folder": (lambda f: f, {}, "no such folder"),
    "empty folder": (empty, {}, "no images in"),
    "not an image": (not_an_image, {}, "notes.png: not an image"),
    "truncated image": (truncated, {}, "0003.png: not a readable image"),
    "mixed sizes": (mixed_sizes, {}, "images of different sizes"),
    "mixed modes": (mixed_modes, {}, "images of different modes"),
    "unknown class": (lambda f: class_folders(f, {"cat": 6, "dog": 6}), {"classes": ["zebra"]},
                      "data.classes: no class 'zebra'"),
    "celeba without a partition file": (no_partition, {"name": "celeba", "size": 16},
                                        "list_eval_partition.txt not found"),
    "mask of another size": (mask_of_another_size, {},
                             "ground_truth/dark/0001_mask.png is 8x9, but its image"),
    "defect without a mask": (defect_without_a_mask, {},
                              "test/bright/0002.png has no mask: expected"),
}


def write_recipe(tmp_path: Path, data: dict) -> Path:
    table = tiny_recipe(run={"epochs": 1, "out_dir": str(tmp_path / "runs")},
                        data={"name": "image_folder", "batch_size": 4, **data})
    (tmp_path / "recipe.toml").write_text(tomli_w.dumps(table))
    return tmp_path / "recipe.toml"


@pytest.mark.parametrize("case", CASES)
def test_bad_data_exits_2_naming_what_is_wrong(case, tmp_path):
    make, data, expected = CASES[case]
    folder = make(tmp_path / "data")
    result = in_process("run", write_recipe(tmp_path, {"root": str(folder), **data}), "--quiet")
    assert isinstance(result.exception, SystemExit) and result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert expected in result.stderr


def test_skip_leaves_bad_files_out_with_a_warning(tmp_path):
    folder = truncated(tmp_path / "data")
    (folder / "notes.png").write_text("not pixels")
    write_recipe(tmp_path, {"root": str(folder), "on_bad_file": "skip"})
    result = subprocess.run([sys.executable, "-m", "vaereg", "run", "recipe.toml", "--quiet"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "skipped" in result.stderr and "notes.png" in result.stderr
    assert "0003.png: not a readable image" in result.stderr
