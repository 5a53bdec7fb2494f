"""One loopback HTTPS simulator for every catalogue vendor and for http-json's auth kinds.

Test code only. A `Vendor` says where the vendor's balance endpoint is, where it expects the key
(a header with an optional prefix, a query parameter, Bearer, HTTP Basic either way round), the
body it sends for a balance, and its documented replies to a bad key, a missing key and a
throttled request, from the sources each `credit_monitor.providers` module cites. Replies the
docs do not show are marked "assumed" below.

Scripted replies reuse `simulators.Reply` ("respond", "drop" and "hang" are honoured). In a
reply's body "{request_target}" becomes the request's path and query as received,
"{request_target_decoded}" the same URL-decoded, and "{key}" the key presented: a server that
echoes what it was sent, for the leak tests.
"""

from __future__ import annotations

import base64
import json
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

import trustme

from credit_monitor.adapters.http import HttpClient, build_pool_manager
from credit_monitor.checks import run_checks
from credit_monitor.config import Account, CheckSettings
from credit_monitor.model import CheckResult
from tests.support.simulators import HANG_LIMIT_SECONDS, Reply, TlsServer

KeyKind = Literal["bearer", "basic-password", "basic-user", "header", "query"]
MAX_REQUEST_BODY = 64 * 1024
JSON = {"Content-Type": "application/json"}
TEXT = {"Content-Type": "text/plain; charset=utf-8"}


@dataclass(frozen=True)
class KeyPlace:
    """Where a vendor reads the key from; `read` gives None when no key was presented at all."""

    kind: KeyKind
    name: str = ""
    prefix: str = ""

    def read(self, headers: Mapping[str, str], target: str) -> str | None:
        if self.kind == "query":
            values = parse_qs(urlsplit(target).query, keep_blank_values=True).get(self.name)
            return values[0] if values else None
        if self.kind == "header":
            value = headers.get(self.name.lower())
            if value is None:
                return None
            return value[len(self.prefix) :] if value.startswith(self.prefix) else ""
        authorization = headers.get("authorization")
        if authorization is None:
            return None
        scheme, _, credentials = authorization.partition(" ")
        if self.kind == "bearer":
            return credentials if scheme.lower() == "bearer" else ""
        if scheme.lower() != "basic":
            return ""
        try:
            user, _, password = base64.b64decode(credentials, validate=True).decode().partition(":")
        except ValueError:
            return ""
        if self.kind == "basic-password":
            return password if not user else ""
        return user if not password else ""


@dataclass(frozen=True)
class Vendor:
    name: str
    base_path: str
    """What the provider's api_url ends with (the simulator's base_url)."""
    path: str
    """The balance endpoint's path, without the query string."""
    key: KeyPlace
    success: Callable[[float], object]
    """The body of a 200 for a balance."""
    bad_key: Reply
    missing_key: Reply
    throttled: Reply | None = None
    method: str = "GET"


@dataclass(frozen=True)
class VendorRequest:
    method: str
    target: str
    """Path and query string, as received (URL-encoded)."""
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)
    """When it arrived: rate-limit tests count requests per window."""

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.target).query, keep_blank_values=True)


class VendorSimulator:
    def __init__(self, vendor: Vendor, cert: trustme.LeafCert, api_key: str, balance: float = 5000) -> None:
        self.vendor = vendor
        self.valid_keys = {api_key}
        self.balance: float = balance
        self.script: deque[Reply] = deque()
        self.requests: list[VendorRequest] = []
        self.tls_failures = 0
        self._stop = threading.Event()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert.configure_cert(context)
        self._server = TlsServer(("127.0.0.1", 0), _handler_for(self), context, self)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    @property
    def base_url(self) -> str:
        return self.origin + self.vendor.base_path

    @property
    def url(self) -> str:
        """The balance endpoint's full URL, as an http-json entry's `url`."""
        return self.origin + self.vendor.path

    def then(self, *replies: Reply) -> VendorSimulator:
        self.script.extend(replies)
        return self

    def start(self) -> VendorSimulator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> VendorSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def answer(self, request: VendorRequest) -> Reply:
        if self.script:
            return self.script.popleft()
        if urlsplit(request.target).path != self.vendor.path:
            return Reply(404, {"message": "Not found"})
        if request.method != self.vendor.method:
            return Reply(405, {"message": "Method not allowed"})
        key = self.vendor.key.read(request.headers, request.target)
        if key is None:
            return self.vendor.missing_key
        if key not in self.valid_keys:
            return self.vendor.bad_key
        return Reply(200, self.vendor.success(self.balance))


