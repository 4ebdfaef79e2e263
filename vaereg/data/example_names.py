"""Which image an example of a split is, for a person reading a scores file: its file
where the split reads files (``image_folder``, ``celeba``), else its dataset, split and
position (``fashion_mnist:test[17]``)."""
from __future__ import annotations

from typing import Any, Sequence


def split_files(split: Any) -> list[str] | None:
    """The file of each example of a split that streams image files, else None."""
    read = getattr(split, "read", None)
    chosen = None
    while hasattr(read, "inner"):  # a class subset of the files
        chosen = read.chosen if chosen is None else [read.chosen[i] for i in chosen]
        read = read.inner
    paths = getattr(read, "paths", None)
    if paths is None:
        return None
    return list(paths) if chosen is None else [paths[i] for i in chosen]


def example_names(split: Any, positions: Sequence[int], dataset: str,
                  split_name: str) -> list[str]:
    """The name of the example at each of ``positions`` of ``split``."""
    files = split_files(split)
    if files is not None:
        return [files[i] for i in positions]
    return [f"{dataset}:{split_name}[{i}]" for i in positions]
