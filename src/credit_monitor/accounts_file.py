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

Accounts naming the same `key` share one key, and so its rate limit: `credit-monitor validate` says
when they are more than one run can check, and how often each is checked (they take turns).

The file is UTF-8, with or without a byte-order mark. Parsed with the standard library's tomllib.
Every error names the file, the account and the field, and the whole file is refused on the first
one: a half-read file would silently drop accounts.
"""

from __future__ import annotations

import codecs
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path

from credit_monitor.config import MAX_THRESHOLD, Account, ConfigError, base_url_problem
from credit_monitor.providers import CATALOGUE, http_json

HTTP_JSON = "http-json"
MAX_ACCOUNTS = 1000
MAX_FILE_BYTES = 1_000_000
OTHER_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),  # first: it starts with UTF-16's little-endian mark
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
ACCOUNT_ID = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
"""Matched whole (fullmatch): '$' would also accept a trailing newline."""
LABEL_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")
LABEL_VALUE = re.compile(r"[ -~]{1,100}")
"""Printable ASCII: what a filter policy can match and SNS carries without complaint."""
MAX_LABELS = 5
"""SNS allows 10 message attributes: account, provider, kind, level, notification_id, and 5 labels."""
MAX_LABEL_VALUE = 100
RESERVED_LABELS = frozenset({"account", "provider", "kind", "level", "notification_id"})
COMMON_FIELDS = frozenset({"id", "provider", "warning", "critical", "labels", "balance_metric", "key"})
BUILT_IN_FIELDS = COMMON_FIELDS | {"url"}


def load_accounts(path: Path) -> tuple[Account, ...]:
    """Every account in the file, validated; ConfigError naming file, account and field otherwise."""
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
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except ValueError:  # tomllib's own: an integer of more than 4,300 digits
        raise ConfigError(f"{path}: not valid TOML: a number has too many digits") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid TOML: arrays or tables nested too deeply") from None
    return parse_accounts(document, str(path))


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
    unknown = sorted(set(document) - {"account"})
    if unknown:
        raise ConfigError(f"{source}: unknown top-level key {unknown[0]!r}; accounts are [[account]] tables")
    entries = document.get("account")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{source}: no [[account]] tables; declare at least one account")
    if len(entries) > MAX_ACCOUNTS:
        raise ConfigError(f"{source}: {len(entries)} accounts; at most {MAX_ACCOUNTS} fit in one run")
    accounts: list[Account] = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        where = f"{source}: account #{number}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: must be a table")
        account_id = entry.get("id")
        if isinstance(account_id, str) and ACCOUNT_ID.fullmatch(account_id):
            where = f"{source}: account {account_id!r}"
        try:
            account = _account(entry)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        if account.id in seen:
            raise ConfigError(f"{where}: id: {account.id!r} is declared twice; ids must be unique")
        seen.add(account.id)
        accounts.append(account)
    return tuple(accounts)


def _account(entry: Mapping[str, object]) -> Account:
    account_id = entry.get("id")
    if not isinstance(account_id, str) or not ACCOUNT_ID.fullmatch(account_id):
        raise ValueError(
            "id: must be a slug of lower-case letters, digits and dashes (at most 64), e.g. 'acme-lemlist'"
        )
    provider_name = entry.get("provider")
    if provider_name == HTTP_JSON:
        rest = {name: value for name, value in entry.items() if name not in COMMON_FIELDS}
        provider, api_url = http_json.from_entry(rest)
    elif isinstance(provider_name, str) and provider_name in CATALOGUE:
        provider = CATALOGUE[provider_name]
        unknown = sorted(set(entry) - BUILT_IN_FIELDS)
        if unknown:
            raise ValueError(f"{unknown[0]}: unknown field for the built-in provider {provider_name!r}")
        api_url = _base_url(entry.get("url", provider.default_api_url))
    else:
        known = ", ".join([*sorted(CATALOGUE), HTTP_JSON])
        raise ValueError(f"provider: must be one of {known}, got {provider_name!r}")
    warning = _credits(entry.get("warning"), "warning")
    if warning is None:
        raise ValueError("warning: is missing; it is the level, in credits, below which to alert")
    critical = _credits(entry.get("critical"), "critical")
    if critical is not None and critical >= warning:
        raise ValueError(f"critical: ({critical:g}) must be below warning ({warning:g})")
    balance_metric = entry.get("balance_metric", True)
    if not isinstance(balance_metric, bool):
        raise ValueError("balance_metric: must be true or false")
    key_entry = entry.get("key", "")
    if not isinstance(key_entry, str) or not (key_entry == "" or ACCOUNT_ID.fullmatch(key_entry)):
        raise ValueError(
            "key: must name the secret entry holding the key, a slug like an id (e.g. 'acme-team'),"
            " not the key itself"
        )
    return Account(
        id=account_id,
        provider=provider,
        api_url=api_url,
        threshold=warning,
        critical_threshold=critical,
        labels=_labels(entry.get("labels", {})),
        balance_metric=balance_metric,
        key_entry=key_entry,
    )


def _credits(value: object, field: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{field}: must be a number of credits, got {type(value).__name__}")
    if not 0 <= value <= MAX_THRESHOLD:
        raise ValueError(f"{field}: must be from 0 to {MAX_THRESHOLD:,.0f} credits, got {value!r}")
    return float(value)


def _labels(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ValueError('labels: must be a table, e.g. labels = { client = "acme" }')
    if len(value) > MAX_LABELS:
        raise ValueError(f"labels: at most {MAX_LABELS} (SNS carries 10 message attributes, 5 are ours)")
    labels = {}
    for name, label in value.items():
        if not LABEL_NAME.fullmatch(name) or name in RESERVED_LABELS:
            raise ValueError(
                f"labels.{name}: a label name is lower-case letters, digits, '_' and '-', and not one of"
                f" {', '.join(sorted(RESERVED_LABELS))}"
            )
        if not isinstance(label, str) or not LABEL_VALUE.fullmatch(label) or label != label.strip():
            raise ValueError(
                f"labels.{name}: must be a non-empty string of at most {MAX_LABEL_VALUE} printable ASCII"
                " characters, without surrounding spaces (a filter policy matches it exactly)"
            )
        labels[name] = label
    return labels


def _base_url(value: object) -> str:
    problem = base_url_problem(value)
    if problem:
        raise ValueError(f"url: {problem}")
    assert isinstance(value, str)
    return value.rstrip("/")
