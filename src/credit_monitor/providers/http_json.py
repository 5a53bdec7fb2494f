"""http-json: a provider declared in the accounts file, for a JSON API the catalogue lacks.

    [[account]]
    id = "acme-credits"
    provider = "http-json"
    url = "https://api.example.com/v1/account"      # https only; a query string is fine
    auth = { kind = "header", name = "X-Api-Key" }   # the key itself stays in the secret
    balance = "data.credits.available"               # dotted path; "items.0.credits" indexes an array
    warning = 500

`from_entry` validates such an entry (the caller has already taken out id, provider, warning,
critical, labels and balance_metric) and raises ValueError whose message starts with the field
at fault (problems.Invalid, one line per field, when several are), for the caller to prefix with
the file and the account id. Everything is bounded: string lengths, the path's depth, the body's
size, the number of pools, the rate limit's numbers.

Auth kinds: `bearer` (Authorization: Bearer <key>); `basic` (HTTP Basic, the secret entry holding
"<user>:<password>", Twilio's SID and token); `basic-password` (HTTP Basic, empty user, the key as
password, as lemlist does); `basic-user` (the key as user, empty password); `header` (the key in
header `name`, after an optional `prefix` such as "token "); `query` (the key as query parameter
`name`). A key in a query string is URL-encoded, and `query_auth` keeps it out of urllib3's log
lines; `keys.redact` keeps every form of it out of messages.

What a reply may hold besides a plain number (each with one real vendor in docs/vendors.md):
`balance = { limit = ..., used = ... }` (ScrapingBee), `balance_header` (LeadMagic), `pools`
(SerpApi), `numeric_string` (Snov.io), `error` (MillionVerifier's HTTP 200 errors), `renewal`
with `date_path` (Prospeo) or `days_path` (Snov.io), `currency` or `currency_path` (Bright Data,
Twilio), and `token`, OAuth client credentials exchanged for a bearer token (Snov.io).
"""

from __future__ import annotations

import base64
import json
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import SplitResult, parse_qsl, quote, urlsplit

from credit_monitor.model import Balance, CheckError, FailureKind, Pool
from credit_monitor.problems import Problems
from credit_monitor.providers import oauth
from credit_monitor.providers.base import Provider, RateLimit, ReplyContext, Request, RetryPolicy
from credit_monitor.providers.fields import (
    currency_code,
    dotted,
    excerpt,
    find,
    number,
    number_at,
    renewal_date,
    renewal_in_days,
)
from credit_monitor.providers.query_auth import with_query_key

NAME = "http-json"
AUTH_KINDS = ("bearer", "basic", "basic-password", "basic-user", "header", "query")
FIELDS = (
    "url",
    "method",
    "body",
    "auth",
    "balance",
    "balance_header",
    "pools",
    "numeric_string",
    "quota",
    "error",
    "renewal",
    "currency",
    "currency_path",
    "token",
    "rate_limit",
    "display_name",
    "top_up_url",
)
AUTH_FIELDS = ("kind", "name", "prefix")
RATE_LIMIT_FIELDS = ("requests", "per_seconds")
LIMIT_FIELDS = ("limit", "used")
POOL_FIELDS = ("path", "renews")
ERROR_FIELDS = ("path", "ok", "message", "auth")
RENEWAL_FIELDS = ("date_path", "days_path")
DECLARED_RENEWAL_FIELDS = ("every", "day", "weekday", "month")
"""A renewal the accounts file declares for any account (`renewal = { every = "month", day = 1 }`),
read by the accounts file itself, not here: http-json reads only where the reply gives one."""
TOKEN_FIELDS = ("url", "client_auth")
ID_PLACEHOLDER = "{id}"
"""In the url, the first part of a two-part key (`auth = { kind = "basic" }`): Twilio's Account SID."""

