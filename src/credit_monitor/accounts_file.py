"""The accounts file: many accounts per provider, declared in version-controlled TOML.

    [[account]]
    id = "acme-lemlist"          # slug, unique: the secret key, the state key, the metric dimension
    provider = "lemlist"         # a built-in (see providers.CATALOGUE), or "http-json"
    warning = 500
    critical = 100               # optional
    labels = { client = "acme" } # optional, sent as SNS message attributes for routing
    balance_metric = true        # optional: its own CreditsRemaining metric ($0.30 a month)
    url = "https://..."          # optional for a built-in (e.g. a regional host), required for http-json
    key = "acme-team"            # optional: the secret entry holding this account's key (default: its id)

`[[route]]` tables next to them send each account's notifications to its own receivers (see
routes.py).

Accounts naming the same `key` share one key, and so its rate limit; those whose requests are the
same make one. `credit-monitor validate` says when their different requests are more than one run
can make, and how often each account is checked (they take turns).

The file is UTF-8, with or without a byte-order mark. Parsed with the standard library's tomllib.
Every error names the file, the account and the field. The whole file is refused, with every
problem found (each field of each account is checked): a half-read file would silently drop
accounts, and a file with three mistakes needs one run to see all three.
"""

from __future__ import annotations

import codecs
import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from credit_monitor.account import (
    ACCOUNT_ID,
    MAX_THRESHOLD,
    Account,
    ConfigError,
    SpikeSetting,
    base_url_problem,
    label_problem,
)
from credit_monitor.problems import Problems, did_you_mean
from credit_monitor.providers import CATALOGUE, Provider, http_json, table
from credit_monitor.renewal import Renewal, parse_renewal
from credit_monitor.routes import Route, entry_problems, parse_routes

HTTP_JSON = "http-json"
MAX_ACCOUNTS = 1000
MAX_FILE_BYTES = 1_000_000
MAX_PROBLEMS = 100
"""Problems listed from one file; past that, how many more there are."""
OTHER_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),  # first: it starts with UTF-16's little-endian mark
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
MAX_LABELS = 5
"""SNS allows 10 message attributes: account, provider, kind, level, notification_id, and 5 labels."""
COMMON_FIELDS = frozenset(
    {"id", "provider", "warning", "critical", "labels", "balance_metric", "key", "renewal", "spike"}
)
SPIKE_FIELDS = ("factor", "min_share")
MAX_SPIKE_FACTOR = 1000.0
BUILT_IN_FIELDS = COMMON_FIELDS | {"url"}
TOP_LEVEL = ("account", "route")


@dataclass(frozen=True)
class AccountsConfig:
    """What an accounts file declares: its accounts, and the routes their notifications take."""

    accounts: tuple[Account, ...]
    routes: tuple[Route, ...] = ()


def load_accounts(path: Path) -> tuple[Account, ...]:
    """Every account in the file, validated (its routes too); ConfigError naming file, account and
    field otherwise."""
    return load_config(path).accounts


def load_config(path: Path) -> AccountsConfig:
    """Every account and route in the file, validated; ConfigError naming file, account or route,
    and field otherwise."""
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_FILE_BYTES + 1)  # never more: the file is read before it is judged
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the accounts file ({exc.strerror or exc})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError(f"{path}: the accounts file is larger than {MAX_FILE_BYTES:,} bytes")
    text = decode_text(raw, path)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        advice = toml_advice(text, str(exc))
        raise ConfigError(f"{path}: not valid TOML: {exc}{'; ' + advice if advice else ''}") from None
    except ValueError:  # tomllib's own: an integer of more than 4,300 digits
        raise ConfigError(f"{path}: not valid TOML: a number has too many digits") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid TOML: arrays or tables nested too deeply") from None
    return parse_config(document, str(path))


TOML_WHERE = re.compile(r"\(at line (\d+), column (\d+)\)")
GROUPED_NUMBER = re.compile(r"([A-Za-z0-9_-]+)\s*=\s*(\d{1,3}(?:[, ]\d{3})+)\s*(?:#.*)?")
NUMBER_AND_WORDS = re.compile(r"([A-Za-z0-9_-]+)\s*=\s*(\d+(?:\.\d+)?)\s*[A-Za-z%].*")
BARE_WORD = re.compile(r"([A-Za-z][A-Za-z0-9_.-]*)")
CURLY = re.compile(
    r"([A-Za-z0-9_-]+)\s*=\s*[\u201c\u201d\u2018\u2019]([^\u201c\u201d\u2018\u2019]*)[\u201c\u201d\u2018\u2019]"
)


