"""One urllib3 PoolManager, reused across warm invocations, with retries that respect a deadline.

TLS verification is always on. A custom CA comes in through OpenSSL's own `SSL_CERT_FILE`, which
urllib3's default context honours, so nothing here ever has a switch to turn verification off.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, Self

from urllib3 import BaseHTTPResponse, PoolManager, Retry, Timeout
from urllib3.exceptions import (
    ConnectTimeoutError,
    DecodeError,
    HTTPError,
    InvalidHeader,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.util.ssl_ import create_urllib3_context

from credit_monitor import USER_AGENT
from credit_monitor.model import CheckError, FailureKind
from credit_monitor.providers import HttpReply, Request, RetryPolicy

__all__ = ["HttpClient", "HttpReply", "build_pool_manager"]

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
Clock = Callable[[], float]
Pace = Callable[[float], bool]
"""Wait for a rate-limit slot that starts by the given time (monotonic); False if none will."""


class DeadlineRetry(Retry):
    """urllib3's Retry, but a retry is only attempted when it can finish before the deadline.

    Without this, honoured Retry-After waits and timeouts add up past the Lambda timeout and the
    whole invocation dies, taking the other provider's result with it.
    """

    deadline: float | None = None
    attempt_seconds: float = 0.0
    clock: Clock = time.monotonic
    rate_limited_backoff: float = 0.0
    """Backoff factor after a 429 without Retry-After, when it is longer than `backoff_factor`."""
    pace: Pace | None = None
    """Called before every retry: a retry is a request too, and counts against the key's limit."""
    waited: bool = False
    """The backoff was already slept, before pacing: urllib3's own sleep is then skipped."""

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        if not self.waited:
            super().sleep(response)

    @classmethod
    def for_policy(cls, policy: RetryPolicy, deadline: float, attempt_seconds: float, clock: Clock) -> Self:
        """Retries of connection errors, 429 and 5xx by `policy`, each only if it can end by `deadline`."""
        retry = cls(
            total=policy.attempts - 1,
            redirect=0,
            other=0,  # a refused certificate will not be accepted on a second try
            status_forcelist=RETRYABLE_STATUSES,
            backoff_factor=policy.backoff_seconds,
            backoff_max=policy.retry_after_cap_seconds,
            retry_after_max=policy.retry_after_cap_seconds,
            respect_retry_after_header=True,
            raise_on_status=False,
            raise_on_redirect=False,
            allowed_methods=frozenset({"GET", "POST"}),  # a balance query is safe to repeat, POST too
        )
        retry.deadline, retry.attempt_seconds, retry.clock = deadline, attempt_seconds, clock
        retry.rate_limited_backoff = policy.rate_limited_backoff_seconds
        return retry

    def new(self, **kw: Any) -> Self:
        retry = super().new(**kw)
        retry.deadline, retry.attempt_seconds = self.deadline, self.attempt_seconds
        retry.clock, retry.rate_limited_backoff = self.clock, self.rate_limited_backoff
        retry.pace = self.pace
        return retry

    def get_backoff_time(self) -> float:
        """Doubling from the first retry (urllib3 retries the first failure at once); slower after a 429.

        A 5xx or a dropped connection is worth retrying soon; a rate limit is not, and a 429 without
        Retry-After tells us nothing about when it lifts.
        """
        if not self.history:
            return 0.0
        factor = self.backoff_factor
        if self.history[-1].status == 429:
            factor = max(factor, self.rate_limited_backoff)
        return float(min(self.backoff_max, factor * 2 ** (len(self.history) - 1)))

    def get_retry_after(self, response: BaseHTTPResponse) -> float | None:
        """A malformed Retry-After is ignored: the status is retried on the backoff instead.

        urllib3 raises for one (InvalidHeader for a bad date, ValueError for 5,000 digits), which
        would otherwise end the check as a broken connection.
        """
        try:
            return super().get_retry_after(response)
        except (InvalidHeader, ValueError, OverflowError):
            return None

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> Self:
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        if self.deadline is not None:
            wait = retry.planned_wait(response)
            if self.clock() + wait + self.attempt_seconds > self.deadline:
                reason = error or Exception(f"no time left before the deadline for a retry after {wait:.1f}s")
                raise MaxRetryError(_pool, url, reason) from error
            if self.pace is not None:
                # The backoff first, then the slot: a slot booked before the backoff would be
                # booked for a moment the request is not sent at, and the window's count be wrong.
                time.sleep(wait)
                if not self.pace(self.deadline - self.attempt_seconds):
                    reason = error or Exception(
                        "the key's rate limit leaves no room for a retry before the deadline"
                    )
                    raise MaxRetryError(_pool, url, reason) from error
                retry.waited = True
        if response is not None:
            # urllib3 drains a reply it retries, however large or slow; we need none of it.
            response.close()
        return retry

    def planned_wait(self, response: BaseHTTPResponse | None) -> float:
        if response is not None and self.respect_retry_after_header:
            retry_after = self.get_retry_after(response)
            if retry_after:
                return retry_after
        return self.get_backoff_time()