MAX_URL_CHARS = 2048
MAX_NAME_CHARS = 64
"""A display name, a header name or a query parameter name."""
MAX_PREFIX_CHARS = 32
MAX_PATH_CHARS = 256
MAX_PATH_SEGMENTS = 10
MAX_BODY_BYTES = 4096
MAX_RATE_REQUESTS = 1_000_000
MAX_RATE_SECONDS = 31 * 24 * 3600
MAX_POOLS = 10
MAX_POOL_NAME_CHARS = 40
MAX_AUTH_VALUES = 20
SHOWN_VALUE_CHARS = 40

HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an RFC 9110 token
QUERY_NAME = re.compile(r"[A-Za-z0-9_.~-]+")
URL_CHARS = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no space
PREFIX_CHARS = re.compile(r"[\x20-\x7e]*")
CURRENCY = re.compile(r"[A-Z]{3}")
RESERVED_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "content-type",
        "transfer-encoding",
        "connection",
        "user-agent",
        "accept",
        "accept-encoding",
    }
)
"""Set by the monitor or by HTTP itself: an auth header must not fight them."""


@dataclass(frozen=True)
class Auth:
    kind: str
    name: str = ""
    prefix: str = ""


Path = tuple[str, ...]


@dataclass(frozen=True)
class Amount:
    """Where the balance is: a path, a limit less what is used, or a reply header."""

    path: Path = ()
    limit: Path = ()
    used: Path = ()
    header: str = ""

    def describe(self) -> str:
        if self.header:
            return f"header `{self.header}`"
        if self.limit:
            return f"`{dotted(self.limit)}` - `{dotted(self.used)}`"
        return f"`{dotted(self.path)}`"


@dataclass(frozen=True)
class PoolPath:
    name: str
    path: Path
    renews: bool = False


@dataclass(frozen=True)
class ErrorPath:
    """A 200 reply that says it failed: MillionVerifier's {"error": "apikey_not_found"}."""

    path: Path
    ok: object = None
    """The value that means success (Snov.io's `success` true): any other value there is an error.
    None: any value but null, false, 0 or "" is an error. Absent, the path is never one."""
    message: Path = ()
    auth: frozenset[str] = frozenset()
    """Values of `path` (or of `message`) that mean the key was refused: an auth failure."""

    def check(self, payload: dict[str, object]) -> None:
        try:
            value: object = find(payload, self.path)
            present = True
        except CheckError:
            value, present = None, False
        if not present:
            return
        if self.ok is not None:
            if type(value) is type(self.ok) and value == self.ok:
                return
        elif value is None or value is False or value == "" or value == 0:
            return
        said = value if isinstance(value, str) else None
        if self.message:
            try:
                text = find(payload, self.message)
            except CheckError:
                text = None
            if isinstance(text, str) and text.strip():
                said = text
        shown = excerpt(said) if said else json.dumps(value)[:SHOWN_VALUE_CHARS]
        where = f"the reply's '{dotted(self.path)}'"
        refused = (isinstance(value, str) and value in self.auth) or (said is not None and said in self.auth)
        if refused:
            raise CheckError(FailureKind.AUTH, f"key rejected: {where} says {shown}")
        raise CheckError(FailureKind.BAD_RESPONSE, f"the vendor reports an error: {where} says {shown}")


@dataclass(frozen=True)
class RenewalPath:
    date_path: Path = ()
    days_path: Path = ()


