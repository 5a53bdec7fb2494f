"""A starter accounts file, from `credit-monitor init`'s answers: rendered as TOML, then checked by
the same parser the function runs at cold start, so what is written is what `validate` accepts. Pure."""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from credit_monitor.account import LABEL_NAME
from credit_monitor.accounts_file import parse_accounts

HEADER = """\
# credit-monitor accounts: one [[account]] table per account to watch.
# Check it as the function will:   credit-monitor validate {path}
# Store each account's API key:    credit-monitor keys set <id> --stack <your stack>
# Fields: id, provider, warning, critical (optional), labels (optional), url (optional),
# email (the vendor account owner's, for the vendors that ask for it).
"""


@dataclass
class Answers:
    """One account as `init` was told it, fields not yet validated."""

    provider: str
    id: str | None = None
    warning: float | None = None
    critical: float | None = None
    labels: dict[str, str] = field(default_factory=dict)
    email: str | None = None
    """The vendor account owner's e-mail, for the vendors that ask for it (BetterContact, Icypeas)."""


def credits(text: str, option: str) -> float:
    """A number of credits as typed; ValueError naming `option` otherwise."""
    try:
        value = float(text.strip().replace(",", "").replace("_", ""))
    except ValueError:
        raise ValueError(f"{option}: must be a number of credits, e.g. 500, got {text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{option}: must be a finite number of credits, got {text!r}")
    return value


def label(text: str) -> tuple[str, str]:
    """NAME=VALUE, as typed; the name and value rules are the accounts file's."""
    name, equals, value = text.partition("=")
    if not equals:
        raise ValueError(f"--label: must be NAME=VALUE, e.g. owner=ops, got {text!r}")
    return name.strip(), value.strip()


def render(accounts: Sequence[Answers], path: str) -> str:
    """The file's text; ValueError with accounts_file's message (account and field) if invalid."""
    tables = [_table(answers) for answers in accounts]
    text = HEADER.format(path=path) + "".join(f"\n[[account]]\n{table}" for table in tables)
    parse_accounts(tomllib.loads(text), path)  # ConfigError (a ValueError) names account and field
    return text


def _table(answers: Answers) -> str:
    lines = [f"id = {_string(answers.id or answers.provider)}", f"provider = {_string(answers.provider)}"]
    if answers.warning is not None:
        lines.append(f"warning = {_number(answers.warning)}")
    if answers.critical is not None:
        lines.append(f"critical = {_number(answers.critical)}")
    if answers.labels:
        lines.append(f"labels = {_inline(answers.labels)}")
    if answers.email is not None:
        lines.append(f"email = {_string(answers.email)}")
    return "\n".join(lines) + "\n"


def _string(value: str) -> str:
    return json.dumps(value)  # ASCII, with \\uXXXX escapes: a valid TOML basic string


def _number(value: float) -> str:
    """An int on Python 3.11 has no is_integer(): go through float."""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))


def _inline(labels: Mapping[str, str]) -> str:
    pairs = (f"{_key(name)} = {_string(value)}" for name, value in labels.items())
    return "{ " + ", ".join(pairs) + " }"


def _key(name: str) -> str:
    return name if LABEL_NAME.fullmatch(name) else _string(name)  # bare when it can be
