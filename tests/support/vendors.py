"""One loopback HTTPS simulator for every catalogue vendor and for http-json's auth kinds.

Test code only. A `Vendor` says where the vendor's balance endpoint is, where it expects the key
(a header with an optional prefix, a query parameter, Bearer, HTTP Basic either way round), the
body it sends for a balance, and its documented replies to a bad key, a missing key and a
throttled request, from the sources each `credit_monitor.providers` module cites. Replies the
docs do not show are marked "assumed" below.

Scripted replies reuse `simulators.Reply` ("respond", "drop" and "hang" are honoured). In a
reply's body "{request_target}" becomes the request's path and query as received,
"{request_target_decoded}" the same URL-decoded, "{key}" the key presented, "{token}" the last
access token issued and "{body}" the request's body as received: a server that echoes what it was
sent, for the leak tests.

A vendor with a token endpoint (`token_path`, Snov.io's OAuth client credentials) issues a fresh
random access token for the "<client id>:<client secret>" it knows, and its balance endpoint then
accepts only tokens it issued. A vendor may ask for an account's owner e-mail (`email`) in the
query or the body, as BetterContact and Icypeas do. "{id}" in a path is the first part of the
valid two-part key (Twilio's Account SID).
"""

from __future__ import annotations

import base64
import json
import secrets
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

KeyKind = Literal["bearer", "basic", "basic-password", "basic-user", "header", "query"]
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
            decoded = base64.b64decode(credentials, validate=True).decode()
        except ValueError:
            return ""
        if self.kind == "basic":
            return decoded
        user, _, password = decoded.partition(":")
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
    two_part: bool = False
    """The key is "<id>:<secret>"."""
    token_path: str | None = None
    """Where "<client id>:<client secret>" is exchanged for an access token (a form POST)."""
    token_refused: Reply | None = None
    """The token endpoint's reply to unknown client credentials."""
    email: Literal["query", "body"] | None = None
    """Where the vendor wants the account owner's e-mail."""
    no_email: Reply | None = None
    headers: Callable[[float], dict[str, str]] | None = None
    """Headers of a 200 for a balance (LeadMagic's X-Credits-Remaining)."""


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


OWNER_EMAIL = "ops@acme.example"
"""The account owner's e-mail every simulator that asks for one knows."""
TOKEN_LIFETIME_SECONDS = 3600


class VendorSimulator:
    def __init__(self, vendor: Vendor, cert: trustme.LeafCert, api_key: str, balance: float = 5000) -> None:
        self.vendor = vendor
        self.valid_keys = {api_key}
        self.balance: float = balance
        self.script: deque[Reply] = deque()
        self.token_script: deque[Reply] = deque()
        self.requests: list[VendorRequest] = []
        self.token_requests: list[VendorRequest] = []
        self.issued: list[str] = []
        """Access tokens issued, oldest first; `revoke` empties the valid ones."""
        self.valid_tokens: set[str] = set()
        self.token_lifetime: float = TOKEN_LIFETIME_SECONDS
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

    @property
    def token_url(self) -> str:
        assert self.vendor.token_path is not None
        return self.origin + self.vendor.token_path

    def revoke(self) -> None:
        """Every token issued so far stops working (the next balance request answers as to a bad key)."""
        self.valid_tokens.clear()

    def _path(self) -> str:
        if "{id}" not in self.vendor.path:
            return self.vendor.path
        [key] = self.valid_keys
        return self.vendor.path.replace("{id}", key.partition(":")[0])

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
        vendor = self.vendor
        if vendor.token_path is not None and urlsplit(request.target).path == vendor.token_path:
            self.token_requests.append(request)
            return self._token(request)
        self.requests.append(request)
        if self.script:
            return self.script.popleft()
        if urlsplit(request.target).path != self._path():
            return Reply(404, {"message": "Not found"})
        if request.method != vendor.method:
            return Reply(405, {"message": "Method not allowed"})
        key = vendor.key.read(request.headers, request.target)
        if key is None:
            return vendor.missing_key
        accepted = self.valid_tokens if vendor.token_path is not None else self.valid_keys
        if key not in accepted:
            return vendor.bad_key
        if vendor.email is not None and self._email(request) != OWNER_EMAIL:
            assert vendor.no_email is not None
            return vendor.no_email
        headers = vendor.headers(self.balance) if vendor.headers is not None else {}
        return Reply(200, vendor.success(self.balance), headers)

    def _email(self, request: VendorRequest) -> str | None:
        if self.vendor.email == "query":
            found = request.query.get("email")
            return found[0] if found else None
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return None
        email = body.get("email") if isinstance(body, dict) else None
        return email if isinstance(email, str) else None

    def _token(self, request: VendorRequest) -> Reply:
        """RFC 6749 4.4: a form POST of grant_type=client_credentials, the client in the form or Basic."""
        if self.token_script:
            return self.token_script.popleft()
        form = parse_qs(request.body.decode("utf-8", "replace"))
        basic = KeyPlace("basic").read(request.headers, request.target)
        pair = basic or f"{(form.get('client_id') or [''])[0]}:{(form.get('client_secret') or [''])[0]}"
        if request.method != "POST" or form.get("grant_type") != ["client_credentials"]:
            return Reply(400, {"error": "unsupported_grant_type"})
        if pair not in self.valid_keys:
            assert self.vendor.token_refused is not None
            return self.vendor.token_refused
        token = "at_" + secrets.token_urlsafe(24)
        self.issued.append(token)
        self.valid_tokens.add(token)
        return Reply(200, {"access_token": token, "token_type": "Bearer", "expires_in": self.token_lifetime})


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
            reply = simulator.answer(request)
            if reply.action == "drop":
                self.close_connection = True
                return
            if reply.action == "hang":
                simulator._stop.wait(HANG_LIMIT_SECONDS)
                self.close_connection = True
                return
            data = _encode(reply.body, request, simulator.vendor.key, simulator.issued[-1:])
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