@dataclass(frozen=True)
class Reading:
    """How a 200 reply becomes a Balance. Shared by http-json and the catalogue's table."""

    amount: Amount | None
    pools: tuple[PoolPath, ...] = ()
    numeric_string: bool = False
    quota: Path = ()
    """The period's allowance (SendGrid's `total`); with a limit less what is used, the limit."""
    error: ErrorPath | None = None
    renewal: RenewalPath = RenewalPath()
    currency: str | None = None
    currency_path: Path = ()

    def parse(self, payload: dict[str, object], context: ReplyContext) -> Balance:
        if self.error is not None:
            self.error.check(payload)
        pools = tuple(Pool(pool.name, self._number(payload, pool.path), pool.renews) for pool in self.pools)
        quota = None
        amount = self.amount
        if amount is None:
            credits = math.fsum(pool.credits for pool in pools)
        elif amount.header:
            value = context.headers.get(amount.header.lower())
            if value is None:
                raise CheckError(FailureKind.BAD_RESPONSE, f"response has no '{amount.header}' header")
            credits = number(value.strip(), f"header '{amount.header}'", numeric_string=True)
        elif amount.limit:
            quota = self._number(payload, amount.limit)
            credits = quota - self._number(payload, amount.used)
        else:
            credits = self._number(payload, amount.path)
        if self.quota:
            quota = self._number(payload, self.quota)
        renews_at = None
        if self.renewal.date_path:
            path = self.renewal.date_path
            renews_at = renewal_date(find(payload, path), f"'{dotted(path)}'")
        elif self.renewal.days_path:
            path = self.renewal.days_path
            renews_at = renewal_in_days(
                find(payload, path), f"'{dotted(path)}'", context.now, numeric_string=self.numeric_string
            )
        currency = self.currency
        if self.currency_path:
            currency = currency_code(find(payload, self.currency_path), f"'{dotted(self.currency_path)}'")
        return Balance(credits=credits, pools=pools, quota=quota, renews_at=renews_at, currency=currency)

    def _number(self, payload: dict[str, object], path: Path) -> float:
        return number_at(payload, path, numeric_string=self.numeric_string)

    def describe(self) -> str:
        """The balance column of the docs' vendor table."""
        if self.amount is not None:
            text = self.amount.describe()
            if self.pools:
                text += " (" + " + ".join(f"`{dotted(pool.path)}`" for pool in self.pools) + ")"
        else:
            text = " + ".join(f"`{dotted(pool.path)}`" for pool in self.pools)
        if self.numeric_string:
            text += ", numeric strings"
        if self.currency:
            text += f", in {self.currency}"
        elif self.currency_path:
            text += f", currency `{dotted(self.currency_path)}`"
        if self.renewal.date_path:
            text += f"; renews `{dotted(self.renewal.date_path)}`"
        elif self.renewal.days_path:
            text += f"; renews in `{dotted(self.renewal.days_path)}` days"
        if self.error is not None:
            text += f"; errors in `{dotted(self.error.path)}`"
        return text


@dataclass(frozen=True)
class HttpJson:
    """A validated entry: what `build_request` sends and how `parse_reply` reads the reply."""

    method: str
    body: bytes | None
    auth: Auth
    reading: Reading
    token_url: str = ""
    token_client_auth: str = "body"  # noqa: S105 - how the client authenticates, not a secret

    @property
    def two_part_key(self) -> bool:
        return self.auth.kind == "basic" or bool(self.token_url)

    def build_request(self, api_url: str, api_key: str) -> Request:
        """`api_key` is the secret entry's value, or the access token when there is a token exchange."""
        headers: dict[str, str] = {}
        url = api_url
        kind = self.auth.kind
        if ID_PLACEHOLDER in url:
            url = url.replace(ID_PLACEHOLDER, quote(api_key.partition(":")[0], safe=""))
        if kind == "bearer":
            headers["Authorization"] = f"Bearer {api_key}"
        elif kind == "basic":
            headers["Authorization"] = _basic(api_key)
        elif kind == "basic-password":
            headers["Authorization"] = _basic(f":{api_key}")
        elif kind == "basic-user":
            headers["Authorization"] = _basic(f"{api_key}:")
        elif kind == "header":
            headers[self.auth.name] = self.auth.prefix + api_key
        else:
            url = with_query_key(url, self.auth.name, api_key)
        if self.body is not None:
            headers["Content-Type"] = "application/json"
        return Request(self.method, url, headers, self.body)

    def parse_reply(self, payload: dict[str, object], context: ReplyContext) -> Balance:
        return self.reading.parse(payload, context)

    def parse_balance(self, payload: dict[str, object]) -> Balance:
        return self.reading.parse(payload, ReplyContext())