def toml_advice(text: str, message: str) -> str:
    """What to write instead, for the TOML mistakes people make most (a number written with
    thousands separators or a unit, text without quotes, a word processor's quotes, [account]
    for [[account]]), from the line tomllib names; empty when it is none of them."""
    if "Cannot declare ('account',) twice" in message:
        return "start each account with [[account]] (two brackets), not [account]"
    where = TOML_WHERE.search(message)
    lines = text.splitlines()
    if where is None or not 0 < int(where.group(1)) <= len(lines):
        return ""
    line, column = lines[int(where.group(1)) - 1], int(where.group(2)) - 1
    statement = line.strip()
    if found := GROUPED_NUMBER.fullmatch(statement):
        name, digits = found.group(1), re.sub(r"[, ]", "", found.group(2))
        grouped = f"{int(digits):_}"
        return f"write {name} = {digits} or {name} = {grouped}: a number has no commas or spaces"
    if found := NUMBER_AND_WORDS.fullmatch(statement):
        return f"write {found.group(1)} = {found.group(2)}: a number stands alone (a comment starts with #)"
    if found := CURLY.search(statement):
        return f'write {found.group(1)} = "{found.group(2)}" with straight quotes, not \u201c \u201d'
    if message.startswith("Invalid value"):  # at the value: the name is just before it
        name = re.search(r"([A-Za-z0-9_-]+)\s*=$", line[:column].rstrip())
        word = BARE_WORD.match(line, column)
        if name and word:
            return f'write {name.group(1)} = "{word.group(1)}": text goes in double quotes'
    return ""


def decode_text(raw: bytes, path: Path) -> str:
    """The file's text: UTF-8, with or without the byte-order mark some editors write. Any other
    encoding is a ConfigError naming the file and what it looks like instead."""
    save = "; save it as UTF-8"
    for bom, encoding in OTHER_BOMS:
        if raw.startswith(bom):
            raise ConfigError(
                f"{path}: the accounts file is {encoding} (it starts with a {encoding} byte-order mark){save}"
            )
    if b"\0" in raw:
        raise ConfigError(f"{path}: the accounts file contains NUL bytes: UTF-16 or a binary file{save}")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"{path}: the accounts file is not UTF-8: byte 0x{raw[exc.start]:02x} at line {line}"
            f" ({exc.reason}){save}"
        ) from None


def parse_accounts(document: Mapping[str, object], source: str) -> tuple[Account, ...]:
    """Every account, or a ConfigError holding every problem found (per account and field)."""
    return parse_config(document, source).accounts


def parse_config(document: Mapping[str, object], source: str) -> AccountsConfig:
    """Every account and route, or a ConfigError holding every problem found (per account or route,
    and field)."""
    problems = [
        f"{source}: unknown top-level key {name!r}{did_you_mean(name, TOP_LEVEL)}; accounts are"
        " [[account]] tables, routes [[route]] tables"
        for name in sorted(set(document) - set(TOP_LEVEL))
    ]
    routes, route_problems = parse_routes(document.get("route", []), source)
    entries = document.get("account")
    if not isinstance(entries, list) or not entries:
        problems.append(f"{source}: no [[account]] tables; declare at least one account")
        raise _refused([*problems, *route_problems])
    if len(entries) > MAX_ACCOUNTS:
        problems.append(f"{source}: {len(entries)} accounts; at most {MAX_ACCOUNTS} fit in one run")
        raise _refused([*problems, *route_problems])
    accounts: list[Account] = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        where = f"{source}: account #{number}"
        if not isinstance(entry, dict):
            problems.append(f"{where}: must be a table")
            continue
        account_id = entry.get("id")
        if isinstance(account_id, str) and ACCOUNT_ID.fullmatch(account_id):
            where = f"{source}: account {account_id!r}"
            if account_id in seen:
                problems.append(f"{where}: id: {account_id!r} is declared twice; ids must be unique")
            seen.add(account_id)
        account, wrong = _account(entry)
        problems.extend(f"{where}: {problem}" for problem in wrong)
        if account is not None:
            accounts.append(account)
    problems += [*route_problems, *entry_problems(routes, accounts, source)]
    if problems:
        raise _refused(problems)
    return AccountsConfig(tuple(accounts), routes)


