"""The one interface every provider module implements."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType

from credit_monitor.model import Balance

NO_HEADERS: Mapping[str, str] = MappingProxyType({})
"""No headers, shared and read-only. A dataclass field takes it by `default_factory`: Python 3.11
refuses an unhashable default (a mappingproxy is hashable only from 3.12)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How hard we may lean on a provider's rate limit (see each module for the numbers' source)."""

    attempts: int = 4
    """Requests at most; the deadline usually allows fewer (a retry is made only if it can finish)."""
    backoff_seconds: float = 0.5
    """Wait before the first retry after a 5xx or a dropped connection, doubling after."""
    rate_limited_backoff_seconds: float = 2.0
    """Wait before the first retry after a 429 without Retry-After, doubling after."""
    retry_after_cap_seconds: int = 5
    """A Retry-After longer than this is waited for only this long."""


@dataclass(frozen=True)
class RateLimit:
    """A provider's documented request limit per key (its workspace, team or account)."""

    requests: int
    per_seconds: float


@dataclass(frozen=True)
class Request:
    """What to send for one balance query. The key may be in a header, the body or the URL."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes | None = None


@dataclass(frozen=True)
class HttpReply:
    """What came back: read up to a cap, by a deadline, never inflated past it (adapters/http.py).
    `headers`: the reply's headers by lower-case name, each value cut to a bounded length."""

    status: int
    body: bytes
    content_type: str | None
    headers: Mapping[str, str] = field(default_factory=lambda: NO_HEADERS)


@dataclass(frozen=True)
class ReplyContext:
    """What a reply is read with besides its JSON body: its headers (lower-case names, already
    redacted) and the time of the check, for a renewal given as days from now."""

    headers: Mapping[str, str] = field(default_factory=lambda: NO_HEADERS)
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class Token:
    """An access token from a token exchange, and how long it may be reused."""

    access_token: str
    expires_in: float


@dataclass(frozen=True)
class TokenExchange:
    """OAuth 2 client credentials (RFC 6749 4.4): the account's key is "<client id>:<client secret>",
    exchanged at `url` for an access token that is then sent as the key would be. The token is
    cached for its lifetime (token_cache.py) and redacted from every output as keys are."""

    build_request: Callable[[str, str, str], Request]
    """(the account's API base URL, client id, client secret) -> the token request."""
    parse_token: Callable[[dict[str, object]], Token]
    """A 200 reply's JSON object -> the token, or CheckError saying what is wrong with it."""


@dataclass(frozen=True)
class Vendor:
    """Who answers an account's requests, as messages and routing know it: one vendor's accounts
    are grouped, counted for an outage, paced and reported together, under its name and billing
    page. A built-in provider is one vendor; each http-json API is its own (`http_json.vendor_id`),
    so two unrelated APIs declared with http-json are never one."""

    id: str
    """The SNS `provider` attribute and the chat thread's: the built-in's name, or for http-json
    the declared display name as a slug, else the URL's host."""
    name: str
    """The name people read."""
    top_up_url: str | None = None


@dataclass(frozen=True)
class Provider:
    name: str
    """Lower-case id: the `provider` of an account, and the id of a zero-config account."""
    display_name: str
    default_api_url: str
    top_up_url: str | None
    build_request: Callable[[str, str], Request]
    """(the account's API base URL, its key) -> the balance request."""
    parse_balance: Callable[[dict[str, object]], Balance]
    """A 200 reply's JSON object -> the balance, or CheckError saying what is wrong with it."""
    retry: RetryPolicy = RetryPolicy()
    rate_limit: RateLimit | None = None
    parse_reply: Callable[[dict[str, object], ReplyContext], Balance] | None = None
    """Used instead of `parse_balance` when set: the reply's headers and the check's time too."""
    two_part_key: bool = False
    """The secret entry holds "<id>:<secret>" (Twilio's SID and token, Vonage's key and secret,
    Snov.io's client id and secret): keys.split_pair checks it before anything is sent."""
    token: TokenExchange | None = None
    account_fields: tuple[str, ...] = ()
    """Fields an account of this built-in must set in the accounts file (an owner's `email`)."""
    for_account: Callable[[Mapping[str, str]], Provider] | None = None
    """The provider for one account's `account_fields` values."""
    currency: str | None = None
    """The ISO 4217 code of a balance that is always money in one currency (Bright Data's dollars),
    so an account's levels are known to be amounts of it before any check (`validate`)."""
    currency_from_reply: bool = False
    """The balance is money in the currency each reply names (Twilio's `currency`)."""
    vendor_id: str = ""
    """The vendor's id when it is not `name` (an http-json API's)."""

    @property
    def vendor(self) -> Vendor:
        return Vendor(self.vendor_id or self.name, self.display_name, self.top_up_url)

    @property
    def env_prefix(self) -> str:
        return self.name.upper()
