"""Replies an alert must survive (issue #7): oversized, compressed, slow and malformed, and
connections that are refused or never answered.

Each one fails only its own check, with the failure kind that gives the right advice, in bounded
time and memory. Some tests call `HttpClient` directly over real loopback sockets, to measure what
the handler cannot show: elapsed time, peak memory.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

import credit_monitor
from credit_monitor import app
from credit_monitor.adapters.http import HttpClient, HttpReply, build_pool_manager
from credit_monitor.config import Account
from credit_monitor.model import CheckError, FailureKind
from credit_monitor.providers import CATALOGUE, RetryPolicy, fullenrich, http_json
from tests.support.aws import Stack, state_text
from tests.support.harness import Invoke, SimClock
from tests.support.keys import FULLENRICH_KEY
from tests.support.simulators import ApiSimulator, Reply
from tests.support.vendors import CATALOGUE_VENDORS, LEADMAGIC, NEVERBOUNCE, VendorSimulator, run_check

LEADMAGIC_KEY = "lmg_live_9d4b2f7a1c6e3b8d"
SNOV_PAIR = "snov-client-3c5e7a9b1d2f:snov-secret-8b6d4f2a1c3e5a7b"
DEADLINE_SLACK_SECONDS = 2.0
"""A request may overrun its deadline by a scheduling hiccup, never by a server's choice."""


@pytest.fixture
def client(ca_file: Path, monkeypatch: pytest.MonkeyPatch) -> HttpClient:
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    return HttpClient(build_pool_manager())


def fetch(client: HttpClient, url: str, seconds: float = 6.0) -> HttpReply | CheckError:
    """One GET as FullEnrich's check makes it, with a deadline `seconds` from now; a failure is returned."""
    headers = fullenrich.auth_headers(FULLENRICH_KEY)
    try:
        return client.get(url, headers, fullenrich.PROVIDER.retry, time.monotonic() + seconds)
    except CheckError as exc:
        return exc


def credits_url(api: ApiSimulator) -> str:
    return fullenrich.PROVIDER.build_request(api.base_url, FULLENRICH_KEY).url


def failure(outcome: HttpReply | CheckError) -> CheckError:
    assert isinstance(outcome, CheckError), f"expected a failure, got {outcome}"
    return outcome


# --- size -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, {"balance": 5, "padding": "x" * 70_000}),
        Reply(action="flood", size=50_000_000),
        Reply(action="flood", size=50_000_000, chunked=True),
        Reply(action="gzip_bomb", size=50_000_000),  # 49 KB that inflate 1,000-fold
    ],
    ids=["json-70KB", "flood-50MB", "chunked-flood-50MB", "gzip-bomb-under-the-cap"],
)
def test_a_reply_larger_than_the_cap_is_refused(
    client: HttpClient, fullenrich_api: ApiSimulator, reply: Reply
) -> None:
    fullenrich_api.then(reply)

    error = failure(fetch(client, credits_url(fullenrich_api)))

    assert error.kind is FailureKind.BAD_RESPONSE
    assert "reply larger than 64 KB" in error.message


def test_we_ask_for_an_uncompressed_reply_and_still_read_a_gzipped_one(
    client: HttpClient, fullenrich_api: ApiSimulator
) -> None:
    fullenrich_api.then(Reply(200, {"balance": 12}, encoding="gzip"))

    reply = fetch(client, credits_url(fullenrich_api))

    assert isinstance(reply, HttpReply)
    assert json.loads(reply.body) == {"balance": 12}
    assert fullenrich_api.requests[0].headers["accept-encoding"] == "identity"


def test_a_compression_we_cannot_bound_is_refused_as_such(
    client: HttpClient, fullenrich_api: ApiSimulator
) -> None:
    fullenrich_api.then(Reply(200, b"\x1b\x0b\x00\xf8\x8f\x94", {"Content-Encoding": "br"}))

    error = failure(fetch(client, credits_url(fullenrich_api)))

    assert error.kind is FailureKind.BAD_RESPONSE
    assert "compressed reply (br) not supported" in error.message


MEASURE_IN_A_CHILD = """
import json, resource, sys, time
from credit_monitor.adapters.http import HttpClient, build_pool_manager
from credit_monitor.model import CheckError
from credit_monitor.providers import fullenrich

http = HttpClient(build_pool_manager())
def get():
    return http.get(sys.argv[1], {}, fullenrich.PROVIDER.retry, time.monotonic() + 10)
get()  # warm up: TLS, imports, the first buffers
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    reply = get()
    outcome = {"status": reply.status, "bytes": len(reply.body)}
except CheckError as exc:
    outcome = {"kind": exc.kind.value, "message": exc.message}
outcome["grew_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps(outcome))
"""


