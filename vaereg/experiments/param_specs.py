"""``--param KEY=SPEC`` for ``vaereg sweep``, parsed strictly: a grid (``1e-5,1e-4``),
``loguniform(lo, hi)``, ``uniform(lo, hi)``, ``int(lo, hi)`` or ``choice(a, b, ...)``.
Values are TOML literals (a bare word is a string, as for ``--set``); anything else is
refused with a message (exit 2), never guessed."""
from __future__ import annotations

import re
import tomllib
from typing import Any

import attrs
import tomli_w

from vaereg.core.common.errors import VaeregError

FUNCTION = re.compile(r"^\s*(loguniform|uniform|int|choice)\s*\((.*)\)\s*$", re.S)
RANGES = ("loguniform", "uniform", "int")


@attrs.frozen
class Param:
    """One searched recipe key: ``kind`` is ``grid``, ``choice`` or a range kind;
    ``values`` the grid's or choice's values, or a range's (low, high)."""

    key: str
    kind: str
    values: tuple
    text: str

    @property
    def is_grid(self) -> bool:
        return self.kind == "grid"

    def suggest(self, trial) -> Any:
        """The value Optuna's sampler picks for this trial."""
        if self.kind in ("grid", "choice"):
            return trial.suggest_categorical(self.key, list(self.values))
        low, high = self.values
        if self.kind == "int":
            return trial.suggest_int(self.key, low, high)
        return trial.suggest_float(self.key, low, high, log=self.kind == "loguniform")

    def override(self, value: Any) -> str:
        """``KEY=VALUE`` for ``load_recipe``, the value as a TOML literal."""
        return f"{self.key}={toml_literal(value)}"


def toml_literal(value: Any) -> str:
    return tomli_w.dumps({"v": value}).strip()[len("v = "):]


def _values(text: str, spec: str) -> list:
    """Comma-separated TOML literals (bare words as strings); numbers, strings and
    booleans only: Optuna stores nothing else."""
    try:
        values = tomllib.loads(f"v = [{text}]")["v"]
    except tomllib.TOMLDecodeError:
        values = []
        for item in text.split(","):
            item = item.strip()
            try:
                values.append(tomllib.loads(f"v = {item}")["v"])
            except tomllib.TOMLDecodeError:
                if not re.fullmatch(r"[A-Za-z_][\w.\-]*", item):
                    raise VaeregError(f"--param {spec}: {item!r} is neither a TOML value nor "
                                      f"a plain word") from None
                values.append(item)
    if not values:
        raise VaeregError(f"--param {spec}: no values")
    for value in values:
        if not isinstance(value, (int, float, str, bool)):
            raise VaeregError(f"--param {spec}: {value!r} is not a number, string "
                              f"or boolean (a sweep can search only those)")
    if len(set(map(repr, values))) != len(values):
        raise VaeregError(f"--param {spec}: a value is given twice")
    return values


def _bounds(kind: str, values: list, spec: str) -> tuple:
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if len(values) != 2 or not numbers:
        raise VaeregError(f"--param {spec}: {kind}(lo, hi) takes two numbers")
    low, high = values
    if kind == "int" and not all(isinstance(v, int) for v in values):
        raise VaeregError(f"--param {spec}: int(lo, hi) takes two integers")
    if not low < high:
        raise VaeregError(f"--param {spec}: the low bound must be below the high one")
    if kind == "loguniform" and low <= 0:
        raise VaeregError(f"--param {spec}: loguniform needs a positive low bound")
    return (low, high) if kind == "int" else (float(low), float(high))


def parse_param(spec: str) -> Param:
    """``KEY=SPEC`` -> :class:`Param`; ``VaeregError`` saying what is wrong otherwise."""
    key, sep, text = spec.partition("=")
    key = key.strip()
    if not sep or not key or not text.strip() or any(not p for p in key.split(".")):
        raise VaeregError(f"--param {spec}: expected KEY.PATH=SPEC, e.g. "
                          f"optimizer.lr=loguniform(1e-4, 1e-2) or plugins.dropout.p=0.1,0.2")
    match = FUNCTION.match(text)
    if match is None:
        if "(" in text:
            raise VaeregError(f"--param {spec}: unknown spec; use a grid (a,b,c), "
                              f"loguniform(lo, hi), uniform(lo, hi), int(lo, hi) or choice(a, b)")
        return Param(key, "grid", tuple(_values(text, spec)), spec)
    kind, inner = match.groups()
    values = _values(inner, spec)
    if kind in RANGES:
        return Param(key, kind, _bounds(kind, values, spec), spec)
    return Param(key, kind, tuple(values), spec)


def parse_params(specs: tuple[str, ...]) -> list[Param]:
    params = [parse_param(spec) for spec in specs]
    keys = [param.key for param in params]
    twice = sorted({key for key in keys if keys.count(key) > 1})
    if not params:
        raise VaeregError("give at least one --param KEY=SPEC to search")
    if twice:
        raise VaeregError(f"--param {', '.join(twice)} given more than once")
    return params
