"""Errors the CLI reports as a message: bad input (exit 2) and plugin failures (exit 1)."""
from __future__ import annotations

import difflib
from typing import Iterable

import attrs


class VaeregError(Exception):
    """Bad input: a recipe, an override, a checkpoint, a data folder. Exit code 2."""

    exit_code = 2


class PluginError(VaeregError):
    """A plugin's own code failed (import, hook names, an exception inside a hook).

    The message names the plugin, where it comes from and the hook; the original
    exception is chained as ``__cause__``. Exit code 1: a bug in a plugin is not bad input.
    """

    exit_code = 1


@attrs.frozen
class Problem:
    """One thing wrong with a recipe, located by file and dotted key path."""

    source: str
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}: {self.key}" if self.key else self.source
        return f"{where}: {self.message}"


class RecipeError(VaeregError):
    """Every problem found in a recipe, reported together."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        super().__init__(self._text())

    def _text(self) -> str:
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in the recipe:"
        return "\n".join([head] + [f"  - {p}" for p in self.problems])


def first_line(error: BaseException) -> str:
    """The first line of an exception's message, or its type name when it has none
    (``EOFError()`` from a truncated file, for one)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ' (did you mean 'x'?)' suffix when a close match exists, else ''."""
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


class NonFiniteError(VaeregError):
    """Training produced NaN or infinity and ``run.on_nonfinite = "stop"``. Exit code 3:
    not bad input, but a run that cannot go on as configured."""

    exit_code = 3


class RunInterrupted(VaeregError):
    """SIGINT or SIGTERM stopped the run after it wrote a checkpoint. Exit code 128 +
    the signal number (130 for Ctrl-C, 143 for SIGTERM), as a shell reports it."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.exit_code = 128 + signum
