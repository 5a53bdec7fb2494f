"""Run every account's check concurrently, each isolated from the others' failures, all by one deadline."""

from __future__ import annotations

import codecs
import functools
import hashlib
import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from credit_monitor.account import keys_by_account
from credit_monitor.bounded import Unfinished, run_until
from credit_monitor.config import Account, CheckSettings
from credit_monitor.keys import MIN_KEY_CHARS, Redactor, clean_key, redactor_for, split_pair
from credit_monitor.model import Balance, CheckError, CheckResult, FailureKind, decode_json_object
from credit_monitor.printable import printable
from credit_monitor.providers import HttpReply, Provider, RateLimit, Request, RetryPolicy
from credit_monitor.providers.base import ReplyContext, TokenExchange
from credit_monitor.providers.fields import excerpt
from credit_monitor.ratelimit import (
    FIRST,
    RETRY,
    RateLimiter,
    SharedKey,
    first_requests,
    retries,
    shared_keys,
)
from credit_monitor.sizing import max_concurrent_checks
from credit_monitor.token_cache import TOKENS, TokenCache

DEADLINE_GRACE_SECONDS = 0.5
"""A check ends itself at the deadline; this lets it say why (e.g. "read timeout") before we stop
waiting and call it unfinished."""
MIN_SECONDS_FOR_A_REQUEST = 1.0
"""A request paced by a rate limit starts only if this much of the deadline is left for it."""
PLANNING_ALLOWANCE_SECONDS = 1.0
"""Kept off the deadline when sizing a shared key's turns: the secret read comes first, and how long
it took must not change which accounts are in turn."""
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


LastChecked = Callable[[], Mapping[str, datetime | None] | None]
"""When each account was last checked, from the alert state; None when the state cannot be had."""


def run_checks(
    settings: CheckSettings,
    keys: KeySource,
    http: Http,
    deadline: float,
    run_number: int = 0,
    last_checked: LastChecked | None = None,
) -> list[CheckResult]:
    """Results in settings order, all by `deadline` (absolute, time.monotonic()), however many
    providers there are. A provider that fails, or overruns, fails alone. Accounts whose requests
    are the same are answered by one request (`same_requests`). Different requests on one key, more
    than one run can make, take turns (ratelimit.py): those checked least recently by
    `last_checked`, asked only then; without it, by `run_number`."""
    [read] = run_until([keys.api_keys], deadline, max_workers=1, name="secret")
    if isinstance(read, Unfinished):
        read = CheckError(FailureKind.TIMEOUT, "the API keys could not be read before the deadline")
    if isinstance(read, BaseException):
        error = read if isinstance(read, CheckError) else CheckError(FailureKind.SECRET, "unreadable keys")
        return [CheckResult(account.id, account.threshold, error=error) for account in settings.accounts]

    api_keys, limiter = keys_by_account(settings.accounts, read), RateLimiter()
    requests, done = same_requests(settings.accounts, api_keys, keys.key_hint)
    waiting = _waiting(settings, requests, run_number, last_checked)
    # Plan first: each request in turn gets its first rate-limit slot now, and the checks run in
    # the order of their slots. A worker never sleeps for a slot while requests that could start at
    # once wait behind it; a request whose slot would come too late is not made.
    start_by = deadline - MIN_SECONDS_FOR_A_REQUEST
    in_turn = [same for same in requests if same.accounts[0].id not in waiting]
    slots = [
        limiter.reserve(
            same.leader.vendor.id, same.key, _paced(same.leader.provider.rate_limit, first_requests), FIRST
        )
        for same in in_turn
    ]
    order = sorted(range(len(in_turn)), key=lambda index: slots[index])
    started: set[int] = set()
    tasks = [
        functools.partial(
            _in_turn,
            in_turn[index],
            slots[index],
            start_by,
            functools.partial(started.add, index),
            functools.partial(check_request, in_turn[index], keys, http, deadline, limiter, slots[index]),
        )
        for index in order
    ]
    ordered = run_until(
        tasks,
        deadline + DEADLINE_GRACE_SECONDS,
        max_workers=max_concurrent_checks(settings.memory_mb),
        name="check",
    )
    for index, outcome in zip(order, ordered, strict=True):
        same = in_turn[index]
        if isinstance(outcome, list):
            done.update((result.account, result) for result in outcome)
            continue
        for account in same.accounts:
            if isinstance(outcome, Unfinished) and index not in started:
                done[account.id] = CheckResult(account.id, account.threshold, not_checked=NOT_STARTED)
                continue
            message = (
                "no result before the run's check deadline"
                if isinstance(outcome, Unfinished)
                else f"unexpected {type(outcome).__name__}"  # check_request catches everything else
            )
            kind = FailureKind.TIMEOUT if isinstance(outcome, Unfinished) else FailureKind.HTTP
            done[account.id] = CheckResult(account.id, account.threshold, error=CheckError(kind, message))
    for same in requests:
        for account in same.accounts:
            if account.id in waiting:
                done[account.id] = CheckResult(account.id, account.threshold, not_checked=waiting[account.id])
    return [done[account.id] for account in settings.accounts]