def _refused(problems: Sequence[str]) -> ConfigError:
    shown = list(problems[:MAX_PROBLEMS])
    if len(problems) > MAX_PROBLEMS:
        shown.append(f"... and {len(problems) - MAX_PROBLEMS} more problems")
    return ConfigError("\n".join(shown), shown)


def _account(entry: Mapping[str, object]) -> tuple[Account | None, list[str]]:
    """The account, or None and a problem for each field at fault ("<field>: <what is wrong>")."""
    problems = Problems()
    account_id = problems.check(lambda: _id(entry.get("id")))
    provider_name = entry.get("provider")
    known: frozenset[str] | None = None
    if provider_name == HTTP_JSON:
        known = COMMON_FIELDS | frozenset(http_json.FIELDS)
        for name in sorted(set(entry) - known):
            takes = ", ".join(http_json.FIELDS)
            problems.found.append(
                f"{name}: unknown field (http-json takes {takes}){did_you_mean(name, known)}"
            )
        rest = {name: value for name, value in entry.items() if name in http_json.FIELDS}
        built = problems.check(lambda: http_json.from_entry(rest))
        provider, api_url = built if built is not None else (None, None)
    elif isinstance(provider_name, str) and provider_name in CATALOGUE:
        built_in = CATALOGUE[provider_name]
        known = BUILT_IN_FIELDS | frozenset(built_in.account_fields)
        for name in sorted(set(entry) - known):
            hint = did_you_mean(name, known)
            problems.found.append(f"{name}: unknown field for the built-in provider {provider_name!r}{hint}")
        api_url = problems.check(lambda: _base_url(entry.get("url", built_in.default_api_url)))
        provider = problems.check(lambda: _for_account(built_in, entry))
    else:
        names = [*sorted(CATALOGUE), HTTP_JSON]
        hint = did_you_mean(provider_name, names) or "."
        problems.found.append(
            f"provider: must be one of {', '.join(names)}, got {provider_name!r}{hint} For any other API"
            f' that answers JSON, write provider = "{HTTP_JSON}" (see docs/vendors.md)'
        )
        known = BUILT_IN_FIELDS | frozenset(http_json.FIELDS)  # any provider's: the others are typos
        for name in sorted(set(entry) - known):
            problems.found.append(f"{name}: unknown field{did_you_mean(name, known)}")
        provider, api_url = None, None
    warning = problems.check(lambda: _credits(entry.get("warning"), "warning"))
    misspelt = known is not None and any(did_you_mean(name, ["warning"]) for name in set(entry) - known)
    if "warning" not in entry and not misspelt:  # a misspelt `warning` was named above: once is enough
        problems.found.append("warning: is missing; it is the level, in credits, below which to alert")
    critical = problems.check(lambda: _credits(entry.get("critical"), "critical"))
    if critical is not None and warning is not None and critical >= warning:
        problems.found.append(f"critical: ({critical:g}) must be below warning ({warning:g})")
    balance_metric = problems.check(lambda: _balance_metric(entry.get("balance_metric", True)))
    key_entry = problems.check(lambda: _key(entry.get("key", "")))
    labels = problems.check(lambda: _labels(entry.get("labels", {})))
    renewal = problems.check(lambda: _renewal(entry.get("renewal"), provider_name))
    spike = problems.check(lambda: spike_setting(entry.get("spike")))
    if problems.found:
        return None, problems.found
    assert account_id is not None  # every check passed: each value is there
    assert provider is not None
    assert api_url is not None
    assert warning is not None
    assert balance_metric is not None
    assert key_entry is not None
    assert labels is not None
    return Account(
        id=account_id,
        provider=provider,
        api_url=api_url,
        threshold=warning,
        critical_threshold=critical,
        labels=labels,
        balance_metric=balance_metric,
        key_entry=key_entry,
        renewal=renewal,
        spike=spike,
    ), []


def _for_account(provider: Provider, entry: Mapping[str, object]) -> Provider:
    """A built-in that needs fields of its account (BetterContact's and Icypeas's owner `email`)
    gets them, each checked; the others are shared as they are."""
    if not provider.account_fields or provider.for_account is None:
        return provider
    problems = Problems()
    values: dict[str, str] = {}
    for name in provider.account_fields:
        value = entry.get(name)
        if value is None:
            problems.found.append(f"{name}: is missing; {provider.display_name} asks for it next to the key")
            continue
        try:
            values[name] = table.account_value(name, value)
        except ValueError as exc:
            problems.found.append(str(exc))
    problems.raise_any()
    return provider.for_account(values)


