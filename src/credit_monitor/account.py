"""One monitored account, and what its settings share wherever they come from: the environment
(config.py) or an accounts file (accounts_file.py). Both import this module, not each other."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import urlsplit

from credit_monitor.alerting import Levels, Rules
from credit_monitor.forecast import DEFAULT_SPIKE_RULE, SpikeRule
from credit_monitor.providers import Provider, Vendor
from credit_monitor.renewal import Renewal

MAX_THRESHOLD = 1e12
"""Far above any real balance; a bigger value is a typo (an exponent, extra zeros)."""
ACCOUNT_ID = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
"""An account id, and any secret entry's name (a slug). Matched whole (fullmatch): '$' would also
accept a trailing newline."""
LABEL_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")
LABEL_VALUE = re.compile(r"[ -~]{1,100}")
"""Printable ASCII: what a filter policy can match and SNS carries without complaint."""
MAX_LABEL_VALUE = 100
TOPIC_ARN = re.compile(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?")
"""An SNS topic's ARN (matched whole): the stack's own ALERT_TOPIC_ARN, and a route's `topic`."""
RESERVED_LABELS = frozenset({"account", "provider", "kind", "level", "notification_id"})
"""The message attributes every notification carries: no label may take their names. A route's
`match` (routes.py) names labels by the same rules."""


class ConfigError(ValueError):
    """Raised at start-up; its message names the variable at fault. An accounts file's holds every
    problem found, one per account and field (`problems`), so one run shows them all."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[str, ...] = tuple(problems) or (message,)


@dataclass(frozen=True)
class SpikeSetting:
    """An account's `spike`: `false` (off), `true` (on, even if the template turned spikes off) or
    a table whose `factor` and `min_share` replace the template's."""

    watch: bool = True
    factor: float | None = None
    min_share: float | None = None

    def rule(self, default: SpikeRule | None) -> SpikeRule | None:
        if not self.watch:
            return None
        base = default or DEFAULT_SPIKE_RULE
        return SpikeRule(
            factor=base.factor if self.factor is None else self.factor,
            min_share=base.min_share if self.min_share is None else self.min_share,
        )


@dataclass(frozen=True)
class Account:
    """One monitored account: the unit of keys, state, metrics, notifications and rate limits.

    `id` is the secret's JSON key, the state item's key, the metric dimension and the chat thread.
    Without an accounts file there is one per zero-config vendor with a threshold (`fullenrich`,
    `lemlist`), named after its provider.
    """

    id: str
    provider: Provider
    api_url: str
    threshold: float
    """The warning level."""
    critical_threshold: float | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    """Free-form routing labels, sent as SNS message attributes (e.g. client = "acme")."""
    balance_metric: bool = True
    """Emit this account's own CreditsRemaining metric ($0.30 a month); the aggregates are always on."""
    key_entry: str = ""
    """The accounts file's `key`: the secret entry (in the CLI, <ENTRY>_API_KEY) this account's key
    is read from, so that many accounts can name one shared key. Empty: the account's own id."""
    renewal: Renewal | None = None
    """The accounts file's `renewal`: when the plan's credits renew (a vendor's own date wins)."""
    spike: SpikeSetting | None = None
    """The accounts file's `spike`: this account's own spike rule; None: the template's."""

    @property
    def secret_entry(self) -> str:
        """The secret entry this account's key is read from: `key_entry`, else its own id."""
        return self.key_entry or self.id

    def rules(self, default_spike: SpikeRule | None) -> Rules:
        """What this account is watched for beyond its levels, `default_spike` being the template's."""
        spike = default_spike if self.spike is None else self.spike.rule(default_spike)
        return Rules(renewal=self.renewal, spike=spike)

    @property
    def vendor(self) -> Vendor:
        return self.provider.vendor

    @property
    def levels(self) -> Levels:
        return Levels(warning=self.threshold, critical=self.critical_threshold)

    @property
    def display_name(self) -> str:
        """The provider's name, and the account id when they differ: "lemlist (acme-lemlist)"."""
        name = self.provider.display_name
        return name if self.id == self.provider.name else f"{name} ({self.id})"


def label_problem(name: str, value: object) -> str | None:
    """What is wrong with one label, an account's or one a route matches, or None."""
    if not LABEL_NAME.fullmatch(name) or name in RESERVED_LABELS:
        return (
            "a label name is lower-case letters, digits, '_' and '-', and not one of"
            f" {', '.join(sorted(RESERVED_LABELS))}"
        )
    if not isinstance(value, str) or not LABEL_VALUE.fullmatch(value) or value != value.strip():
        return (
            f"must be a non-empty string of at most {MAX_LABEL_VALUE} printable ASCII characters, without"
            " surrounding spaces (routes and filter policies match it exactly)"
        )
    return None


Value = TypeVar("Value")


def entry_readers(accounts: Iterable[Account]) -> dict[str, tuple[str, ...]]:
    """Each secret entry the accounts read, and the ids of the accounts that read it, in order."""
    readers: dict[str, list[str]] = {}
    for account in accounts:
        readers.setdefault(account.secret_entry, []).append(account.id)
    return {entry: tuple(ids) for entry, ids in readers.items()}


def keys_by_account(accounts: Iterable[Account], entries: Mapping[str, Value]) -> dict[str, Value]:
    """The secret's entries with each account's id bound to the entry it reads (`secret_entry`):
    an account naming a shared entry gets that entry's value, or none when it is missing, whatever
    an entry of its own id holds. Every entry stays, so that redaction still knows every key. The
    one rule, for the function's checks and for the CLI's `keys` commands alike."""
    resolved = dict(entries)
    for entry, ids in entry_readers(accounts).items():
        for account_id in ids:
            if account_id == entry:
                continue
            if entry in entries:
                resolved[account_id] = entries[entry]
            else:
                resolved.pop(account_id, None)
    return resolved


def base_url_problem(value: object) -> str | None:
    """What is wrong with a provider's base URL, for the environment and the accounts file alike,
    or None. The URL is never repeated: a key may have been pasted into it."""
    if not isinstance(value, str) or not re.fullmatch(r"[!-~]{1,2000}", value):
        return "must be a URL of printable characters, without spaces or line breaks"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not one
    except ValueError:
        return "is not a valid URL (check the host and the port)"
    if parts.scheme != "https" or not parts.hostname:
        return "must be an https:// URL (keys are never sent in clear)"
    if parts.username or parts.password or parts.query or parts.fragment:
        return "must be a plain base URL without credentials, query or fragment"
    return None