NOT_STARTED = "this run could not start the check before its deadline (the function itself was too slow)"


@dataclass(frozen=True)
class SameRequest:
    """Accounts whose balance requests are the same: URL, method, headers (the key with them) and
    body. One request answers them all, made as the first one's provider makes it (its retries,
    its vendor's window); each account reads the reply with its own provider."""

    accounts: tuple[Account, ...]
    key: str

    @property
    def leader(self) -> Account:
        return self.accounts[0]


def same_requests(
    accounts: Sequence[Account], api_keys: Mapping[str, str], hint: Callable[[str], str]
) -> tuple[list[SameRequest], dict[str, CheckResult]]:
    """The run's distinct requests, in the order of their first account, and the result of each
    account that makes none (its key is missing or unusable: a failure of its own)."""
    found: dict[str, tuple[str, list[Account]]] = {}
    failed: dict[str, CheckResult] = {}
    for account in accounts:
        raw = api_keys.get(account.id)
        try:
            key = clean_key(account.secret_entry, raw, hint(account.secret_entry))
            request = account.provider.build_request(account.api_url, key)
        except CheckError as exc:
            failed[account.id] = _failed(account, exc.kind, exc.message, _usable(raw))
            continue
        except Exception as exc:  # a bug must still fail only this account, and visibly
            message = f"unexpected {type(exc).__name__}: {exc}"
            failed[account.id] = _failed(account, FailureKind.HTTP, message, _usable(raw))
            continue
        found.setdefault(_identity(request), (key, []))[1].append(account)
    return [SameRequest(tuple(members), key) for key, members in found.values()], failed


def _identity(request: Request) -> str:
    """What makes two requests the same, as a hash: the key is in it, and is never held as a name."""
    parts = json.dumps([request.method, request.url, sorted(request.headers.items())]).encode()
    return hashlib.sha256(parts + b"\x00" + (request.body or b"")).hexdigest()


def _usable(raw: str | None) -> list[str]:
    """The keys to redact from a failure before any request: the stored value, if it could be one."""
    return [raw.strip()] if isinstance(raw, str) and len(raw.strip()) >= MIN_KEY_CHARS else []


def _failed(account: Account, kind: FailureKind, message: str, sent: list[str]) -> CheckResult:
    return CheckResult(account.id, account.threshold, error=_safe(kind, message, sent))


def _paced(limit: RateLimit | None, share: Callable[[RateLimit], RateLimit]) -> RateLimit | None:
    return None if limit is None else share(limit)


def _in_turn(
    same: SameRequest,
    slot: float,
    start_by: float,
    starting: Callable[[], None],
    check: Callable[[], list[CheckResult]],
) -> list[CheckResult]:
    """Wait for the request's slot; one that could not start in time is not made, never a
    provider's failure: a run starved of CPU, or a slow secret read, is our own slowness."""
    starting()
    wait = slot - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    if time.monotonic() > start_by:
        return [CheckResult(a.id, a.threshold, not_checked=NOT_STARTED) for a in same.accounts]
    return check()