DEFAULT_HEADERS = {
    "User-Agent": USER_AGENT,
    "Accept": "application/json",
    # A compressed reply is decoded only up to the cap, but an uncompressed one is simpler still.
    "Accept-Encoding": "identity",
}
MAX_REPLY_BYTES = 64 * 1024
"""Documented replies are under 1 KB: anything this large is not a balance, and is not read further."""
DECODED_ENCODINGS = frozenset({"gzip", "x-gzip", "deflate"})
MAX_KEPT_HEADERS = 64
MAX_HEADER_VALUE_CHARS = 256
"""A balance in a header (LeadMagic's X-Credits-Remaining) is a few characters: longer values are
cut, and a reply with more headers keeps its first ones."""


def kept_headers(items: Iterable[tuple[str, str]]) -> Mapping[str, str]:
    """The reply's headers by lower-case name (a repeated one keeps its first value), bounded."""
    kept: dict[str, str] = {}
    for name, value in items:
        if len(kept) >= MAX_KEPT_HEADERS:
            break
        kept.setdefault(name.lower(), value[:MAX_HEADER_VALUE_CHARS])
    return MappingProxyType(kept)


def build_pool_manager() -> PoolManager:
    """Created once per Lambda sandbox; keep-alive connections survive between warm invocations.

    A pool per host (up to 16 hosts kept), each keeping as many connections as checks run at once,
    so a warm run of many accounts on one provider reuses its TLS sessions.

    One TLS context for every connection: without it urllib3 makes a context per new connection and
    loads the whole CA store into it each time (milliseconds of CPU per connection, a lot at 128 MB).
    It is urllib3's own default context (verification required, hostnames matched by urllib3), and
    load_default_certs honours SSL_CERT_FILE as before.
    """
    context = create_urllib3_context()
    context.load_default_certs()
    return PoolManager(num_pools=16, maxsize=64, ssl_context=context)