@pytest.mark.parametrize(
    ("replies", "expected"),
    [
        ([Reply(action="gzip_bomb", size=300_000_000)], {"kind": "bad_response"}),
        ([Reply(action="gzip_bomb", size=50_000_000)], {"kind": "bad_response"}),
        ([Reply(action="flood", size=50_000_000)], {"kind": "bad_response"}),
        ([Reply(action="flood", size=50_000_000, chunked=True)], {"kind": "bad_response"}),
        # A 5xx is retried; urllib3 would read its whole body first.
        ([Reply(503, action="flood", size=50_000_000), Reply(200, {"balance": 1})], {"status": 200}),
    ],
    ids=["gzip-bomb-300MB", "gzip-bomb-50MB", "flood-50MB", "chunked-flood-50MB", "5xx-flood-then-ok"],
)
def test_peak_memory_does_not_grow_with_what_the_server_sends(
    fullenrich_api: ApiSimulator, ca_file: Path, replies: list[Reply], expected: dict[str, object]
) -> None:
    fullenrich_api.then(Reply(200, {"balance": 1}), *replies)
    source = Path(credit_monitor.__file__).resolve().parents[1]
    env = {**os.environ, "SSL_CERT_FILE": str(ca_file), "PYTHONPATH": str(source)}

    child = subprocess.run(
        [sys.executable, "-c", MEASURE_IN_A_CHILD, credits_url(fullenrich_api)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    outcome = json.loads(child.stdout)
    assert expected.items() <= outcome.items(), outcome
    assert outcome["grew_kb"] < 20 * 1024, f"peak RSS grew by {outcome['grew_kb'] / 1024:.0f} MB"


def test_a_body_that_drips_ends_at_the_deadline(client: HttpClient, fullenrich_api: ApiSimulator) -> None:
    fullenrich_api.then(Reply(200, {"balance": 5000, "note": "one byte a second"}, action="drip"))

    started = time.monotonic()
    # 5 s: a read timeout (30 % of it) longer than the drip's pace, which therefore never trips it.
    error = failure(fetch(client, credits_url(fullenrich_api), seconds=5))

    assert error.kind is FailureKind.TIMEOUT
    assert "still arriving at the deadline" in error.message
    assert time.monotonic() - started < 5 + DEADLINE_SLACK_SECONDS


def test_a_5xx_that_drips_is_retried_without_waiting_for_its_body(
    client: HttpClient, fullenrich_api: ApiSimulator
) -> None:
    fullenrich_api.then(Reply(503, "Service Unavailable, one byte a second", action="drip"))

    started = time.monotonic()
    reply = fetch(client, credits_url(fullenrich_api))

    assert isinstance(reply, HttpReply)
    assert reply.status == 200
    assert len(fullenrich_api.credit_requests) == 2
    assert time.monotonic() - started < 3


# --- what kind of failure -------------------------------------------------------------------------


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def unanswered_port() -> Iterator[int]:
    """A listener whose one-slot backlog is full: the kernel drops further SYNs, so connects time out."""
    with socket.socket() as listener, socket.socket() as filler:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        filler.connect(listener.getsockname())
        yield listener.getsockname()[1]


def test_a_refused_connection_is_a_connection_failure_not_a_timeout(
    client: HttpClient, closed_port: int
) -> None:
    error = failure(fetch(client, f"https://127.0.0.1:{closed_port}/api/v2/account/credits"))

    assert error.kind is FailureKind.CONNECTION
    assert error.message.startswith("could not connect")


def test_a_name_that_does_not_resolve_is_a_connection_failure(client: HttpClient) -> None:
    error = failure(fetch(client, "https://credit-monitor-test.invalid/api/v2/account/credits"))

    assert error.kind is FailureKind.CONNECTION
    assert error.message.startswith("could not connect")


def test_a_connect_that_times_out_stays_a_timeout(client: HttpClient, unanswered_port: int) -> None:
    started = time.monotonic()
    error = failure(fetch(client, f"https://127.0.0.1:{unanswered_port}/x", seconds=3))

    assert error.kind is FailureKind.TIMEOUT
    assert error.message == "connection timed out"
    assert time.monotonic() - started < 3 + DEADLINE_SLACK_SECONDS


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('{"balance": ' + "9" * 5000 + "}", "too many digits"),
        ('{"balance": 1' + "0" * 400 + "}", "must be a finite number"),
        ("[" * 30_000 + "]" * 30_000, "nested too deeply"),
    ],
    ids=["5000-digit-integer", "integer-beyond-float", "deep-nesting"],
)
def test_numbers_and_nesting_json_allows_but_python_cannot_read_are_bad_responses(
    invoke: Invoke, fullenrich_api: ApiSimulator, body: str, reason: str
) -> None:
    fullenrich_api.then(Reply(200, body))

    run = invoke()

    summary = run.summary()
    assert summary["fullenrich"]["failure"] == "bad_response"
    assert reason in summary["fullenrich"]["reason"]
    assert summary["lemlist"]["status"] == "OK"