def declared_requests(accounts: Sequence[Account]) -> list[SameRequest]:
    """The requests the accounts make as far as the accounts file tells, without the keys: each
    secret entry stands for one key (`validate` has none)."""
    stand_ins = {a.id: "entry-" + hashlib.sha256(a.secret_entry.encode()).hexdigest() for a in accounts}
    return same_requests(accounts, stand_ins, str)[0]


@dataclass(frozen=True)
class Turns:
    """Different requests on one key, more than one run can make: they take turns (ratelimit.py).
    `shared.accounts` names each request by the first of its account ids."""

    shared: SharedKey
    requests: Mapping[str, SameRequest]

    @property
    def vendor(self) -> str:
        return next(iter(self.requests.values())).leader.vendor.name

    @property
    def accounts(self) -> list[Account]:
        return [account for same in self.requests.values() for account in same.accounts]

    def waiting(self, run_number: int, last_checked: Mapping[str, datetime | None] | None) -> list[Account]:
        """The accounts of the requests not in turn. A request is as overdue as the least recently
        checked of its accounts (never checked first)."""
        overdue = None
        if last_checked is not None:
            never = datetime.min.replace(tzinfo=UTC)
            overdue = {
                name: min(last_checked.get(a.id) or never for a in same.accounts)
                for name, same in self.requests.items()
            }
        return [a for name in self.shared.waiting(run_number, overdue) for a in self.requests[name].accounts]


def turns(requests: Sequence[SameRequest], seconds: float) -> list[Turns]:
    """The keys whose different requests are more than `seconds` of a run can start, grouped by
    the real keys (by hash), whatever the accounts file declares. Identical requests are one."""
    by_name = {min(a.id for a in same.accounts): same for same in requests}
    members = (
        (name, same.leader.vendor.id, same.leader.provider.rate_limit, _key_hash(same.key))
        for name, same in by_name.items()
    )
    return [
        Turns(shared, {name: by_name[name] for name in shared.accounts})
        for shared in shared_keys(members, seconds)
        if shared.over_limit
    ]


def _waiting(
    settings: CheckSettings,
    requests: Sequence[SameRequest],
    run_number: int,
    last_checked: LastChecked | None = None,
) -> dict[str, str]:
    """The accounts not in turn this run, with why; sized from the configured deadline, so turns
    are the same every run."""
    plan = settings.deadline_seconds - MIN_SECONDS_FOR_A_REQUEST - PLANNING_ALLOWANCE_SECONDS
    found = turns(requests, plan)
    checked_at = last_checked() if found and last_checked is not None else None
    waiting: dict[str, str] = {}
    for turn in found:
        shared = turn.shared
        reason = (
            f"waiting its turn: {len(turn.accounts)} accounts make {len(turn.requests)} different requests"
            f" with one {turn.vendor} key ({shared.limit.requests} requests per {shared.limit.per_seconds:g}"
            f" s), so each run makes {shared.per_run} of them and checks each account at least every"
            f" {shared.turns} runs"
        )
        waiting |= dict.fromkeys((a.id for a in turn.waiting(run_number, checked_at)), reason)
    return waiting


def _key_hash(key: str | None) -> str:
    """A key's identity for grouping: never the key itself. No key: no group."""
    key = (key or "").strip()
    return hashlib.sha256(key.encode()).hexdigest() if key else ""


def check_account(
    account: Account,
    api_keys: Mapping[str, str],
    keys: KeySource,
    http: Http,
    deadline: float,
    limiter: RateLimiter | None = None,
    start_at: float | None = None,
    tokens: TokenCache = TOKENS,
) -> CheckResult:
    """One account's check: `check_request` for a request of its own."""
    requests, failed = same_requests([account], api_keys, keys.key_hint)
    if failed:
        return failed[account.id]
    [result] = check_request(requests[0], keys, http, deadline, limiter, start_at, tokens)
    return result


