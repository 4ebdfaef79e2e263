"""Which files of a folder are the examples, and their classes.

A folder holds images directly (no labels) or class subfolders of images (the folder
name is the class); a dataset root may instead hold ``train/``, ``val/`` and ``test/``
folders, each laid out so. Hidden files are ignored; every other file must be an image.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from vaereg.core.common.errors import VaeregError

PARTS = ("train", "val", "test")


def _visible(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


#: lists the examples under a folder: (example, class folder name or None) each
Examples = Callable[[Path], "list[tuple[Path, str | None]]"]


def list_examples(folder: Path, what: str = "image") -> list[tuple[Path, str | None]]:
    """(file, class folder name or None) for each example under ``folder``; ``what``
    the files are, for the message when there are none."""
    entries = _visible(folder)
    folders = [p for p in entries if p.is_dir()]
    files = [p for p in entries if p.is_file()]
    if folders and files:
        raise VaeregError(f"{folder} holds both files ({files[0].name}, ...) and class "
                          f"folders ({folders[0].name}/, ...); expected one or the other")
    examples = [(path, None) for path in files]
    for class_folder in folders:
        examples += [(path, class_folder.name) for path in _visible(class_folder)
                     if path.is_file()]
    if not examples:
        raise VaeregError(f"no {what}s in {folder}: expected {what} files, or class folders "
                          f"of {what} files")
    return examples


def find_parts(root: Path, examples: Examples = list_examples
               ) -> dict[str, list[tuple[Path, str | None]]]:
    """{part: examples} for the ``train``/``val``/``test`` folders present, or
    {"all": examples} when there are none (``examples`` lists a folder's)."""
    if not root.is_dir():
        raise VaeregError(f"data.root = {str(root)!r}: no such folder")
    parts = {name: root / name for name in PARTS if (root / name).is_dir()}
    if parts and "train" not in parts:
        raise VaeregError(f"{root} has {', '.join(f'{p}/' for p in parts)} but no train/ "
                          f"folder")
    return {name: examples(folder) for name, folder in parts.items()} or \
        {"all": examples(root)}
