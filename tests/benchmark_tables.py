"""Reading the benchmarks' Markdown tables back, and the AUROC they report counted by
hand, for the benchmark smoke tests."""
from __future__ import annotations


def rank_auroc(normal: list[float], anomalous: list[float]) -> float:
    """P(anomalous > normal) + P(tie) / 2, by counting pairs."""
    pairs = [(a > n) + 0.5 * (a == n) for a in anomalous for n in normal]
    return sum(pairs) / len(pairs)


def parse_table(text: str, head: str) -> list[dict[str, str]]:
    """The rows of the table in ``text`` whose header starts with ``head``, as dicts."""
    lines = text.split(head, 1)[1].split("\n\n")[0].strip().splitlines()
    names = [cell.strip() for cell in (head + lines[0]).strip("|").split("|")]
    return [dict(zip(names, (cell.strip() for cell in line.strip("|").split("|"))))
            for line in lines[2:]]