def from_entry(entry: Mapping[str, object]) -> tuple[Provider, str]:
    """The provider an accounts-file entry declares, and the account's api_url (its whole `url`).

    Raises ValueError("<field>: <what is wrong>"), or Invalid with one such line per field at fault.
    """
    spec, url, display_name, top_up_url, rate_limit = validated(entry)
    host = url.hostname or ""
    provider = Provider(
        name=NAME,
        display_name=display_name or host,
        default_api_url=url.geturl(),
        top_up_url=top_up_url,
        build_request=spec.build_request,
        parse_balance=spec.parse_balance,
        retry=RetryPolicy(),
        rate_limit=rate_limit,
        vendor_id=vendor_id(display_name or "", host),
        parse_reply=spec.parse_reply,
        two_part_key=spec.two_part_key,
        token=oauth.exchange(spec.token_url, spec.token_client_auth) if spec.token_url else None,
        currency=spec.reading.currency,
        currency_from_reply=bool(spec.reading.currency_path),
    )
    return provider, url.geturl()


def vendor_id(display_name: str, host: str) -> str:
    """An http-json API's vendor id: its declared display name as a slug ("Alpha Credits":
    "alpha-credits", accents dropped), else its URL's host. Accounts that declare one name are one
    vendor; two APIs on one host (a gateway) are two when their names differ."""
    ascii_name = unicodedata.normalize("NFKD", display_name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-") or host


def validated(
    entry: Mapping[str, object],
) -> tuple[HttpJson, SplitResult, str, str | None, RateLimit | None]:
    """Every field checked, every problem collected; the spec, the url, the display name, the top-up
    url and the rate limit when all are right."""
    problems = Problems()
    for name in sorted(str(name) for name in entry if name not in FIELDS):
        problems.found.append(f"{name}: unknown field (http-json takes {', '.join(FIELDS)})")
    url = problems.check(lambda: _https_url("url", _required(entry, "url")))
    method = problems.check(lambda: _method(entry.get("method", "GET")))
    body = None if method is None else problems.check(lambda: _body(entry.get("body"), method))
    token = entry.get("token")
    token_spec = None if token is None else problems.check(lambda: _token(token))
    auth = problems.check(
        lambda: _auth(_required(entry, "auth"), url or urlsplit("https://host/"), token is not None)
    )
    if url is not None and ID_PLACEHOLDER in url.geturl() and (auth is None or auth.kind != "basic"):
        problems.found.append(
            'url: {id} stands for the first part of a two-part key: only with auth = { kind = "basic" }'
        )
    numeric_string = problems.check(lambda: _bool("numeric_string", entry.get("numeric_string", False)))
    amount = problems.check(lambda: _amount(entry))
    pools = problems.check(lambda: _pools(entry.get("pools")))
    if "balance" not in entry and "balance_header" not in entry and "pools" not in entry:
        problems.found.append("balance: required (or balance_header, or pools)")
    quota = entry.get("quota")
    quota_path = () if quota is None else problems.check(lambda: _path(quota, "quota"))
    error = None if entry.get("error") is None else problems.check(lambda: _error(entry["error"]))
    renewal = problems.check(lambda: _renewal(entry.get("renewal")))
    currency = problems.check(lambda: _currency(entry.get("currency"), entry.get("currency_path")))
    display_name = problems.check(lambda: _display_name(entry.get("display_name"), default=""))
    top_up = entry.get("top_up_url")
    top_up_url = None if top_up is None else problems.check(lambda: _https_url("top_up_url", top_up).geturl())
    limit = entry.get("rate_limit")
    rate_limit = None if limit is None else problems.check(lambda: _rate_limit(limit))
    problems.raise_any()
    assert url is not None  # every check passed: each value is there
    assert method is not None
    assert auth is not None
    assert numeric_string is not None
    assert pools is not None
    assert renewal is not None
    assert currency is not None
    assert display_name is not None
    fixed, currency_path = currency
    reading = Reading(
        amount=amount,
        pools=pools,
        numeric_string=numeric_string,
        quota=quota_path or (),
        error=error,
        renewal=renewal,
        currency=fixed,
        currency_path=currency_path,
    )
    token_url, client_auth = token_spec if token_spec is not None else ("", "body")
    spec = HttpJson(
        method=method,
        body=body,
        auth=auth,
        reading=reading,
        token_url=token_url,
        token_client_auth=client_auth,
    )
    return spec, url, display_name, top_up_url, rate_limit


def _basic(credentials: str) -> str:
    return "Basic " + base64.b64encode(credentials.encode()).decode("ascii")


# --- validation: each raises ValueError starting with the field's name ----------------------------


def _required(table: Mapping[str, object], name: str, prefix: str = "") -> object:
    if name not in table or table[name] is None:
        raise ValueError(f"{prefix}{name}: required")
    return table[name]


def type_name(value: object) -> str:
    """TOML's names: what a person wrote in the accounts file."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "table"
    return type(value).__name__


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= SHOWN_VALUE_CHARS else text[: SHOWN_VALUE_CHARS - 1] + "…"


def _string(field: str, value: object, max_chars: int) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{field}: must be a string (got {type_name(value)})")
    if not value.strip():
        raise ValueError(f"{field}: must not be empty")
    if len(value) > max_chars:
        raise ValueError(f"{field}: longer than {max_chars:,} characters")
    return value


def _https_url(field: str, value: object) -> SplitResult:
    """https, a host, no credentials, no fragment; a query string is allowed. The URL is never
    shown in the message: someone may have pasted a key into it."""
    text = _string(field, value, MAX_URL_CHARS)
    if not URL_CHARS.fullmatch(text):
        raise ValueError(f"{field}: must be printable ASCII without spaces (percent-encode the rest)")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number from 0 to 65535
    except ValueError:
        raise ValueError(f"{field}: is not a valid URL") from None
    if parts.scheme.lower() != "https":
        scheme = f"{parts.scheme}://" if parts.scheme else "no scheme"
        raise ValueError(f"{field}: must be https:// (got {_shown(scheme)}), so no key is sent in clear")
    if "@" in parts.netloc:
        raise ValueError(f"{field}: must not contain credentials (user:password@); keys go in the secret")
    if not parts.hostname:
        raise ValueError(f"{field}: has no host")
    if "#" in text:
        raise ValueError(f"{field}: must not have a fragment (#...)")
    return parts


def _method(value: object) -> str:
    if not isinstance(value, str) or value.upper() not in ("GET", "POST"):
        got = _shown(value) if isinstance(value, str) else type_name(value)
        raise ValueError(f"method: must be GET or POST (got {got})")
    return value.upper()


def _body(value: object, method: str) -> bytes | None:
    if value is None:
        return None
    if method != "POST":
        raise ValueError('body: only with method = "POST"')
    if not isinstance(value, Mapping):
        raise ValueError(f"body: must be a table, sent as a JSON object (got {type_name(value)})")
    try:
        data = json.dumps(value, allow_nan=False, separators=(",", ":")).encode()
    except (TypeError, ValueError):
        raise ValueError(
            "body: must hold only strings, finite numbers, booleans, arrays and tables (no dates)"
        ) from None
    except RecursionError:
        raise ValueError("body: nested too deeply") from None
    if len(data) > MAX_BODY_BYTES:
        raise ValueError(f"body: larger than {MAX_BODY_BYTES:,} bytes as JSON")
    return data


def _auth(value: object, url: SplitResult, token: bool = False) -> Auth:
    if not isinstance(value, Mapping):
        raise ValueError(f'auth: must be a table such as {{ kind = "bearer" }} (got {type_name(value)})')
    unknown = sorted(str(name) for name in value if name not in AUTH_FIELDS)
    if unknown:
        raise ValueError(f"auth.{unknown[0]}: unknown field (auth takes {', '.join(AUTH_FIELDS)})")
    kind = value.get("kind")
    if kind is None:
        raise ValueError(f"auth.kind: required, one of {', '.join(AUTH_KINDS)}")
    if not isinstance(kind, str) or kind not in AUTH_KINDS:
        got = _shown(kind) if isinstance(kind, str) else type_name(kind)
        raise ValueError(f"auth.kind: must be one of {', '.join(AUTH_KINDS)} (got {got})")
    if token and kind.startswith("basic"):
        raise ValueError(
            f"auth.kind: with a token exchange the access token is sent as the key: bearer, header or"
            f" query (got {kind})"
        )
    name, prefix = value.get("name"), value.get("prefix")
    if kind not in ("header", "query") and name is not None:
        raise ValueError(f"auth.name: only for kind header or query (kind is {kind})")
    if kind != "header" and prefix is not None:
        raise ValueError(f"auth.prefix: only for kind header (kind is {kind})")
    if kind == "header":
        return Auth(kind, _header_name(_required(value, "name", "auth.")), _prefix(prefix))
    if kind == "query":
        return Auth(kind, _query_name(_required(value, "name", "auth."), url))
    return Auth(kind)


def _header_name(value: object) -> str:
    name = _string("auth.name", value, MAX_NAME_CHARS)
    if not HEADER_NAME.fullmatch(name):
        raise ValueError("auth.name: must be an HTTP header name (letters, digits and !#$%&'*+.^_`|~-)")
    if name.lower() in RESERVED_HEADERS:
        raise ValueError(f"auth.name: {name} is set by the monitor or by HTTP itself, not by auth")
    return name


def _prefix(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"auth.prefix: must be a string (got {type_name(value)})")
    if len(value) > MAX_PREFIX_CHARS or not PREFIX_CHARS.fullmatch(value):
        raise ValueError(f"auth.prefix: must be at most {MAX_PREFIX_CHARS} printable ASCII characters")
    return value


def _query_name(value: object, url: SplitResult) -> str:
    name = _string("auth.name", value, MAX_NAME_CHARS)
    if not QUERY_NAME.fullmatch(name):
        raise ValueError("auth.name: must be a query parameter name (letters, digits and _.~-)")
    if name in (existing for existing, _ in parse_qsl(url.query, keep_blank_values=True)):
        raise ValueError(f"auth.name: {name} is already in the url's query string; the key goes there alone")
    return name


def _path(value: object, field: str = "balance") -> Path:
    text = _string(field, value, MAX_PATH_CHARS)
    if not text.isprintable() or text != text.strip():
        raise ValueError(f"{field}: must be printable, without surrounding spaces")
    segments = tuple(text.split("."))
    if "" in segments:
        raise ValueError(f"{field}: has an empty segment (a leading, trailing or doubled dot)")
    if len(segments) > MAX_PATH_SEGMENTS:
        raise ValueError(f"{field}: at most {MAX_PATH_SEGMENTS} segments deep (got {len(segments)})")
    return segments


def _table(field: str, value: object, fields: tuple[str, ...], example: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{field}: must be a table such as {example} (got {type_name(value)})")
    unknown = sorted(str(name) for name in value if name not in fields)
    if unknown:
        raise ValueError(f"{field}.{unknown[0]}: unknown field ({field} takes {', '.join(fields)})")
    return value


def _amount(entry: Mapping[str, object]) -> Amount | None:
    """`balance` (a path, or a limit less what is used) or `balance_header`; None: the pools' sum."""
    balance, header = entry.get("balance"), entry.get("balance_header")
    if balance is not None and header is not None:
        raise ValueError("balance_header: the balance is read from the body (balance) or a header, not both")
    if header is not None:
        return Amount(header=_reply_header_name(header))
    if balance is None:
        return None
    if isinstance(balance, Mapping):
        table = _table("balance", balance, LIMIT_FIELDS, '{ limit = "max", used = "used" }')
        limit = _path(_required(table, "limit", "balance."), "balance.limit")
        used = _path(_required(table, "used", "balance."), "balance.used")
        return Amount(limit=limit, used=used)
    if not isinstance(balance, str):
        raise ValueError(
            'balance: must be a dotted path such as "data.credits", or a table such as'
            f' {{ limit = "max", used = "used" }} (got {type_name(balance)})'
        )
    return Amount(path=_path(balance))


def _reply_header_name(value: object) -> str:
    name = _string("balance_header", value, MAX_NAME_CHARS)
    if not HEADER_NAME.fullmatch(name):
        raise ValueError("balance_header: must be an HTTP header name (letters, digits and !#$%&'*+.^_`|~-)")
    return name


def _pools(value: object) -> tuple[PoolPath, ...]:
    """`pools = { plan = "plan_searches_left", extra = { path = "extra_credits", renews = false } }`."""
    if value is None:
        return ()
    if not isinstance(value, Mapping) or not value:
        raise ValueError(
            f'pools: must be a table of named paths such as {{ plan = "plan_left" }} (got {type_name(value)})'
        )
    if len(value) > MAX_POOLS:
        raise ValueError(f"pools: at most {MAX_POOLS} (got {len(value)})")
    pools = []
    for name, spec in value.items():
        field = f"pools.{name}"
        if not isinstance(name, str) or not name.isprintable() or not 0 < len(name) <= MAX_POOL_NAME_CHARS:
            raise ValueError(
                f"pools: a pool's name must be printable, at most {MAX_POOL_NAME_CHARS} characters"
            )
        if isinstance(spec, Mapping):
            table = _table(field, spec, POOL_FIELDS, '{ path = "data.left", renews = true }')
            path = _path(_required(table, "path", f"{field}."), f"{field}.path")
            renews = _bool(f"{field}.renews", table.get("renews", False))
            pools.append(PoolPath(name, path, renews))
        else:
            pools.append(PoolPath(name, _path(spec, field)))
    return tuple(pools)


def _error(value: object) -> ErrorPath:
    """`error = "error"`, or `error = { path = "success", ok = true, message = "message", auth = [...] }`."""
    if isinstance(value, str):
        return ErrorPath(_path(value, "error"))
    table = _table("error", value, ERROR_FIELDS, '{ path = "error", auth = ["apikey_not_found"] }')
    path = _path(_required(table, "path", "error."), "error.path")
    ok = table.get("ok")
    if ok is not None and not isinstance(ok, bool | int | str):
        raise ValueError(f"error.ok: must be a boolean, an integer or a string (got {type_name(ok)})")
    message = table.get("message")
    refused = table.get("auth", [])
    if not isinstance(refused, list) or not all(isinstance(item, str) and item for item in refused):
        raise ValueError("error.auth: must be an array of strings, the values that mean a refused key")
    if len(refused) > MAX_AUTH_VALUES or any(len(item) > MAX_NAME_CHARS for item in refused):
        raise ValueError(
            f"error.auth: at most {MAX_AUTH_VALUES} values of at most {MAX_NAME_CHARS} characters"
        )
    return ErrorPath(
        path=path,
        ok=ok,
        message=() if message is None else _path(message, "error.message"),
        auth=frozenset(refused),
    )


def _renewal(value: object) -> RenewalPath:
    """`renewal = { date_path = "response.next_quota_renewal_date" }` or `{ days_path = ... }`; a
    declared renewal (every = ...) is the accounts file's, whatever the provider."""
    if value is None:
        return RenewalPath()
    known = (*RENEWAL_FIELDS, *DECLARED_RENEWAL_FIELDS)
    table = _table("renewal", value, known, '{ date_path = "data.reset_date" }')
    read = [name for name in RENEWAL_FIELDS if name in table]
    if not read:
        return RenewalPath()
    if len(read) > 1:
        raise ValueError("renewal: date_path or days_path, not both")
    declared = [name for name in DECLARED_RENEWAL_FIELDS if name in table]
    if declared:
        raise ValueError(
            f"renewal.{declared[0]}: a renewal is read from the reply ({read[0]}) or declared (every),"
            " not both"
        )
    path = _path(table[read[0]], f"renewal.{read[0]}")
    return RenewalPath(date_path=path) if read[0] == "date_path" else RenewalPath(days_path=path)


def _currency(fixed: object, path: object) -> tuple[str | None, Path]:
    if fixed is not None and path is not None:
        raise ValueError("currency: a fixed currency or currency_path, not both")
    if path is not None:
        return None, _path(path, "currency_path")
    if fixed is None:
        return None, ()
    if not isinstance(fixed, str) or not CURRENCY.fullmatch(fixed):
        got = _shown(fixed) if isinstance(fixed, str) else type_name(fixed)
        raise ValueError(f'currency: must be an ISO 4217 code in capitals such as "USD" (got {got})')
    return fixed, ()


def _token(value: object) -> tuple[str, str]:
    """`token = { url = "https://api.snov.io/v1/oauth/access_token" }`, optional `client_auth`."""
    table = _table("token", value, TOKEN_FIELDS, '{ url = "https://api.example.com/oauth/token" }')
    url = _https_url("token.url", _required(table, "url", "token."))
    client_auth = table.get("client_auth", "body")
    if client_auth not in oauth.CLIENT_AUTHS:
        got = _shown(client_auth) if isinstance(client_auth, str) else type_name(client_auth)
        raise ValueError(f"token.client_auth: must be one of {', '.join(oauth.CLIENT_AUTHS)} (got {got})")
    assert isinstance(client_auth, str)
    return url.geturl(), client_auth


def _bool(field: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{field}: must be true or false (got {type_name(value)})")
    return value


def _rate_limit(value: object) -> RateLimit:
    if not isinstance(value, Mapping):
        example = "{ requests = 60, per_seconds = 60 }"
        raise ValueError(f"rate_limit: must be a table such as {example} (got {type_name(value)})")
    unknown = sorted(str(name) for name in value if name not in RATE_LIMIT_FIELDS)
    if unknown:
        raise ValueError(f"rate_limit.{unknown[0]}: unknown field (rate_limit takes requests, per_seconds)")
    requests = _required(value, "requests", "rate_limit.")
    if isinstance(requests, bool) or not isinstance(requests, int) or not 1 <= requests <= MAX_RATE_REQUESTS:
        got = _shown(requests) if isinstance(requests, int | float) else type_name(requests)
        raise ValueError(
            f"rate_limit.requests: must be a whole number from 1 to {MAX_RATE_REQUESTS:,} (got {got})"
        )
    seconds = _required(value, "per_seconds", "rate_limit.")
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not math.isfinite(seconds)
        or not 0 < seconds <= MAX_RATE_SECONDS
    ):
        got = _shown(seconds) if isinstance(seconds, int | float) else type_name(seconds)
        raise ValueError(
            f"rate_limit.per_seconds: must be a number of seconds above 0, at most {MAX_RATE_SECONDS:,} "
            f"(31 days) (got {got})"
        )
    return RateLimit(requests=requests, per_seconds=float(seconds))


def _display_name(value: object, default: str) -> str:
    if value is None:
        return default
    name = _string("display_name", value, MAX_NAME_CHARS)
    if not name.isprintable():
        raise ValueError("display_name: must be printable (no line breaks or control characters)")
    return name
