"""``data.seed``: a core key of ``[data]`` that seeds which images form the training
subset and the validation split, apart from ``run.seed`` (initialization, batch order,
dropout), so a comparison over seeds can vary one and hold the other."""
from __future__ import annotations

from typing import Any

from vaereg.core.options import found

KEY = "seed"
EXPECTED = "a non-negative integer (default: run.seed)"


def pop_data_seed(table: Any) -> tuple[Any, int | None, str | None]:
    """(the ``[data]`` table without ``seed``, the seed or None, a problem or None)."""
    if not isinstance(table, dict) or KEY not in table:
        return table, None, None
    rest = {key: value for key, value in table.items() if key != KEY}
    seed = table[KEY]
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        return rest, None, f"expected {EXPECTED}, found {found(seed)}"
    return rest, seed, None