class HttpClient:
    def __init__(self, pool: PoolManager, clock: Clock = time.monotonic) -> None:
        self._pool = pool
        self._clock = clock

    def get(self, url: str, headers: Mapping[str, str], policy: RetryPolicy, deadline: float) -> HttpReply:
        return self.send(Request("GET", url, headers), policy, deadline)

    def send(
        self, request: Request, policy: RetryPolicy, deadline: float, pace: Pace | None = None
    ) -> HttpReply:
        """Send `request`, retrying connection errors, 429 and 5xx; 4xx come back as is. `pace`,
        when given, must grant each retry a slot of the key's rate limit before it is made.

        `deadline` is an absolute `time.monotonic()` value: connecting, retries, their waits and
        reading the body all end by it.
        """
        remaining = deadline - self._clock()
        if remaining <= 0:
            raise CheckError(FailureKind.TIMEOUT, "no time left before the deadline")
        connect_timeout, read_timeout = min(2.0, remaining * 0.2), min(3.0, remaining * 0.3)
        retry = DeadlineRetry.for_policy(policy, deadline, connect_timeout + read_timeout, self._clock)
        retry.pace = pace
        try:
            response = self._pool.request(
                request.method,
                request.url,
                body=request.body,
                headers={**DEFAULT_HEADERS, **request.headers},
                retries=retry,
                timeout=Timeout(connect=connect_timeout, read=read_timeout),
                redirect=False,
                preload_content=False,  # urllib3 would read (and inflate) any size into memory
                decode_content=False,
            )
        except MaxRetryError as exc:
            raise _transport_error(exc.reason) from None
        except HTTPError as exc:
            raise _transport_error(exc) from None
        try:
            body = self._read_body(response, deadline, read_timeout)
        except BaseException:
            response.close()  # unread bytes may remain: this connection must not be reused
            raise
        finally:
            response.release_conn()
        return HttpReply(
            status=response.status,
            body=body,
            content_type=response.headers.get("Content-Type"),
            headers=kept_headers(response.headers.items()),
        )

    def _read_body(self, response: BaseHTTPResponse, deadline: float, read_timeout: float) -> bytes:
        """At most MAX_REPLY_BYTES, decoded or not, by the deadline however slowly the server sends.

        urllib3's read timeout applies to each receive, so a body that drips a byte a second never
        trips it: every receive here waits at most until the deadline, and the clock is checked
        between them.
        """
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in {"identity", "", *DECODED_ENCODINGS}:
            raise CheckError(
                FailureKind.BAD_RESPONSE, f"compressed reply ({encoding}) not supported; we ask for identity"
            )
        sock: socket.socket | None = getattr(response.connection, "sock", None)
        body = bytearray()
        while True:
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise CheckError(FailureKind.TIMEOUT, "the reply was still arriving at the deadline")
            if sock is not None:
                sock.settimeout(min(read_timeout, remaining))
            try:
                chunk = response.read1(
                    MAX_REPLY_BYTES + 1 - len(body), decode_content=encoding in DECODED_ENCODINGS
                )
            except HTTPError as exc:
                if self._clock() >= deadline:
                    raise CheckError(
                        FailureKind.TIMEOUT, "the reply was still arriving at the deadline"
                    ) from None
                raise _transport_error(exc) from None
            if not chunk:
                return bytes(body)
            body += chunk
            if len(body) > MAX_REPLY_BYTES or response.tell() > MAX_REPLY_BYTES:
                raise CheckError(
                    FailureKind.BAD_RESPONSE,
                    f"reply larger than {MAX_REPLY_BYTES // 1024} KB; a credit balance is under 1 KB",
                )


def _transport_error(reason: BaseException | None) -> CheckError:
    """Translate urllib3's exceptions into a failure kind and a sentence a person can act on."""
    if isinstance(reason, SSLError):
        return CheckError(
            FailureKind.TLS,
            f"TLS verification failed, nothing was sent ({_without_query_strings(reason)}); "
            "for a private CA set SSL_CERT_FILE",
        )
    # NewConnectionError (refused, unreachable, no DNS) subclasses ConnectTimeoutError: test it first.
    if isinstance(reason, NewConnectionError):
        return CheckError(FailureKind.CONNECTION, f"could not connect: {_without_query_strings(reason)}")
    if isinstance(reason, ConnectTimeoutError):
        return CheckError(FailureKind.TIMEOUT, "connection timed out")
    if isinstance(reason, ReadTimeoutError):
        return CheckError(FailureKind.TIMEOUT, "no answer before the read timeout")
    if isinstance(reason, DecodeError):
        return CheckError(FailureKind.BAD_RESPONSE, "compressed reply could not be decoded")
    if isinstance(reason, ProtocolError):
        return CheckError(FailureKind.CONNECTION, "connection dropped before a complete response")
    return CheckError(FailureKind.CONNECTION, f"request failed: {_without_query_strings(reason)}")


_QUERY_STRING = re.compile(r"\?[^\s'\"<>]*")


def _without_query_strings(reason: BaseException | None) -> str:
    """urllib3 names the URL in some errors ("Failed to parse: <url>", "Max retries exceeded with
    url: <url>"); a key sent as a query parameter must not follow it into our message."""
    return _QUERY_STRING.sub("?<query removed>", str(reason))
