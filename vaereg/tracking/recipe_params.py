"""A resolved recipe as MLflow params: one per leaf key, named by its key path."""
from __future__ import annotations

import json
from typing import Any

# MLflow refuses longer param values (mlflow.utils.validation.MAX_PARAM_VAL_LENGTH)
MAX_VALUE_LENGTH = 6000


def flatten(table: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"plugins": {"dropout": {"p": 0.2}}}`` -> ``{"plugins.dropout.p": "0.2"}``; lists
    are written as JSON (``[32, 16]``), booleans as TOML writes them (``true``)."""
    flat: dict[str, str] = {}
    for key, value in table.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{path}."))
        else:
            text = value if isinstance(value, str) else json.dumps(value)
            flat[path] = text[:MAX_VALUE_LENGTH]
    return flat
