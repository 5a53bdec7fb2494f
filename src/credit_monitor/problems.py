"""Every problem of a piece of configuration, not only the first: each field is checked even after
another failed, so one run of `credit-monitor validate` lists them all. Pure."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

T = TypeVar("T")


class Invalid(ValueError):
    """Several problems at once ("<field>: <what is wrong>" each); str() is one per line."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = tuple(problems)


class Problems:
    """Collects the ValueErrors of field checks; `raise_any` raises them together as Invalid."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def check(self, validate: Callable[[], T]) -> T | None:
        """validate()'s value, or None with its problem(s) recorded."""
        try:
            return validate()
        except Invalid as exc:
            self.found.extend(exc.problems)
        except ValueError as exc:
            self.found.append(str(exc))
        return None

    def raise_any(self) -> None:
        if self.found:
            raise Invalid(self.found)


def did_you_mean(name: object, known: Iterable[str]) -> str:
    """ "; did you mean warning?" for a name close to a known one (difflib), else ""."""
    if not isinstance(name, str):
        return ""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""