@pytest.mark.parametrize(
    ("status", "retry_after"),
    [(429, "soon"), (503, "9" * 5000), (503, "Fri, 31 Dec 99999 23:59:59 GMT")],
    ids=["word", "5000-digits", "unreadable-date"],
)
def test_a_malformed_retry_after_is_ignored_and_the_status_retried(
    invoke: Invoke, lemlist_api: ApiSimulator, status: int, retry_after: str
) -> None:
    lemlist_api.then(Reply(status, "Try later", {"Retry-After": retry_after, "Content-Type": "text/plain"}))

    run = invoke()

    assert run.metric("CreditsRemaining")["lemlist"] == 800
    assert len(lemlist_api.credit_requests) == 2


# --- retries --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [Reply(503, "<html>Service Unavailable</html>", {"Content-Type": "text/html"}), Reply(action="drop")],
    ids=["503", "dropped-connection"],
)
def test_fullenrich_outages_are_retried_while_the_deadline_allows(
    invoke: Invoke, fullenrich_api: ApiSimulator, fault: Reply
) -> None:
    fullenrich_api.then(fault, fault)

    run = invoke()

    assert run.metric("CreditsRemaining")["fullenrich"] == 5000
    assert len(fullenrich_api.credit_requests) == 3


# --- numbers --------------------------------------------------------------------------------------

NEVERBOUNCE_KEY = "nb_live_7c1e9a4f2b8d6e3a5c0f"
OVERFLOWING = {
    "status": "success",
    "credits_info": {"paid_credits_remaining": 1.7e308, "free_credits_remaining": 1.7e308},
}


@pytest.mark.parametrize(
    "secret_string", [json.dumps({"fullenrich": FULLENRICH_KEY, "neverbounce-acme": NEVERBOUNCE_KEY})]
)
def test_a_balance_that_overflows_when_summed_is_a_failed_check_never_a_number(
    secret_string: str,
    function_env: dict[str, str],
    invoke: Invoke,
    stack: Stack,
    server_cert: trustme.LeafCert,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """NeverBounce's paid + free, each finite, add up to Infinity. The check fails as a bad
    response: no metric, no OK, and the state stays readable, so the next run goes on alerting."""
    with VendorSimulator(NEVERBOUNCE, server_cert, NEVERBOUNCE_KEY) as api:
        accounts = tmp_path / "accounts.toml"
        accounts.write_text(
            '[[account]]\nid = "neverbounce-acme"\nprovider = "neverbounce"\nwarning = 100\n'
            f'url = "{api.base_url}"\n'
        )
        monkeypatch.setenv("ACCOUNTS_FILE", str(accounts))
        app.runtime.cache_clear()
        api.then(Reply(200, OVERFLOWING))
        clock = SimClock()

        overflowed = invoke(clock)
        clock.advance(1)
        api.balance = 50  # below the warning level: the next run must still be able to say so
        after = invoke(clock)

    entry = overflowed.summary()["neverbounce-acme"]
    assert (entry["status"], entry["failure"]) == ("FAILED", "bad_response")
    assert "must be a finite number" in entry["reason"]
    assert "Infinity" not in overflowed.output
    assert overflowed.metric("CreditsRemaining") == {}
    assert overflowed.aggregate("AccountsFailing") == 1
    item = stack.dynamodb.get_item(TableName=stack.table_name, Key={"provider": {"S": "neverbounce-acme"}})
    assert "Infinity" not in state_text(item["Item"])

    assert after.error is None
    assert after.summary()["neverbounce-acme"]["status"] == "LOW"
    assert after.metric("CreditsRemaining") == {"neverbounce-acme": 50}
    assert [m["MessageAttributes"]["kind"]["Value"] for m in stack.inbox.messages()] == ["LOW"]


# --- headers, token replies and dates (issue 21) -----------------------------------------------------


@pytest.fixture
def trusted(ca_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))