def check_request(
    same: SameRequest,
    keys: KeySource,
    http: Http,
    deadline: float,
    limiter: RateLimiter | None = None,
    start_at: float | None = None,
    tokens: TokenCache = TOKENS,
) -> list[CheckResult]:
    """One request and every account it answers; `deadline` (absolute, `time.monotonic()`) covers
    all of it, re-read included. A failed request fails each of its accounts with its error.

    Each account's reply and messages are redacted against the keys sent for it (the one key, a
    fresh one after a 401, and any access token bought with them) and nothing else: another
    account's value can never alter its reply, and the work does not grow with the number of
    accounts."""
    leader, key = same.leader, same.key
    sent: list[str] = [key]
    by_account = {account.id: sent for account in same.accounts}
    answers: dict[str, HttpReply | CheckError]
    now = datetime.now(UTC)
    try:
        if start_at is not None:  # the slot reserved when the run was planned
            time.sleep(max(0.0, start_at - time.monotonic()))
        sending, cached = _sending_key(leader, key, keys, http, deadline, limiter, tokens, sent)
        if start_at is not None:
            reply = _send(leader, sending, key, http, deadline, limiter)
        else:
            reply = _fetch(leader, sending, key, http, deadline, limiter)
        if reply.status == 401 and cached is not None and _time_for_a_retry(deadline):
            # A cached token may have been revoked since it was bought: another one, once (bought
            # now, or by another check of these credentials meanwhile).
            tokens.drop(cached, key, sending)
            sending, _ = _sending_key(leader, key, keys, http, deadline, limiter, tokens, sent)
            reply = _fetch(leader, sending, key, http, deadline, limiter)
        answers = dict.fromkeys(by_account, reply)
        if reply.status == 401 and _time_for_a_retry(deadline):
            _retry_rotated(same, keys, http, deadline, limiter, tokens, answers, by_account)
    except CheckError as exc:
        answers = dict.fromkeys(by_account, exc)
    except Exception as exc:  # a bug must still fail only these accounts, and visibly
        bug = CheckError(FailureKind.HTTP, f"unexpected {type(exc).__name__}: {exc}")
        answers = dict.fromkeys(by_account, bug)
    return [_read(account, answers[account.id], by_account[account.id], now) for account in same.accounts]


def _retry_rotated(
    same: SameRequest,
    keys: KeySource,
    http: Http,
    deadline: float,
    limiter: RateLimiter | None,
    tokens: TokenCache,
    answers: dict[str, HttpReply | CheckError],
    by_account: dict[str, list[str]],
) -> None:
    """After a 401 the key may have been rotated since we cached the secret: read it again, once,
    and send the leader's new key. Its reply answers the accounts whose new request is the same;
    an account whose new value cannot be a key says so; the others keep the 401 (the next run
    sends theirs)."""
    try:
        fresh = keys_by_account(same.accounts, keys.api_keys(refresh=True))
    except CheckError:
        return  # the 401 is the more useful thing to report
    renewed, unusable = same_requests(same.accounts, fresh, keys.key_hint)
    for name, result in unusable.items():
        if result.error is not None:
            answers[name] = result.error
    leader = next((group for group in renewed if same.leader in group.accounts), None)
    if leader is None or leader.key == same.key:
        return
    sent = [leader.key]
    answer: HttpReply | CheckError
    try:
        sending, _ = _sending_key(
            same.leader, leader.key, keys, http, deadline, limiter, tokens, sent, fresh=True
        )
        answer = _fetch(same.leader, sending, leader.key, http, deadline, limiter)
    except CheckError as exc:
        answer = exc
    for account in leader.accounts:
        answers[account.id] = answer
        by_account[account.id] = [*by_account[account.id], *sent]


