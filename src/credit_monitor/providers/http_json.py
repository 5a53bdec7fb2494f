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
size, the rate limit's numbers.

Auth kinds: `bearer` (Authorization: Bearer <key>); `basic-password` (HTTP Basic, empty user, the
key as password, as lemlist does); `basic-user` (the key as user, empty password); `header` (the key
in header `name`, after an optional `prefix` such as "token "); `query` (the key as query
parameter `name`). A key in a query string is URL-encoded, and `query_auth` keeps it out of
urllib3's log lines; `keys.redact` keeps every form of it out of messages.
"""

from __future__ import annotations

import base64
import json
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import SplitResult, parse_qsl, urlsplit

from credit_monitor.model import Balance
from credit_monitor.problems import Problems
from credit_monitor.providers.base import Provider, RateLimit, Request, RetryPolicy
from credit_monitor.providers.fields import number_at
from credit_monitor.providers.query_auth import with_query_key

NAME = "http-json"
AUTH_KINDS = ("bearer", "basic-password", "basic-user", "header", "query")
FIELDS = (
    "url",
    "method",
    "body",
    "auth",
    "balance",
    "numeric_string",
    "rate_limit",
    "display_name",
    "top_up_url",
)
AUTH_FIELDS = ("kind", "name", "prefix")
RATE_LIMIT_FIELDS = ("requests", "per_seconds")

MAX_URL_CHARS = 2048
MAX_NAME_CHARS = 64
"""A display name, a header name or a query parameter name."""
MAX_PREFIX_CHARS = 32
MAX_PATH_CHARS = 256
MAX_PATH_SEGMENTS = 10
MAX_BODY_BYTES = 4096
MAX_RATE_REQUESTS = 1_000_000
MAX_RATE_SECONDS = 31 * 24 * 3600
SHOWN_VALUE_CHARS = 40

HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an RFC 9110 token
QUERY_NAME = re.compile(r"[A-Za-z0-9_.~-]+")
URL_CHARS = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no space
PREFIX_CHARS = re.compile(r"[\x20-\x7e]*")
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


@dataclass(frozen=True)
class HttpJson:
    """A validated entry: what `build_request` sends and where `parse_balance` looks."""

    method: str
    body: bytes | None
    auth: Auth
    balance: tuple[str, ...]
    numeric_string: bool

    def build_request(self, api_url: str, api_key: str) -> Request:
        headers: dict[str, str] = {}
        url = api_url
        kind = self.auth.kind
        if kind == "bearer":
            headers["Authorization"] = f"Bearer {api_key}"
        elif kind == "basic-password":
            headers["Authorization"] = _basic(f":{api_key}")
        elif kind == "basic-user":
            headers["Authorization"] = _basic(f"{api_key}:")
        elif kind == "header":
            headers[self.auth.name] = self.auth.prefix + api_key
        else:
            url = with_query_key(api_url, self.auth.name, api_key)
        if self.body is not None:
            headers["Content-Type"] = "application/json"
        return Request(self.method, url, headers, self.body)

    def parse_balance(self, payload: dict[str, object]) -> Balance:
        return Balance(credits=number_at(payload, self.balance, numeric_string=self.numeric_string))


def from_entry(entry: Mapping[str, object]) -> tuple[Provider, str]:
    """The provider an accounts-file entry declares, and the account's api_url (its whole `url`).

    Raises ValueError("<field>: <what is wrong>"), or Invalid with one such line per field at fault.
    """
    problems = Problems()
    for name in sorted(str(name) for name in entry if name not in FIELDS):
        problems.found.append(f"{name}: unknown field (http-json takes {', '.join(FIELDS)})")
    url = problems.check(lambda: _https_url("url", _required(entry, "url")))
    method = problems.check(lambda: _method(entry.get("method", "GET")))
    body = None if method is None else problems.check(lambda: _body(entry.get("body"), method))
    auth = problems.check(lambda: _auth(_required(entry, "auth"), url or urlsplit("https://host/")))
    balance = problems.check(lambda: _path(_required(entry, "balance")))
    numeric_string = problems.check(lambda: _bool("numeric_string", entry.get("numeric_string", False)))
    display_name = problems.check(lambda: _display_name(entry.get("display_name"), default=""))
    top_up = entry.get("top_up_url")
    top_up_url = None if top_up is None else problems.check(lambda: _https_url("top_up_url", top_up).geturl())
    limit = entry.get("rate_limit")
    rate_limit = None if limit is None else problems.check(lambda: _rate_limit(limit))
    problems.raise_any()
    assert url is not None  # every check passed: each value is there
    assert method is not None
    assert auth is not None
    assert balance is not None
    assert numeric_string is not None
    spec = HttpJson(method=method, body=body, auth=auth, balance=balance, numeric_string=numeric_string)
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
    )
    return provider, url.geturl()


def vendor_id(display_name: str, host: str) -> str:
    """An http-json API's vendor id: its declared display name as a slug ("Alpha Credits":
    "alpha-credits", accents dropped), else its URL's host. Accounts that declare one name are one
    vendor; two APIs on one host (a gateway) are two when their names differ."""
    ascii_name = unicodedata.normalize("NFKD", display_name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-") or host


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


def _auth(value: object, url: SplitResult) -> Auth:
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


def _path(value: object) -> tuple[str, ...]:
    text = _string("balance", value, MAX_PATH_CHARS)
    if not text.isprintable() or text != text.strip():
        raise ValueError("balance: must be printable, without surrounding spaces")
    segments = tuple(text.split("."))
    if "" in segments:
        raise ValueError("balance: has an empty segment (a leading, trailing or doubled dot)")
    if len(segments) > MAX_PATH_SEGMENTS:
        raise ValueError(f"balance: at most {MAX_PATH_SEGMENTS} segments deep (got {len(segments)})")
    return segments


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
