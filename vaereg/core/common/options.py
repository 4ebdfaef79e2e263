"""Declarative, validated option classes built from recipe tables.

Each section of a recipe and each plugin's options is a frozen attrs class. Fields are
declared with :func:`option`, whose ``help`` feeds ``vaereg plugins NAME``. Building from
a TOML table checks unknown keys (with did-you-mean), types (TOML ``true`` is not a
number here, although Python's ``bool`` is an ``int``) and value constraints, and
collects every problem instead of stopping at the first.
"""
from __future__ import annotations

import math
import types
import typing
from typing import Any, Callable, Literal

import attrs

from vaereg.core.common.errors import Problem, did_you_mean

Check = Callable[[Any], "str | None"]


def option(default: Any, help: str, check: Check | None = None, **kwargs: Any) -> Any:
    """An attrs field with help text and an optional value check.

    ``check(value)`` returns None when the value is fine, else what was expected.
    """
    metadata = {"help": help, "check": check}
    if isinstance(default, (list, dict)):
        raise TypeError("use a tuple default for sequences")
    return attrs.field(default=default, metadata=metadata, kw_only=True,
                       validator=_validate, **kwargs)


def _validate(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    """Options built in code (``DropoutOptions(p=2)``) are checked like recipe tables."""
    tp = typing.get_type_hints(type(instance))[attribute.name]
    ok, _ = coerce(tp, value)
    check = attribute.metadata.get("check")
    expected = describe(tp) if not ok else (check(value) if check else None)
    if expected:
        raise ValueError(f"{attribute.name}: expected {expected}, found {found(value)}")


def in_range(low: float | None = None, high: float | None = None, *,
             low_open: bool = False, high_open: bool = False) -> Check:
    """A check that a number lies in an interval, e.g. ``in_range(0, 1, high_open=True)``."""
    left = "(" if low_open else "["
    right = ")" if high_open else "]"
    text = f"a number in {left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"

    def check(value: Any) -> str | None:
        if isinstance(value, float) and not math.isfinite(value):
            return text
        if low is not None and (value < low or (low_open and value == low)):
            return text
        if high is not None and (value > high or (high_open and value == high)):
            return text
        return None

    return check


def positive(value: Any) -> str | None:
    """Check for strictly positive, finite numbers (TOML has ``inf`` and ``nan``)."""
    return None if value > 0 and math.isfinite(value) else "a positive finite number"


def each_positive(values: Any) -> str | None:
    """Check that every item of a sequence is positive."""
    return None if all(v > 0 for v in values) else "positive numbers"


def describe(tp: Any) -> str:
    """Human text for a field type: 'a number', "one of 'a', 'b'", 'a list of integers'."""
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (tuple, list):
        item = typing.get_args(tp)[0]
        arms = typing.get_args(item) if typing.get_origin(item) in (typing.Union, types.UnionType) \
            else (item,)
        return "a list of " + " or ".join(
            f"{describe(arm).removeprefix('a ').removeprefix('an ')}s" for arm in arms)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(describe(a) for a in typing.get_args(tp))
    return {float: "a number", int: "an integer", str: "a string", bool: "true or false",
            type(None): "nothing"}.get(tp, getattr(tp, "__name__", str(tp)))


def found(value: Any) -> str:
    """Human text for a TOML value, naming its TOML type."""
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"number {value!r}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, list):
        return f"list {value!r}"
    if isinstance(value, dict):
        return "a table"
    return f"{type(value).__name__} {value!r}"


def coerce(tp: Any, value: Any) -> tuple[bool, Any]:
    """Return (ok, value converted to the field type). Never uses bool as a number."""
    origin = typing.get_origin(tp)
    if origin is Literal:
        return any(a == value and type(a) is type(value) for a in typing.get_args(tp)), value
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            return False, value
        item_type = typing.get_args(tp)[0]
        items = [coerce(item_type, v) for v in value]
        return all(ok for ok, _ in items), tuple(v for _, v in items)
    if origin in (typing.Union, types.UnionType):
        for arm in typing.get_args(tp):
            ok, converted = coerce(arm, value)
            if ok:
                return True, converted
        return False, value
    if tp is type(None):
        return value is None, value
    if tp is bool:
        return isinstance(value, bool), value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False, value
        return True, float(value)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool), value
    if tp is str:
        return isinstance(value, str), value
    if tp is Any:
        return True, value
    return isinstance(value, tp), value


def build(cls: type, table: Any, source: str, prefix: str,
          also_known: frozenset[str] = frozenset()) -> tuple[Any, list[Problem]]:
    """Build ``cls`` from a TOML table; return (instance or None, problems).

    ``also_known``: keys of the same table that another class takes (the core's
    ``[data]`` keys beside a dataset's own), offered in did-you-mean and key lists."""
    if not isinstance(table, dict):
        return None, [Problem(source, prefix, f"expected a table, found {found(table)}")]
    problems: list[Problem] = []
    fields = {f.name: f for f in attrs.fields(cls)}
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for key, value in table.items():
        path = f"{prefix}.{key}" if prefix else key
        if key not in fields:
            known = [*fields, *sorted(also_known)]
            problems.append(Problem(source, path, "unknown key" + did_you_mean(key, known)
                                    + f"; known keys: {', '.join(known) or 'none'}"))
            continue
        field = fields[key]
        ok, converted = coerce(hints[key], value)
        if not ok:
            problems.append(Problem(source, path,
                                    f"expected {describe(hints[key])}, found {found(value)}"))
            continue
        check = field.metadata.get("check")
        expected = check(converted) if check else None
        if expected:
            problems.append(Problem(source, path, f"expected {expected}, found {found(value)}"))
            continue
        kwargs[key] = converted
    if problems:
        return None, problems
    try:
        return cls(**kwargs), []
    except (ValueError, TypeError) as error:  # cross-field checks in __attrs_post_init__
        return None, [Problem(source, prefix, str(error))]


def field_help(cls: type) -> list[tuple[str, str, Any, str]]:
    """(name, type text, default, help) for each option, for ``vaereg plugins NAME``."""
    hints = typing.get_type_hints(cls)
    return [(f.name, describe(hints[f.name]), f.default, f.metadata.get("help", ""))
            for f in attrs.fields(cls)]


def to_table(instance: Any) -> dict[str, Any]:
    """Options back to a TOML-ready table (tuples become lists, None dropped)."""
    out = {}
    for key, value in attrs.asdict(instance, recurse=False).items():
        if value is None:
            continue
        out[key] = list(value) if isinstance(value, tuple) else value
    return out