def _encode(body: object, request: VendorRequest, key: KeyPlace, issued: list[str]) -> bytes:
    text = body if isinstance(body, str) else json.dumps(body if body is not None else {})
    presented = key.read(request.headers, request.target) or ""
    text = (
        text.replace("{request_target_decoded}", unquote(request.target))
        .replace("{request_target}", request.target)
        .replace("{key}", presented)
        .replace("{token}", issued[0] if issued else "")
        .replace("{body}", request.body.decode("utf-8", "replace"))
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

SNOVIO = Vendor(
    name="snovio",
    base_path="",
    path="/v1/get-balance",
    key=KeyPlace("bearer"),
    two_part=True,
    token_path="/v1/oauth/access_token",
    # The reply as several clients quote it: the balance a string, the reset in days.
    success=lambda balance: {
        "success": True,
        "data": {
            "balance": f"{balance:.2f}",
            "teamwork": False,
            "unique_recipients_used": 0,
            "limit_resets_in": 29,
            "expires_in": 359,
        },
    },
    # Not documented: an OAuth-style refusal of the client, and a 401 for an unknown token.
    token_refused=Reply(
        401, {"error": "invalid_client", "error_description": "Client authentication failed"}
    ),
    bad_key=Reply(401, {"success": False, "message": "Invalid access token"}),
    missing_key=Reply(401, {"success": False, "message": "Access token is missing"}),
    throttled=Reply(429, {"success": False, "message": "Too many requests"}),  # the status assumed
)

PROSPEO = Vendor(
    name="prospeo",
    base_path="",
    path="/account-information",
    method="POST",
    key=KeyPlace("header", "X-KEY"),
    success=lambda balance: {
        "error": False,
        "response": {
            "current_plan": "STARTER",
            "remaining_credits": int(balance),
            "used_credits": 1,
            "next_quota_renewal_days": 25,
            "next_quota_renewal_date": "2026-06-18 20:52:28+00:00",
        },
    },
    bad_key=Reply(401, {"error": True, "error_code": "INVALID_API_KEY", "message": "INVALID_API_KEY"}),
    missing_key=Reply(401, {"error": True, "error_code": "INVALID_API_KEY", "message": "INVALID_API_KEY"}),
    throttled=Reply(429, {"error": True, "error_code": "RATE_LIMITED", "message": "RATE_LIMITED"}),
)

FINDYMAIL = Vendor(
    name="findymail",
    base_path="",
    path="/api/credits",
    key=KeyPlace("bearer"),
    success=lambda balance: {"credits": int(balance), "verifier_credits": 900},
    # The docs are made by Laravel Scribe: Laravel's default 401 body, assumed.
    bad_key=Reply(401, {"message": "Unauthenticated."}),
    missing_key=Reply(401, {"message": "Unauthenticated."}),
)

MILLIONVERIFIER = Vendor(
    name="millionverifier",
    base_path="",
    path="/api/v3/credits",
    key=KeyPlace("query", "api"),
    success=lambda balance: {"credits": int(balance), "bulk_credits": int(balance), "plan": 1},
    bad_key=Reply(200, {"error": "apikey_not_found"}),
    missing_key=Reply(200, {"error": "apikey_not_found"}),  # assumed: the same reply
)

BETTERCONTACT = Vendor(
    name="bettercontact",
    base_path="/api/v2",
    path="/api/v2/account",
    key=KeyPlace("header", "X-API-Key"),
    email="query",
    success=lambda balance: {"success": True, "credits_left": int(balance), "email": OWNER_EMAIL},
    # The spec names a 401 "Not authorized"; the body is assumed.
    bad_key=Reply(401, {"success": False, "message": "Not authorized"}),
    missing_key=Reply(401, {"success": False, "message": "Not authorized"}),
    no_email=Reply(400, {"success": False, "message": "email is required"}),  # assumed
)

LEADMAGIC = Vendor(
    name="leadmagic",
    base_path="",
    path="/v1/credits",
    key=KeyPlace("header", "X-API-Key"),
    success=lambda balance: {"credits": balance},
    headers=lambda balance: {"X-Credits-Remaining": f"{balance:.2f}"},
    # RFC 9457 problem details (documented); the texts assumed.
    bad_key=Reply(401, {"type": "about:blank", "title": "Unauthorized", "detail": "Invalid API key"}),
    missing_key=Reply(401, {"type": "about:blank", "title": "Unauthorized", "detail": "Missing API key"}),
    throttled=Reply(429, {"type": "about:blank", "title": "Too Many Requests", "detail": "Rate limited"}),
)

EMAILABLE = Vendor(
    name="emailable",
    base_path="/v1",
    path="/v1/account",
    key=KeyPlace("query", "api_key"),
    success=lambda balance: {"owner_email": OWNER_EMAIL, "available_credits": int(balance)},
    # 401 no key, 403 a bad key (documented); the bodies assumed.
    bad_key=Reply(403, {"message": "Your API key is invalid"}),
    missing_key=Reply(401, {"message": "You did not send an API key"}),
    throttled=Reply(429, {"message": "You're requesting an endpoint too often"}),
)

SERPAPI = Vendor(
    name="serpapi",
    base_path="",
    path="/account.json",
    key=KeyPlace("query", "api_key"),
    success=lambda balance: {
        "account_id": "5ac54d6adefb2f1dba1663f5",
        "api_key": "{key}",  # the reply echoes the key, as documented
        "account_email": "demo@serpapi.com",
        "plan_id": "bigdata",
        "plan_name": "Big Data Plan",
        "searches_per_month": 30000,
        "plan_searches_left": int(balance) - 100,
        "extra_credits": 100,
        "total_searches_left": int(balance),
        "this_month_usage": 30000 - int(balance) + 100,
        "last_hour_searches": 42,
        "account_rate_limit_per_hour": 6000,
    },
    bad_key=Reply(
        401, {"error": "Invalid API key. Your API key should be here: https://serpapi.com/manage-api-key"}
    ),
    missing_key=Reply(401, {"error": "Missing api_key"}),  # assumed
)

SCRAPINGBEE = Vendor(
    name="scrapingbee",
    base_path="/api/v1",
    path="/api/v1/usage",
    key=KeyPlace("query", "api_key"),
    success=lambda balance: {
        "max_api_credit": 1_000_000,
        "used_api_credit": 1_000_000 - balance,
        "max_concurrency": 10,
        "current_concurrency": 0,
        "renewal_subscription_date": "2026-07-18T10:05:58.134716",
    },
    bad_key=Reply(401, {"message": "Invalid api key"}),  # assumed
    missing_key=Reply(401, {"message": "Missing api_key"}),  # assumed
    throttled=Reply(429, {"message": "Too many requests"}),  # 6 a minute documented; the body assumed
)

APIFY = Vendor(
    name="apify",
    base_path="/v2",
    path="/v2/users/me/limits",
    key=KeyPlace("bearer"),
    success=lambda balance: {
        "data": {
            "monthlyUsageCycle": {"startAt": "2026-06-02T00:00:00.000Z", "endAt": "2026-07-01T23:59:59.999Z"},
            "limits": {"maxMonthlyUsageUsd": 300, "maxMonthlyActorComputeUnits": 1000},
            "current": {"monthlyUsageUsd": 300 - balance, "monthlyActorComputeUnits": 500.78},
        }
    },
    bad_key=Reply(
        401, {"error": {"type": "token-not-valid", "message": "Authentication token is not valid."}}
    ),
    missing_key=Reply(
        401, {"error": {"type": "token-not-provided", "message": "Authentication token missing."}}
    ),
    throttled=Reply(
        429, {"error": {"type": "rate-limit-exceeded", "message": "You have exceeded the rate limit."}}
    ),
)

BRIGHTDATA = Vendor(
    name="brightdata",
    base_path="",
    path="/customer/balance",
    key=KeyPlace("bearer"),
    success=lambda balance: {"balance": balance, "pending_balance": 12.5},
    bad_key=Reply(401, "Auth method is not supported", TEXT),  # the /status page's words; assumed here
    missing_key=Reply(401, "Auth method is not supported", TEXT),
)


def _twilio_error(status: int, code: int, message: str) -> Reply:
    return Reply(
        status,
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
    )


TWILIO_SID = "AC5ef8732a3c49700934481addd5ce1659"
TWILIO = Vendor(
    name="twilio",
    base_path="/2010-04-01",
    path="/2010-04-01/Accounts/{id}/Balance.json",
    key=KeyPlace("basic"),
    two_part=True,
    success=lambda balance: {"currency": "USD", "balance": f"{balance:.2f}", "account_sid": TWILIO_SID},
    bad_key=_twilio_error(401, 20003, "Authenticate"),
    missing_key=_twilio_error(401, 20003, "Authenticate"),
    throttled=_twilio_error(429, 20429, "Too Many Requests"),
)

VONAGE = Vendor(
    name="vonage",
    base_path="",
    path="/account/get-balance",
    key=KeyPlace("basic"),
    two_part=True,
    success=lambda balance: {"value": balance, "autoReload": False},
    # Vonage's problem-details style, assumed for this endpoint.
    bad_key=Reply(
        401,
        {
            "type": "https://developer.nexmo.com/api-errors#unauthorized",
            "title": "Unauthorized",
            "detail": "You did not provide correct credentials.",
        },
    ),
    missing_key=Reply(
        401,
        {
            "type": "https://developer.nexmo.com/api-errors#unauthorized",
            "title": "Unauthorized",
            "detail": "You did not provide credentials.",
        },
    ),
)


def _sendgrid_error(status: int, message: str) -> Reply:
    return Reply(status, {"errors": [{"field": None, "message": message}]})


SENDGRID = Vendor(
    name="sendgrid",
    base_path="/v3",
    path="/v3/user/credits",
    key=KeyPlace("bearer"),
    success=lambda balance: {
        "remain": int(balance),
        "total": 40000,
        "overage": 0,
        "used": 40000 - int(balance),
        "last_reset": "2026-06-01",
        "next_reset": "2026-07-01",
        "reset_frequency": "monthly",
    },
    bad_key=_sendgrid_error(401, "The provided authorization grant is invalid, expired, or revoked"),
    missing_key=_sendgrid_error(401, "authorization required"),
    throttled=_sendgrid_error(429, "too many requests"),
)

BREVO = Vendor(
    name="brevo",
    base_path="/v3",
    path="/v3/account",
    key=KeyPlace("header", "api-key"),
    success=lambda balance: {
        "email": OWNER_EMAIL,
        "companyName": "Acme",
        "plan": [
            {"type": "payAsYouGo", "credits": 500, "creditsType": "sendLimit"},
            {
                "type": "subscription",
                "credits": balance - 500,
                "creditsType": "sendLimit",
                "startDate": "2026-06-11",
                "endDate": "2026-07-11",
            },
            {"type": "sms", "credits": 999.536, "creditsType": "sendLimit"},
        ],
    },
    bad_key=Reply(401, {"code": "unauthorized", "message": "Key not found"}),  # message assumed
    missing_key=Reply(401, {"code": "unauthorized", "message": "Key not found"}),
    throttled=Reply(429, {"code": "too_many_requests", "message": "Too many requests"}),  # assumed
)

ICYPEAS = Vendor(
    name="icypeas",
    base_path="/api",
    path="/api/a/actions/subscription-information",
    method="POST",
    key=KeyPlace("header", "Authorization"),
    email="body",
    # The page shows no reply: these fields are what several clients read.
    success=lambda balance: {
        "success": True,
        "userId": "u_1",
        "status": "active",
        "credits": balance,
        "quotas": {"daily": 1000},
    },
    bad_key=Reply(401, {"success": False, "message": "Unauthorized"}),  # assumed
    missing_key=Reply(401, {"success": False, "message": "Unauthorized"}),  # assumed
    no_email=Reply(400, {"success": False, "message": "email: Required"}),  # assumed
)

CATALOGUE_VENDORS: dict[str, Vendor] = {
    vendor.name: vendor
    for vendor in (
        *(ZEROBOUNCE, NEVERBOUNCE, HUNTER, LUSHA, DROPCONTACT, BOUNCER, CLEAROUT, SNOVIO, PROSPEO),
        *(FINDYMAIL, MILLIONVERIFIER, BETTERCONTACT, LEADMAGIC, EMAILABLE, SERPAPI, SCRAPINGBEE, APIFY),
        *(BRIGHTDATA, TWILIO, VONAGE, SENDGRID, BREVO, ICYPEAS),
    )
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
