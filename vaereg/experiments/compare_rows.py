"""Which anomaly figures ``compare`` reports, and the order of its rows — one place for
the table, ``compare.json`` and the panels of ``compare.png``.

Order: the headline anomaly score (``anomaly/headline`` of eval.json), final weights then
best checkpoint, when the runs name one; the likelihood figures and ``--metrics`` in
their own order; the image-level AUROC of every other anomaly score (final, then best);
then each localization figure over all test pixels, one row per map (final, then best).
Likelihood figures get a table each; anomaly figures come in families, a table per
family with one row per score or map. Per-defect-type figures stay in each eval.json.
"""
from __future__ import annotations

import re
from typing import Sequence

import attrs

#: localization figures over every test pixel that compare reports, per map
PIXEL_FIGURES = ("pixel_auroc", "pixel_auprc", "best_dice", "dice", "aupro")
_IMAGE = re.compile(r"(best/)?anomaly/([^/]+)/auroc")
_PIXEL = re.compile(rf"(best/)?localization/([^/]+)/({'|'.join(PIXEL_FIGURES)})")
_CHECKPOINTS = (("", "final weights"), ("best/", "best-validation checkpoint"))


def compared_anomaly_figure(name: str) -> bool:
    """Whether compare reports eval.json's figure ``name`` (an image-level AUROC, or a
    localization figure of :data:`PIXEL_FIGURES`)."""
    return bool(_IMAGE.fullmatch(name) or _PIXEL.fullmatch(name))


@attrs.frozen
class Section:
    """A table: ``rows`` are (row label, figure name); ``family`` False: one figure per
    table (the likelihood figures), titled by the figure's name."""

    title: str
    rows: tuple[tuple[str, str], ...]
    family: bool = True
    row_header: str = ""


def sections(names: Sequence[str], headline: str | None = None) -> list[Section]:
    """``names`` grouped and ordered as the module says; every name appears once."""
    headline_rows = tuple((label, f"{prefix}anomaly/{headline}/auroc")
                          for prefix, label in _CHECKPOINTS
                          if f"{prefix}anomaly/{headline}/auroc" in names) if headline else ()
    taken = {name for _, name in headline_rows}
    found = [Section(f"headline anomaly score {headline}: image-level AUROC", headline_rows,
                     row_header="weights")]
    found += [Section(name, ((name, name),), family=False) for name in names
              if not _IMAGE.fullmatch(name) and not _PIXEL.fullmatch(name)]
    for prefix, label in _CHECKPOINTS:
        found.append(Section(f"image-level AUROC, {label}", tuple(
            (match[2], name) for name in names if (match := _IMAGE.fullmatch(name))
            and (match[1] or "") == prefix and name not in taken), row_header="score"))
    for figure in PIXEL_FIGURES:
        for prefix, label in _CHECKPOINTS:
            found.append(Section(f"localization {figure}, {label}", tuple(
                (match[2], name) for name in names if (match := _PIXEL.fullmatch(name))
                and (match[1] or "") == prefix and match[3] == figure), row_header="map"))
    return [section for section in found if section.rows]


def ordered(names: Sequence[str], headline: str | None = None) -> list[str]:
    """``names`` in the order of the table."""
    return [name for section in sections(names, headline) for _, name in section.rows]
