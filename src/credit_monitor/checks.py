"""Run every account's check concurrently, each isolated from the others' failures, all by one deadline."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Protocol

from credit_monitor.bounded import Unfinished, run_until
from credit_monitor.config import Account, CheckSettings
from credit_monitor.keys import clean_key, redact
from credit_monitor.model import Balance, CheckError, CheckResult, FailureKind, decode_json_object
from credit_monitor.providers import HttpReply, Provider, Request, RetryPolicy
from credit_monitor.providers.fields import excerpt
from credit_monitor.ratelimit import RateLimiter
from credit_monitor.sizing import max_concurrent_checks

DEADLINE_GRACE_SECONDS = 0.5
"""A check ends itself at the deadline; this lets it say why (e.g. "read timeout") before we stop
waiting and call it unfinished."""
MIN_SECONDS_FOR_A_REQUEST = 1.0
"""A request paced by a rate limit starts only if this much of the deadline is left for it."""
MIN_SECONDS_FOR_A_RETRY = 1.0
"""After a 401, re-read the secret and try the new key only if this much of the deadline is left."""


class Http(Protocol):
    """How a request is sent: urllib3 with retries, a size cap and the deadline (adapters/http.py)."""

    def send(
        self,
        request: Request,
        policy: RetryPolicy,
        deadline: float,
        pace: Callable[[float], bool] | None = None,
    ) -> HttpReply:
        """The reply, whatever its status; CheckError for a transport failure or a bad body.
        `pace(start_by)` must grant each retry a slot of the key's rate limit."""
        ...


class KeySource(Protocol):
    """Where API keys come from: Secrets Manager in Lambda, the environment in the CLI."""

    def api_keys(self, *, refresh: bool = False) -> Mapping[str, str]:
        """Raise CheckError(SECRET) when the keys cannot be read at all."""
        ...

    def key_hint(self, account_id: str) -> str:
        """How a person adds this account's missing key, for the failure message."""
        ...


def run_checks(settings: CheckSettings, keys: KeySource, http: Http, deadline: float) -> list[CheckResult]:
    """Results in settings order, all by `deadline` (absolute, time.monotonic()), however many
    providers there are. A provider that fails, or overruns, fails alone."""
    [read] = run_until([keys.api_keys], deadline, max_workers=1, name="secret")
    if isinstance(read, Unfinished):
        read = CheckError(FailureKind.TIMEOUT, "the API keys could not be read before the deadline")
    if isinstance(read, BaseException):
        error = read if isinstance(read, CheckError) else CheckError(FailureKind.SECRET, "unreadable keys")
        return [CheckResult(account.id, account.threshold, error=error) for account in settings.accounts]

    api_keys, limiter = read, RateLimiter()
    # Plan first: each account's first request gets its rate-limit slot now, and the checks run in
    # the order of their slots. A worker never sleeps for a slot while accounts that could start
    # at once wait behind it; an account whose slot would come too late fails without waiting.
    start_by = deadline - MIN_SECONDS_FOR_A_REQUEST
    slots = [
        limiter.reserve(
            account.provider.name, api_keys.get(account.id, "").strip(), account.provider.rate_limit
        )
        for account in settings.accounts
    ]
    order = sorted(range(len(settings.accounts)), key=lambda index: slots[index])
    tasks = [
        functools.partial(
            check_account, settings.accounts[index], api_keys, keys, http, deadline, limiter, slots[index]
        )
        if slots[index] <= start_by
        else functools.partial(_no_slot, settings.accounts[index])
        for index in order
    ]
    ordered = run_until(
        tasks,
        deadline + DEADLINE_GRACE_SECONDS,
        max_workers=max_concurrent_checks(settings.memory_mb),
        name="check",
    )
    outcomes = [ordered[order.index(index)] for index in range(len(order))]
    results = []
    for account, outcome in zip(settings.accounts, outcomes, strict=True):
        if isinstance(outcome, CheckResult):
            results.append(outcome)
            continue
        message = (
            "no result before the run's check deadline"
            if isinstance(outcome, Unfinished)
            else f"unexpected {type(outcome).__name__}"  # check_account catches everything else
        )
        kind = FailureKind.TIMEOUT if isinstance(outcome, Unfinished) else FailureKind.HTTP
        results.append(CheckResult(account.id, account.threshold, error=CheckError(kind, message)))
    return results