def _handler_for(simulator: VendorSimulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # as a real API: headers then body, no 40 ms delayed-ACK wait

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def _handle(self, method: str) -> None:
            headers = {name.lower(): value for name, value in self.headers.items()}
            length = min(int(headers.get("content-length", "0") or "0"), MAX_REQUEST_BODY)
            request = VendorRequest(method, self.path, headers, self.rfile.read(length) if length else b"")
            simulator.requests.append(request)
            reply = simulator.answer(request)
            if reply.action == "drop":
                self.close_connection = True
                return
            if reply.action == "hang":
                simulator._stop.wait(HANG_LIMIT_SECONDS)
                self.close_connection = True
                return
            data = _encode(reply.body, request, simulator.vendor.key)
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.headers.get("Content-Type", "application/json"))
            self.send_header("Content-Length", str(len(data)))
            for name, value in reply.headers.items():
                if name != "Content-Type":
                    self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Silence the default stderr access log."""

    return Handler


def _encode(body: object, request: VendorRequest, key: KeyPlace) -> bytes:
    text = body if isinstance(body, str) else json.dumps(body if body is not None else {})
    presented = key.read(request.headers, request.target) or ""
    text = (
        text.replace("{request_target_decoded}", unquote(request.target))
        .replace("{request_target}", request.target)
        .replace("{key}", presented)
    )
    return text.encode()


# --- the catalogue, as each vendor documents it ---------------------------------------------------

ZEROBOUNCE = Vendor(
    name="zerobounce",
    base_path="/v2",
    path="/v2/getcredits",
    key=KeyPlace("query", "api_key"),
    success=lambda balance: {"Credits": str(int(balance))},  # a string, as the Go SDK decodes it
    bad_key=Reply(200, {"Credits": "-1"}),
    missing_key=Reply(400, {"error": "Missing parameter: api_key."}),
    throttled=Reply(429, "Too Many Requests", TEXT),  # the status is documented, the body assumed
)

NEVERBOUNCE = Vendor(
    name="neverbounce",
    base_path="/v4.2",
    path="/v4.2/account/info",
    key=KeyPlace("query", "key"),
    success=lambda balance: {
        "status": "success",
        "credits_info": {
            "paid_credits_used": 0,
            "free_credits_used": 0,
            "paid_credits_remaining": int(balance) - 50,
            "free_credits_remaining": 50,
        },
        "job_counts": {"completed": 409, "under_review": 0, "queued": 0, "processing": 0},
        "execution_time": 896,
    },
    bad_key=Reply(
        200, {"status": "auth_failure", "message": "Invalid API key", "execution_time": 4}
    ),  # msg assumed
    missing_key=Reply(
        200, {"status": "general_failure", "message": "Missing required parameter 'key'", "execution_time": 5}
    ),
    throttled=Reply(
        200,
        {
            "status": "throttle_triggered",
            "message": "The request was rejected due to rate limiting; try again shortly",
            "execution_time": 2,
        },
    ),
)
NEVERBOUNCE_MONTHLY = {
    "status": "success",
    "billing_type": "monthly",
    "credits_info": {"monthly_api_usage": "1234"},
    "execution_time": 300,
}


def _hunter_usage(balance: float) -> object:
    return {
        "data": {
            "reset_date": "2026-07-01",
            "requests": {
                "credits": {"used": 120.5, "available": 500, "remaining": balance},
                "searches": {"used": 10, "available": 500, "remaining": 490},
                "verifications": {"used": 0, "available": 500, "remaining": 500},
            },
        },
        "meta": {"params": {"show_overage_requests": False}},
    }


def _hunter_error(status: int, error_id: str, details: str) -> Reply:
    return Reply(status, {"errors": [{"id": error_id, "code": status, "details": details}]})


HUNTER = Vendor(
    name="hunter",
    base_path="/v2",
    path="/v2/usage",
    key=KeyPlace("header", "X-API-KEY"),
    success=_hunter_usage,
    bad_key=_hunter_error(401, "authentication_failed", "No valid API key was provided."),
    missing_key=_hunter_error(401, "authentication_failed", "No valid API key was provided."),
    throttled=_hunter_error(403, "too_many_requests", "You have reached the rate limit."),
)
HUNTER_TWO_BUCKETS = {
    "data": {
        "reset_date": "2026-07-01",
        "requests": {
            "searches": {"used": 10, "available": 50},
            "verifications": {"used": 0, "available": 100},
        },
    },
    "meta": {},
}

LUSHA = Vendor(
    name="lusha",
    base_path="",
    path="/v3/account/usage",
    key=KeyPlace("header", "api_key"),
    success=lambda balance: {
        "credits": {"total": 10000, "used": 10000 - int(balance), "remaining": int(balance)},
        "rateLimits": {"daily": {"limit": 5000, "used": 120, "remaining": 4880}},
    },
    # {statusCode, message, errors} is documented; the message texts are assumed.
    bad_key=Reply(401, {"statusCode": 401, "message": "Invalid API key", "errors": []}),
    missing_key=Reply(401, {"statusCode": 401, "message": "Missing API key", "errors": []}),
    throttled=Reply(429, {"statusCode": 429, "message": "Too many requests", "errors": []}),
)

DROPCONTACT = Vendor(
    name="dropcontact",
    base_path="/v1",
    path="/v1/account/credits",
    key=KeyPlace("header", "X-Access-Token"),
    success=lambda balance: {"credits": int(balance)},
    bad_key=Reply(401, {"detail": "Missing or invalid API key"}),
    missing_key=Reply(401, {"detail": "Missing or invalid API key"}),
    throttled=Reply(429, {"detail": "Too Many Requests"}),  # the status is documented, the body assumed
)

BOUNCER = Vendor(
    name="bouncer",
    base_path="/v1.1",
    path="/v1.1/credits",
    key=KeyPlace("header", "x-api-key"),
    success=lambda balance: {"credits": balance},
    # The body is from a third-party copy of Bouncer's spec; the statuses are Bouncer's own.
    bad_key=Reply(401, {"status": 401, "error": "Unauthorized", "message": "user not found"}),
    missing_key=Reply(401, {"status": 401, "error": "Unauthorized", "message": "user not found"}),
    throttled=Reply(429, {"status": 429, "error": "Too Many Requests", "message": "Too Many Requests"}),
)

CLEAROUT = Vendor(
    name="clearout",
    base_path="/v2",
    path="/v2/email_verify/getcredits",
    key=KeyPlace("bearer"),
    success=lambda balance: {
        "status": "success",
        "data": {
            "available_credits": balance,
            "credits": {"available": balance, "subs": None, "total": balance},
            "low_credit_balance_min_threshold": 50,
        },
    },
    # Not documented for this endpoint: assumed 401s in Clearout's {status, error} envelope.
    bad_key=Reply(401, {"status": "failed", "error": {"code": 1000, "message": "Invalid API token"}}),
    missing_key=Reply(401, {"status": "failed", "error": {"code": 1000, "message": "Missing API token"}}),
)

CATALOGUE_VENDORS: dict[str, Vendor] = {
    vendor.name: vendor for vendor in (ZEROBOUNCE, NEVERBOUNCE, HUNTER, LUSHA, DROPCONTACT, BOUNCER, CLEAROUT)
}


# --- running one check over real sockets ------------------------------------------------------------


@dataclass
class StaticKeys:
    """A KeySource with fixed keys."""

    keys: dict[str, str] = field(default_factory=dict)

    def api_keys(self, *, refresh: bool = False) -> Mapping[str, str]:
        return self.keys

    def key_hint(self, account_id: str) -> str:
        return f"set {account_id!r} in the test"


def check_all(
    accounts: Sequence[Account], keys: Mapping[str, str], seconds: float = 5.0, run_number: int = 0
) -> list[CheckResult]:
    """`checks.run_checks` over a fresh pool (so SSL_CERT_FILE is read again), with these keys."""
    settings = CheckSettings(accounts=tuple(accounts), deadline_seconds=seconds)
    pool = HttpClient(build_pool_manager())
    return run_checks(settings, StaticKeys(dict(keys)), pool, time.monotonic() + seconds, run_number)


def run_check(account: Account, key: str | None, seconds: float = 5.0) -> CheckResult:
    """`checks.run_checks` for one account."""
    [result] = check_all([account], {account.id: key} if key is not None else {}, seconds)
    return result