def _read(account: Account, answer: HttpReply | CheckError, sent: list[str], now: datetime) -> CheckResult:
    """One account's result from the request's answer, read with its own provider. Any body may
    echo a key (a 200 with an error message too): it is redacted once decoded, before any message
    quotes it cut short."""
    try:
        if isinstance(answer, CheckError):
            raise answer
        balance = interpret_reply(account.provider, answer, redactor_for(*sent), now)
    except CheckError as exc:
        return _failed(account, exc.kind, exc.message, sent)
    except Exception as exc:  # a bug must still fail only this account, and visibly
        return _failed(account, FailureKind.HTTP, f"unexpected {type(exc).__name__}: {exc}", sent)
    return CheckResult(account.id, account.threshold, balance=balance)


def _time_for_a_retry(deadline: float) -> bool:
    return deadline - time.monotonic() >= MIN_SECONDS_FOR_A_RETRY


def _sending_key(
    account: Account,
    key: str,
    keys: KeySource,
    http: Http,
    deadline: float,
    limiter: RateLimiter | None,
    tokens: TokenCache,
    sent: list[str],
    *,
    fresh: bool = False,
) -> tuple[str, str | None]:
    """What the balance request carries: the key, or an access token bought with it (cached unless
    `fresh`), and the token endpoint when the token came from the cache. A two-part key is checked
    first. The token joins `sent`: everything this check says is redacted of it as of a key."""
    provider = account.provider
    exchange = provider.token
    if not provider.two_part_key and exchange is None:
        return key, None
    client_id, client_secret = split_pair(account.secret_entry, key, keys.key_hint(account.secret_entry))
    if exchange is None:
        return key, None
    request = exchange.build_request(account.api_url, client_id, client_secret)
    if not fresh:
        cached = tokens.get(request.url, key)
        if cached is not None:
            sent.append(cached)
            return cached, request.url
    buying = tokens.buying(request.url, key)
    if not buying.acquire(timeout=max(0.0, deadline - time.monotonic())):
        raise CheckError(
            FailureKind.TIMEOUT, "another check was still buying the access token at the deadline"
        )
    try:
        if not fresh:  # bought by another check while this one waited
            cached = tokens.get(request.url, key)
            if cached is not None:
                sent.append(cached)
                return cached, request.url
        return _buy_token(account, exchange, request, http, deadline, limiter, tokens, key, sent), None
    finally:
        buying.release()


def _buy_token(
    account: Account,
    exchange: TokenExchange,
    request: Request,
    http: Http,
    deadline: float,
    limiter: RateLimiter | None,
    tokens: TokenCache,
    key: str,
    sent: list[str],
) -> str:
    """The token exchange itself; the token is cached and joins `sent` before anything quotes it."""
    reply = _with_a_slot(account, request, http, deadline, limiter, key)
    redactor = redactor_for(*sent)
    if reply.status != 200:
        detail = describe_error_body(reply.body, reply.content_type, redactor)
        kind = {429: FailureKind.RATE_LIMITED}.get(
            reply.status, FailureKind.AUTH if reply.status in (400, 401, 403) else FailureKind.HTTP
        )
        raise CheckError(kind, f"the token exchange answered HTTP {reply.status}: {detail}")
    payload = redactor.redact_json(decode_json_object(reply.body, reply.content_type))
    assert isinstance(payload, dict)  # redaction keeps the shape
    token = exchange.parse_token(payload)
    sent.append(token.access_token)
    tokens.put(request.url, key, token)
    return token.access_token


def _with_a_slot(
    account: Account, request: Request, http: Http, deadline: float, limiter: RateLimiter | None, key: str
) -> HttpReply:
    """A request besides the planned one (a token exchange): it takes a slot of the key's rate limit,
    as a retry does, and so does each of its own retries."""
    provider = account.provider
    limit = provider.rate_limit
    if limiter is not None and limit is not None:
        paced = retries(limit)
        vendor = account.vendor
        if not limiter.acquire(vendor.id, key, paced, deadline - MIN_SECONDS_FOR_A_REQUEST, share=RETRY):
            raise CheckError(
                FailureKind.RATE_LIMITED,
                f"no room in {vendor.name}'s rate limit ({limit.requests} requests per"
                f" {limit.per_seconds:g} s) for the token exchange before the deadline",
            )
        pace = functools.partial(limiter.acquire, vendor.id, key, paced, share=RETRY)
        return http.send(request, provider.retry, deadline, pace)
    return http.send(request, provider.retry, deadline)


