"""Run every account's check concurrently, each isolated from the others' failures, all by one deadline."""

from __future__ import annotations

import codecs
import functools
import json
import re
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from credit_monitor.bounded import Unfinished, run_until
from credit_monitor.config import Account, CheckSettings
from credit_monitor.keys import MIN_KEY_CHARS, Redactor, clean_key, redactor_for
from credit_monitor.model import Balance, CheckError, CheckResult, FailureKind, decode_json_object
from credit_monitor.providers import HttpReply, Provider, Request, RetryPolicy
from credit_monitor.providers.fields import excerpt, printable
from credit_monitor.ratelimit import RateLimiter

DEADLINE_GRACE_SECONDS = 0.5
"""A check ends itself at the deadline; this lets it say why (e.g. "read timeout") before we stop
waiting and call it unfinished."""
MAX_CONCURRENT_CHECKS = 64
"""Requests in flight at once: 500 accounts at 300 ms take about 5 s (see `make bench`)."""
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
        tasks, deadline + DEADLINE_GRACE_SECONDS, max_workers=MAX_CONCURRENT_CHECKS, name="check"
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
    """One provider's check; `deadline` (absolute, `time.monotonic()`) covers all of it, re-read included.

    Its reply and messages are redacted against the keys this check sent (its own, and a fresh one
    after a 401) and nothing else: another account's value can never alter this reply, and the
    work does not grow with the number of accounts.
    """
    raw = api_keys.get(account.id)
    sent: list[str] = [raw.strip()] if isinstance(raw, str) and len(raw.strip()) >= MIN_KEY_CHARS else []
    try:
        key = clean_key(account.id, raw, keys.key_hint(account.id))
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
            if account.id in fresh:
                fresh_key = clean_key(account.id, fresh[account.id], keys.key_hint(account.id))
                if fresh_key != key:
                    sent.append(fresh_key)
                    reply = _fetch(account, fresh_key, http, deadline, limiter)
        # Any body may echo a key (a 200 with an error message too): it is redacted once decoded,
        # before any message quotes it cut short.
        balance = interpret_reply(account.provider, reply, redactor_for(*sent))
    except CheckError as exc:
        return CheckResult(account.id, account.threshold, error=_safe(exc.kind, exc.message, sent))
    except Exception as exc:  # a bug must still fail only this provider, and visibly
        error = _safe(FailureKind.HTTP, f"unexpected {type(exc).__name__}: {exc}", sent)
        return CheckResult(account.id, account.threshold, error=error)
    return CheckResult(account.id, account.threshold, balance=balance)


def _safe(kind: FailureKind, message: str, sent: list[str]) -> CheckError:
    """The last line of defence: no form or fragment of a key sent, nothing unprintable."""
    return CheckError(kind, printable(redactor_for(*sent).redact(message)))


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


NOTHING_TO_REDACT = Redactor(())


def interpret_reply(provider: Provider, reply: HttpReply, redactor: Redactor = NOTHING_TO_REDACT) -> Balance:
    """Pure: a reply becomes a Balance or a CheckError that says what went wrong.

    The reply is redacted after it is decoded (every string of a JSON body, or the error text), so
    a key echoed with escapes or in another encoding is found, and before a provider quotes it.
    """
    if reply.status == 200:
        payload = redactor.redact_json(decode_json_object(reply.body, reply.content_type))
        assert isinstance(payload, dict)  # redaction keeps the shape
        return provider.parse_balance(payload)
    detail = describe_error_body(reply.body, reply.content_type, redactor)
    if reply.status in (401, 403):
        raise CheckError(FailureKind.AUTH, f"HTTP {reply.status}, key rejected: {detail}")
    if reply.status == 404:
        raise CheckError(FailureKind.AUTH, f"HTTP 404, no account found for this key: {detail}")
    if reply.status == 429:
        raise CheckError(FailureKind.RATE_LIMITED, f"HTTP 429, still rate limited after retries: {detail}")
    raise CheckError(FailureKind.HTTP, f"HTTP {reply.status}: {detail}")


def describe_error_body(body: bytes, content_type: str | None, redactor: Redactor = NOTHING_TO_REDACT) -> str:
    """FullEnrich sends JSON {code, message}; lemlist plain text; proxies HTML. Keep it short:
    decoded in its own charset, redacted, then cut."""
    text = decode_text(body, content_type).strip()
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
    return excerpt(redactor.redact(text))


BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]{1,40})", re.IGNORECASE)


def decode_text(body: bytes, content_type: str | None) -> str:
    """A body as text, in the encoding it is really in: a BOM first, then the NULs of UTF-16 or
    UTF-32 without one (whatever the header claims), then the charset in Content-Type, else UTF-8.
    A key is only found, and redacted, in the text a reader would see."""
    for bom, encoding in BOMS:
        if body.startswith(bom):
            return body.decode(encoding, errors="replace")
    if b"\x00" in body[:4]:
        return body.decode(json.detect_encoding(body), errors="replace")
    match = CHARSET.search(content_type or "")
    if match:
        try:
            return body.decode(match.group(1), errors="replace")
        except LookupError:  # an unknown charset, or a codec that is not a text encoding (base64)
            pass
    return body.decode("utf-8", errors="replace")