def check_account(
    account: Account,
    api_keys: Mapping[str, str],
    keys: KeySource,
    http: Http,
    deadline: float,
    limiter: RateLimiter | None = None,
    start_at: float | None = None,
) -> CheckResult:
    """One provider's check; `deadline` (absolute, `time.monotonic()`) covers all of it, re-read included."""
    known_keys: list[str] = list(api_keys.values())
    try:
        key = clean_key(account.id, api_keys.get(account.id), keys.key_hint(account.id))
        if start_at is not None:  # the slot reserved when the run was planned
            time.sleep(max(0.0, start_at - time.monotonic()))
            reply = _send(account, key, http, deadline, limiter)
        else:
            reply = _fetch(account, key, http, deadline, limiter)
        if reply.status == 401 and deadline - time.monotonic() >= MIN_SECONDS_FOR_A_RETRY:
            # The key may have been rotated since we cached the secret: read it again, once.
            try:
                fresh = keys.api_keys(refresh=True)
            except CheckError:
                fresh = {}  # the 401 is the more useful thing to report
            known_keys += fresh.values()
            if account.id in fresh:
                fresh_key = clean_key(account.id, fresh[account.id], keys.key_hint(account.id))
                if fresh_key != key:
                    reply = _fetch(account, fresh_key, http, deadline, limiter)
        # Any body may echo the key (a 200 with an error message too): redact it whole, before a
        # message quotes it cut short. Inside a JSON string, *** keeps the JSON valid.
        text = reply.body.decode("utf-8", errors="replace")
        redacted = redact(text, known_keys)
        if redacted != text:
            reply = replace(reply, body=redacted.encode())
        balance = interpret_reply(account.provider, reply)
    except CheckError as exc:
        safe = CheckError(exc.kind, redact(exc.message, known_keys))
        return CheckResult(account.id, account.threshold, error=safe)
    except Exception as exc:  # a bug must still fail only this provider, and visibly
        message = redact(f"unexpected {type(exc).__name__}: {exc}", known_keys)
        return CheckResult(account.id, account.threshold, error=CheckError(FailureKind.HTTP, message))
    return CheckResult(account.id, account.threshold, balance=balance)


def _fetch(account: Account, key: str, http: Http, deadline: float, limiter: RateLimiter | None) -> HttpReply:
    """A request that takes its rate-limit slot now (the re-read after a 401), waiting for it."""
    provider = account.provider
    limit = provider.rate_limit
    start_by = deadline - MIN_SECONDS_FOR_A_REQUEST
    if limiter is not None and not limiter.acquire(provider.name, key, limit, start_by):
        raise _no_slot_error(account)
    return _send(account, key, http, deadline, limiter)


def _send(account: Account, key: str, http: Http, deadline: float, limiter: RateLimiter | None) -> HttpReply:
    """The request, whose slot is taken; each retry takes its own."""
    provider = account.provider
    pace = None
    if limiter is not None and provider.rate_limit is not None:
        pace = functools.partial(limiter.acquire, provider.name, key, provider.rate_limit)
    return http.send(provider.build_request(account.api_url, key), provider.retry, deadline, pace)


def _no_slot_error(account: Account) -> CheckError:
    limit = account.provider.rate_limit
    assert limit is not None
    return CheckError(
        FailureKind.RATE_LIMITED,
        f"not sent: {account.provider.display_name} allows {limit.requests} requests per"
        f" {limit.per_seconds:g} s per key, and more accounts share this key than fit before the deadline",
    )


def _no_slot(account: Account) -> CheckResult:
    return CheckResult(account.id, account.threshold, error=_no_slot_error(account))


def interpret_reply(provider: Provider, reply: HttpReply) -> Balance:
    """Pure: a reply becomes a Balance or a CheckError that says what went wrong."""
    if reply.status == 200:
        return provider.parse_balance(decode_json_object(reply.body, reply.content_type))
    detail = describe_error_body(reply.body, reply.content_type)
    if reply.status in (401, 403):
        raise CheckError(FailureKind.AUTH, f"HTTP {reply.status}, key rejected: {detail}")
    if reply.status == 404:
        raise CheckError(FailureKind.AUTH, f"HTTP 404, no account found for this key: {detail}")
    if reply.status == 429:
        raise CheckError(FailureKind.RATE_LIMITED, f"HTTP 429, still rate limited after retries: {detail}")
    raise CheckError(FailureKind.HTTP, f"HTTP {reply.status}: {detail}")


def describe_error_body(body: bytes, content_type: str | None) -> str:
    """FullEnrich sends JSON {code, message}; lemlist plain text; proxies HTML. Keep it short."""
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        return "empty body"
    if "html" in (content_type or "").lower() or text.lstrip().lower().startswith(("<!doctype", "<html")):
        return f"an HTML page ({len(body)} bytes)"
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or JSON too deep or with too long a number
        payload = None
    if isinstance(payload, dict) and isinstance(payload.get("message"), str):
        code = payload.get("code")
        text = f"{code}: {payload['message']}" if isinstance(code, str) else payload["message"]
    return excerpt(text)