def _safe(kind: FailureKind, message: str, sent: list[str]) -> CheckError:
    """The last line of defence: no form or fragment of a key sent, nothing unprintable."""
    return CheckError(kind, printable(redactor_for(*sent).redact(message)))


def _fetch(
    account: Account, sending: str, key: str, http: Http, deadline: float, limiter: RateLimiter | None
) -> HttpReply:
    """A request that takes its rate-limit slot now (the re-read after a 401), waiting for it.
    `sending` goes in the request (the key, or a token bought with it); `key` names the rate limit."""
    provider = account.provider
    limit = provider.rate_limit
    start_by = deadline - MIN_SECONDS_FOR_A_REQUEST
    if limiter is not None and not limiter.acquire(
        account.vendor.id, key, None if limit is None else retries(limit), start_by, share=RETRY
    ):
        raise _no_slot_error(account)
    return _send(account, sending, key, http, deadline, limiter)


def _send(
    account: Account, sending: str, key: str, http: Http, deadline: float, limiter: RateLimiter | None
) -> HttpReply:
    """The request, whose slot is taken; each retry takes its own (of `key`'s limit)."""
    provider = account.provider
    pace = None
    if limiter is not None and provider.rate_limit is not None:
        pace = functools.partial(
            limiter.acquire, account.vendor.id, key, retries(provider.rate_limit), share=RETRY
        )
    return http.send(provider.build_request(account.api_url, sending), provider.retry, deadline, pace)


def _no_slot_error(account: Account) -> CheckError:
    """Only the re-read after a 401 books a slot this late: what is known is that the key was refused."""
    limit = account.provider.rate_limit
    assert limit is not None
    return CheckError(
        FailureKind.AUTH,
        f"HTTP 401, key rejected; the key read again from the secret could not be tried before the"
        f" deadline ({account.vendor.name} allows {limit.requests} requests per"
        f" {limit.per_seconds:g} s per key)",
    )


NOTHING_TO_REDACT = Redactor(())


def interpret_reply(
    provider: Provider, reply: HttpReply, redactor: Redactor = NOTHING_TO_REDACT, now: datetime | None = None
) -> Balance:
    """Pure: a reply becomes a Balance or a CheckError that says what went wrong.

    The reply is redacted after it is decoded (every string of a JSON body, the headers, or the
    error text), so a key echoed with escapes or in another encoding is found, and before a
    provider quotes it. `now`, the check's time, dates a renewal given in days (None: the time of
    the call).
    """
    if reply.status == 200:
        payload = redactor.redact_json(decode_json_object(reply.body, reply.content_type))
        assert isinstance(payload, dict)  # redaction keeps the shape
        if provider.parse_reply is None:
            return provider.parse_balance(payload)
        headers = {name: redactor.redact(value) for name, value in reply.headers.items()}
        context = ReplyContext(headers) if now is None else ReplyContext(headers, now)
        return provider.parse_reply(payload, context)
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
    raw = body.decode("latin-1")  # one character per byte: the key's ASCII bytes as they are
    if redactor.redact(text) is text and redactor.redact(raw) is not raw:
        # The key is in the bytes but not in the text they became: a charset (declared, or a
        # stray BOM) that maps ASCII elsewhere (UTF-7, EBCDIC, UTF-16 of ASCII bytes) hides it
        # in characters that give it back when encoded again. Read the bytes as UTF-8 instead.
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
            return body.decode("utf-8", errors="replace")
    return body.decode("utf-8", errors="replace")