def _renewal(value: object, provider: object) -> Renewal | None:
    """A declared renewal (every built-in and http-json); where the reply gives it, only http-json
    reads `date_path` or `days_path` (the catalogue reads each vendor's own date where documented)."""
    if value is None:
        return None
    renewal = parse_renewal(value)
    if renewal is None and provider != HTTP_JSON:
        raise ValueError(
            "renewal: date_path and days_path read an http-json reply; for a built-in vendor declare"
            ' the plan, e.g. renewal = { every = "month", day = 1 }'
        )
    return renewal


def spike_setting(value: object) -> SpikeSetting | None:
    """`spike = false`, `true`, or `{ factor = 20, min_share = 0.1 }`; absent: the template's rule."""
    if value is None:
        return None
    if isinstance(value, bool):
        return SpikeSetting(watch=value)
    if not isinstance(value, dict):
        raise ValueError("spike: must be true, false or a table such as { factor = 20, min_share = 0.05 }")
    for name in sorted(set(value) - set(SPIKE_FIELDS)):
        raise ValueError(
            f"spike.{name}: unknown field (spike takes factor, min_share){did_you_mean(name, SPIKE_FIELDS)}"
        )
    factor, share = value.get("factor"), value.get("min_share")
    if factor is not None and (
        isinstance(factor, bool) or not isinstance(factor, int | float) or not 1 < factor <= MAX_SPIKE_FACTOR
    ):
        raise ValueError(
            f"spike.factor: must be a number above 1 and at most {MAX_SPIKE_FACTOR:g} (times the usual use),"
            f" got {http_json.type_name(factor) if not isinstance(factor, int | float) else factor!r}"
        )
    if share is not None and (
        isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1
    ):
        raise ValueError("spike.min_share: must be a share of the balance from 0 to 1, e.g. 0.05 for 5 %")
    return SpikeSetting(
        factor=None if factor is None else float(factor), min_share=None if share is None else float(share)
    )


def _id(value: object) -> str:
    if not isinstance(value, str) or not ACCOUNT_ID.fullmatch(value):
        raise ValueError(
            "id: must be a slug of lower-case letters, digits and dashes (at most 64), e.g. 'acme-lemlist'"
        )
    return value


def _balance_metric(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError("balance_metric: must be true or false")
    return value


def _key(value: object) -> str:
    if not isinstance(value, str) or not (value == "" or ACCOUNT_ID.fullmatch(value)):
        raise ValueError(
            "key: must name the secret entry holding the key, a slug like an id (e.g. 'acme-team'),"
            " not the key itself"
        )
    return value


def _credits(value: object, field: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, str) and _is_number(value):
        raise ValueError(
            f"{field}: must be a number of credits, not the string {json.dumps(value)}; drop the quotes:"
            f" {field} = {value.strip()}"
        )
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{field}: must be a number of credits, got {http_json.type_name(value)}")
    if not 0 <= value <= MAX_THRESHOLD:
        raise ValueError(f"{field}: must be from 0 to {MAX_THRESHOLD:,.0f} credits, got {value!r}")
    return float(value)


def _is_number(text: str) -> bool:
    """What TOML would read as a number without the quotes ("500", "1_000", "2.5e3")."""
    if "\n" in text or "\r" in text:
        return False
    try:
        value = tomllib.loads(f"n = {text.strip()}").get("n")
    except (tomllib.TOMLDecodeError, ValueError, RecursionError):
        return False
    return isinstance(value, int | float) and not isinstance(value, bool)


def _labels(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ValueError('labels: must be a table, e.g. labels = { client = "acme" }')
    if len(value) > MAX_LABELS:
        raise ValueError(f"labels: at most {MAX_LABELS} (SNS carries 10 message attributes, 5 are ours)")
    labels = {}
    for name, label in value.items():
        problem = label_problem(name, label)
        if problem:
            raise ValueError(f"labels.{name}: {problem}")
        labels[name] = label
    return labels


def _base_url(value: object) -> str:
    problem = base_url_problem(value)
    if problem:
        raise ValueError(f"url: {problem}")
    assert isinstance(value, str)
    return value.rstrip("/")