def header_account(api: VendorSimulator) -> Account:
    provider, url = http_json.from_entry(
        {
            "url": api.url,
            "auth": {"kind": "header", "name": "X-API-Key"},
            "balance_header": "X-Credits-Remaining",
        }
    )
    return Account("acme-leadmagic", provider, url, threshold=100)


@pytest.mark.usefixtures("trusted")
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1" * 5000, "header 'X-Credits-Remaining' must be a number or a numeric string, got another string"),
        ("1e999", "header 'X-Credits-Remaining' must be a number or a numeric string, got another string"),
        ("NaN", "header 'X-Credits-Remaining' must be a number or a numeric string, got another string"),
        ("-0x10", "header 'X-Credits-Remaining' must be a number or a numeric string, got another string"),
    ],
    ids=["5000-digits", "exponent", "nan", "hex"],
)
def test_a_hostile_balance_header_is_a_bad_response_never_a_number(
    server_cert: trustme.LeafCert, value: str, message: str
) -> None:
    with VendorSimulator(LEADMAGIC, server_cert, LEADMAGIC_KEY) as api:
        api.then(Reply(200, {"credits": 5}, {"X-Credits-Remaining": value}))
        result = run_check(header_account(api), LEADMAGIC_KEY)

    assert result.error is not None
    assert (result.error.kind, result.error.message) == (FailureKind.BAD_RESPONSE, message)


def test_a_reply_with_many_long_headers_keeps_a_bounded_few(
    client: HttpClient, server_cert: trustme.LeafCert
) -> None:
    flood = {f"X-Filler-{n:02d}": "v" * 4000 for n in range(90)}
    with VendorSimulator(LEADMAGIC, server_cert, LEADMAGIC_KEY) as api:
        api.then(Reply(200, {"credits": 5}, flood))
        reply = client.get(api.url, {"X-API-Key": LEADMAGIC_KEY}, RetryPolicy(), time.monotonic() + 5)

    assert reply.status == 200
    assert len(reply.headers) <= 64
    assert max(len(value) for value in reply.headers.values()) <= 256


@pytest.mark.usefixtures("trusted")
@pytest.mark.parametrize(
    ("token_reply", "kind", "message"),
    [
        (
            Reply(200, {"access_token": "t" * 5000}),
            FailureKind.BAD_RESPONSE,
            "an access_token that cannot be sent",
        ),
        (
            Reply(200, {"access_token": "a\r\nX-Injected: 1"}),
            FailureKind.BAD_RESPONSE,
            "cannot be sent in a header",
        ),
        (
            Reply(200, "<html>login</html>", {"Content-Type": "text/html"}),
            FailureKind.BAD_RESPONSE,
            "not JSON",
        ),
        (Reply(200, [1, 2]), FailureKind.BAD_RESPONSE, "response must be a JSON object, got array"),
    ],
    ids=["5000-chars", "header-injection", "html", "array"],
)
def test_a_hostile_token_reply_fails_the_check_before_any_balance_request(
    server_cert: trustme.LeafCert, token_reply: Reply, kind: FailureKind, message: str
) -> None:
    with VendorSimulator(CATALOGUE_VENDORS["snovio"], server_cert, SNOV_PAIR) as api:
        api.token_script.append(token_reply)
        result = run_check(Account("acme-snov", CATALOGUE["snovio"], api.base_url, 100), SNOV_PAIR)
        balance_requests = list(api.requests)

    assert result.error is not None
    assert result.error.kind is kind
    assert message in result.error.message
    assert balance_requests == []


@pytest.mark.usefixtures("trusted")
@pytest.mark.parametrize(
    ("date", "message"),
    [
        ("2026-13-45", "'next_reset' must be an ISO 8601 date, got another string"),
        ("9" * 500, "'next_reset' must be a date, got a longer string"),
        (1782000000, "'next_reset' must be a date, got number"),
    ],
)
def test_a_renewal_date_that_is_no_date_fails_the_check_naming_it(
    server_cert: trustme.LeafCert, date: object, message: str
) -> None:
    with VendorSimulator(CATALOGUE_VENDORS["sendgrid"], server_cert, LEADMAGIC_KEY) as api:
        api.then(Reply(200, {"remain": 5, "total": 10, "next_reset": date}))
        result = run_check(Account("acme-sendgrid", CATALOGUE["sendgrid"], api.base_url, 100), LEADMAGIC_KEY)

    assert result.error is not None
    assert (result.error.kind, result.error.message) == (FailureKind.BAD_RESPONSE, message)
