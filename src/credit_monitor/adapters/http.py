"""One urllib3 PoolManager, reused across warm invocations, with retries that respect a deadline.

TLS verification is always on. A custom CA comes in through OpenSSL's own `SSL_CERT_FILE`, which
urllib3's default context honours, so nothing here ever has a switch to turn verification off.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Self

from urllib3 import BaseHTTPResponse, PoolManager, Retry, Timeout
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

from credit_monitor import USER_AGENT
from credit_monitor.core import CheckError, FailureKind
from credit_monitor.providers import RetryPolicy

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
Clock = Callable[[], float]


@dataclass(frozen=True)
class HttpReply:
    status: int
    body: bytes
    content_type: str | None


class DeadlineRetry(Retry):
    """urllib3's Retry, but a retry is only attempted when it can finish before the deadline.

    Without this, honoured Retry-After waits and timeouts add up past the Lambda timeout and the
    whole invocation dies, taking the other provider's result with it.
    """

    deadline: float | None = None
    attempt_seconds: float = 0.0
    clock: Clock = time.monotonic

    def new(self, **kw: Any) -> Self:
        retry = super().new(**kw)
        retry.deadline, retry.attempt_seconds, retry.clock = self.deadline, self.attempt_seconds, self.clock
        return retry

    def get_backoff_time(self) -> float:
        # urllib3 retries the first failure immediately; a 429 without Retry-After deserves a pause.
        backoff = super().get_backoff_time()
        if backoff == 0 and self.history:
            return float(min(self.backoff_max, self.backoff_factor))
        return backoff

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
        return retry

    def planned_wait(self, response: BaseHTTPResponse | None) -> float:
        if response is not None and self.respect_retry_after_header:
            retry_after = self.get_retry_after(response)
            if retry_after:
                return retry_after
        return self.get_backoff_time()


DEFAULT_HEADERS = {"User-Agent": USER_AGENT, "Accept": "application/json"}


def build_pool_manager() -> PoolManager:
    """Created once per Lambda sandbox; keep-alive connections survive between warm invocations."""
    return PoolManager(num_pools=4, maxsize=2)


class HttpClient:
    def __init__(self, pool: PoolManager, clock: Clock = time.monotonic) -> None:
        self._pool = pool
        self._clock = clock

    def get(self, url: str, headers: Mapping[str, str], policy: RetryPolicy, deadline: float) -> HttpReply:
        """GET, retrying connection errors, 429 and 5xx; 4xx come back as is.

        `deadline` is an absolute `time.monotonic()` value: the caller's whole check shares one clock.
        """
        remaining = deadline - self._clock()
        if remaining <= 0:
            raise CheckError(FailureKind.TIMEOUT, "no time left before the deadline")
        timeout = Timeout(connect=min(2.0, remaining * 0.2), read=min(3.0, remaining * 0.3))
        retry = DeadlineRetry(
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
        )
        retry.deadline = deadline
        retry.attempt_seconds = (timeout.connect_timeout or 0) + (timeout.read_timeout or 0)  # type: ignore[operator]
        retry.clock = self._clock
        try:
            response = self._pool.request(
                "GET",
                url,
                headers={**DEFAULT_HEADERS, **headers},
                retries=retry,
                timeout=timeout,
                redirect=False,
            )
        except MaxRetryError as exc:
            raise _transport_error(exc.reason) from None
        except HTTPError as exc:
            raise _transport_error(exc) from None
        return HttpReply(
            status=response.status, body=response.data, content_type=response.headers.get("Content-Type")
        )


def _transport_error(reason: BaseException | None) -> CheckError:
    """Translate urllib3's exceptions into a failure kind and a sentence a person can act on."""
    if isinstance(reason, SSLError):
        return CheckError(
            FailureKind.TLS,
            f"TLS verification failed, nothing was sent ({reason}); for a private CA set SSL_CERT_FILE",
        )
    if isinstance(reason, ConnectTimeoutError):
        return CheckError(FailureKind.TIMEOUT, "connection timed out")
    if isinstance(reason, ReadTimeoutError):
        return CheckError(FailureKind.TIMEOUT, "no answer before the read timeout")
    if isinstance(reason, NewConnectionError):
        return CheckError(FailureKind.CONNECTION, f"could not connect: {reason}")
    if isinstance(reason, ProtocolError):
        return CheckError(FailureKind.CONNECTION, "connection dropped before a complete response")
    return CheckError(FailureKind.CONNECTION, f"request failed: {reason}")
