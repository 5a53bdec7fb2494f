"""Rate limits across accounts over real sockets: retries count against the shared key's window."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import trustme

from credit_monitor import checks
from credit_monitor.config import Account
from credit_monitor.model import CheckResult, FailureKind
from credit_monitor.providers import CATALOGUE, RateLimit, http_json
from credit_monitor.ratelimit import RateLimiter
from tests.support.aws import Stack
from tests.support.harness import Invoke, SimClock
from tests.support.simulators import Reply
from tests.support.vendors import (
    CATALOGUE_VENDORS,
    LUSHA,
    KeyPlace,
    Vendor,
    VendorRequest,
    VendorSimulator,
    check_all,
)

TEAM_KEY = "lm_shared_team_key_7d2e5b9c"
TEAM_API = Vendor(
    name="team-api",
    base_path="",
    path="/v1/credits",
    key=KeyPlace("header", "X-Api-Key"),
    success=lambda balance: {"credits": balance},
    bad_key=Reply(401, {"message": "invalid key"}),
    missing_key=Reply(401, {"message": "no key"}),
    method="POST",
)
"""An API that answers each campaign's credits, named in a POST body, with one key per team: the
requests of a team's accounts differ, so they share the key's window and take turns."""


@pytest.fixture
def team_api(server_cert: trustme.LeafCert) -> Iterator[VendorSimulator]:
    simulator = VendorSimulator(TEAM_API, server_cert, TEAM_KEY).start()
    yield simulator
    simulator.stop()


def campaign(
    team_api: VendorSimulator, n: int, requests: int = 20, per_seconds: float = 2
) -> dict[str, object]:
    """An http-json entry for campaign n; by default 20 requests / 2 s per key, as lemlist allows."""
    return {
        "url": team_api.url,
        "method": "POST",
        "body": {"campaign": n},
        "auth": {"kind": "header", "name": "X-Api-Key"},
        "balance": "credits",
        "rate_limit": {"requests": requests, "per_seconds": per_seconds},
    }


def busiest(requests: list[VendorRequest], seconds: float) -> int:
    return busiest_times([request.at for request in requests], seconds)


def busiest_times(times: list[float], seconds: float) -> int:
    """The most of `times` in any half-open span of `seconds`."""
    return max(sum(1 for a in times if t <= a < t + seconds) for t in times)


class BookingLimiter(RateLimiter):
    """The run's own limiter, which also notes when each request it granted could start: a reserved
    first request at its slot, a retry when its wait for a slot ended."""

    booked: list[float]

    def __init__(self) -> None:
        super().__init__()
        self.booked = []

    def reserve(self, vendor: str, key: str, limit: RateLimit | None, share: str = "") -> float:
        start = super().reserve(vendor, key, limit, share)
        self.booked.append(start)
        return start

    def acquire(
        self, vendor: str, key: str, limit: RateLimit | None, deadline: float, share: str = ""
    ) -> bool:
        granted = super().acquire(vendor, key, limit, deadline, share)
        if granted:
            self.booked.append(time.monotonic())
        return granted


def test_retries_of_accounts_sharing_a_key_stay_inside_its_window(
    team_api: VendorSimulator, ca_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """25 campaigns on one key (20 requests / 2 s); every first request gets a 503. All 50 requests,
    retries included, took a slot of the key's window, never more than 20 slots in any 2 s, and none
    reached the vendor before its slot; every account succeeds.

    What the vendor counts is the arrivals, later than the slots by the time a thread takes to wake
    and a connection to open; `ratelimit.margin` covers that on a machine that is not starved of CPU
    (docs/accounts.md). Counting arrivals here would time this machine's scheduler, not the pacing."""
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    limiters: list[BookingLimiter] = []

    def spied() -> BookingLimiter:
        limiters.append(BookingLimiter())
        return limiters[-1]

    monkeypatch.setattr(checks, "RateLimiter", spied)
    team_api.then(*[Reply(503, "Service Unavailable", {"Content-Type": "text/plain"})] * 25)
    accounts = []
    for n in range(25):
        provider, url = http_json.from_entry(campaign(team_api, n))
        accounts.append(Account(f"team-{n:02d}", provider, url, 100, key_entry="team"))

    results = check_all(accounts, {"team": TEAM_KEY}, 10)

    assert [r.error for r in results] == [None] * 25
    [limiter] = limiters
    arrivals, slots = sorted(r.at for r in team_api.requests), sorted(limiter.booked)
    assert len(arrivals) == len(slots) == 50, "every request, retries included, took a slot"
    assert busiest_times(slots, 2.0) <= 20, "slots of one key within 2 s"
    assert all(arrival >= slot for arrival, slot in zip(arrivals, slots, strict=True)), (
        "no request reached the vendor before its slot"
    )


SHARED = 60
"""Accounts on the one key: with a 3 s deadline, one 2 s window is planned, 10 first requests per
run, so they take k = 6 turns."""


@pytest.fixture
def secret_string() -> str:
    return json.dumps({"team": TEAM_KEY})


@pytest.fixture
def sixty_on_one_key(
    accounts_file: Callable[[str], Path], team_api: VendorSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHECK_DEADLINE_SECONDS", "3")
    accounts_file(
        "".join(
            f'[[account]]\nid = "team-{n:02d}"\nprovider = "http-json"\nurl = "{team_api.url}"\n'
            f'method = "POST"\nbody = {{ campaign = {n} }}\n'
            'auth = { kind = "header", name = "X-Api-Key" }\nbalance = "credits"\n'
            'rate_limit = { requests = 20, per_seconds = 2 }\nwarning = 100\nkey = "team"\n\n'
            for n in range(SHARED)
        )
    )


@pytest.mark.usefixtures("sixty_on_one_key")
@pytest.mark.parametrize("hours_between", [1, 6], ids=["hourly", "every-k-periods"])
def test_accounts_on_one_key_take_turns_through_the_handler(
    invoke: Invoke, team_api: VendorSimulator, stack: Stack, hours_between: int
) -> None:
    """60 campaigns on one key, each its own request, a 3 s deadline: no account ever fails, no
    CHECK FAILING is sent, each run checks its own 10 and the rest are NOT CHECKED, every account
    is checked within k = 6 runs, and the simulator never sees more than the window allows. Also
    when the schedule skips periods so that every run falls on the same run number mod k (a cron()
    that skips, or an AlarmPeriodSeconds shorter than the schedule): turns come from when each was
    last checked."""
    k = math.ceil(SHARED / 10)
    clock = SimClock()
    checked: list[set[str]] = []
    for _ in range(2 * k + 3):  # past FAILURES_BEFORE_ALERT runs of waiting for every account
        before = len(team_api.requests)
        run = invoke(clock)
        assert run.error is None, run.error
        summary = run.summary()
        assert {entry["status"] for entry in summary.values()} == {"OK", "NOT CHECKED"}
        checked.append({name for name, entry in summary.items() if entry["status"] == "OK"})
        assert len(checked[-1]) == 10
        assert run.aggregate("AccountsFailing") == 0
        assert run.aggregate("AccountsNotChecked") == SHARED - 10
        assert len(team_api.requests[before:]) == 10
        assert busiest(team_api.requests[before:], 2.0) <= 20
        clock.advance(hours_between)

    every = {f"team-{n:02d}" for n in range(SHARED)}
    for first in range(len(checked) - k + 1):
        assert set().union(*checked[first : first + k]) == every, f"runs {first}..{first + k - 1}"
    assert checked[0] != checked[1], "consecutive runs check different accounts"
    assert stack.inbox.messages() == [], "no CHECK FAILING, nothing else either"


LUSHA_KEY = "lusha-team-key-1f4e9b2c7a5d"
TEAM = 30
"""Accounts naming one Lusha key (5 requests a minute): one run could start 2 different requests."""


@pytest.fixture
def lusha_api(server_cert: trustme.LeafCert) -> Iterator[VendorSimulator]:
    simulator = VendorSimulator(LUSHA, server_cert, LUSHA_KEY, balance=4200).start()
    yield simulator
    simulator.stop()


def lusha_team(lusha_api: VendorSimulator) -> list[Account]:
    provider = CATALOGUE["lusha"]
    return [
        Account(f"lusha-{n:02d}", provider, lusha_api.base_url, 100, key_entry="lusha-team")
        for n in range(TEAM)
    ]


def test_one_request_answers_every_account_that_makes_it(
    lusha_api: VendorSimulator, ca_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Thirty accounts name one Lusha key: their requests are the same (URL, method, key, body), so
    one is made and its balance is every account's; none waits its turn."""
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    accounts = lusha_team(lusha_api)

    results = check_all(accounts, {"lusha-team": LUSHA_KEY}, 5)

    assert [(r.account, r.balance and r.balance.credits) for r in results] == [(a.id, 4200) for a in accounts]
    assert len(lusha_api.requests) == 1


def test_a_shared_request_that_fails_fails_each_of_its_accounts_with_the_same_error(
    lusha_api: VendorSimulator, ca_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key was revoked: one 401 for all thirty, each account failing with it, the reply
    redacted of the key it echoes."""
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    lusha_api.then(Reply(401, {"statusCode": 401, "message": "Invalid API key {key}", "errors": []}))
    accounts = lusha_team(lusha_api)

    results = check_all(accounts, {"lusha-team": LUSHA_KEY}, 5)

    errors = {(r.error.kind, r.error.message) for r in results if r.error is not None}
    assert len([r for r in results if r.error is not None]) == TEAM
    [(kind, message)] = errors
    assert kind is FailureKind.AUTH
    assert "Invalid API key" in message
    assert LUSHA_KEY not in message
    assert len(lusha_api.requests) == 1


def test_requests_that_differ_still_take_turns_in_the_vendors_window(
    team_api: VendorSimulator, ca_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Campaigns on one key of an API allowing 2 requests a minute: six campaigns are six different
    requests, so one run makes one (half the window is kept for retries) and the others wait their
    turn; a seventh account asking for campaign 0 again shares its request."""
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    accounts = []
    for n, body in enumerate([*range(6), 0]):
        provider, url = http_json.from_entry(campaign(team_api, body, requests=2, per_seconds=60))
        accounts.append(Account(f"campaign-{n}", provider, url, 100, key_entry="team"))

    results = check_all(accounts, {"team": TEAM_KEY}, 5)

    checked = [r.account for r in results if r.balance is not None]
    assert [r.error for r in results] == [None] * 7
    assert len(team_api.requests) == 1
    assert checked in (["campaign-0", "campaign-6"], *([f"campaign-{n}"] for n in range(1, 6)))
    waiting = [r.not_checked for r in results if r.not_checked is not None]
    assert waiting
    assert all("waiting its turn" in reason for reason in waiting)


@pytest.fixture
def lusha_team_file(accounts_file: Callable[[str], Path], lusha_api: VendorSimulator) -> None:
    lusha_api.valid_keys = {TEAM_KEY}
    accounts_file(
        "".join(
            f'[[account]]\nid = "lusha-{n:02d}"\nprovider = "lusha"\nurl = "{lusha_api.base_url}"\n'
            f'key = "team"\nwarning = {100 + n}\n\n'
            for n in range(TEAM)
        )
    )


@pytest.mark.usefixtures("lusha_team_file")
def test_through_the_handler_one_request_serves_thirty_accounts_each_with_its_own_result(
    invoke: Invoke, lusha_api: VendorSimulator, stack: Stack
) -> None:
    """Every run: one request to Lusha, and thirty accounts checked, each with its own balance
    metric and summary entry; when the key is revoked, thirty failures are counted, one request."""
    clock = SimClock()
    run = invoke(clock)

    assert run.error is None
    assert len(lusha_api.requests) == 1
    assert run.metric("CreditsRemaining") == {f"lusha-{n:02d}": 4200 for n in range(TEAM)}
    assert run.aggregate("AccountsChecked") == TEAM
    assert run.aggregate("AccountsNotChecked") == 0

    lusha_api.valid_keys = {"another-key-entirely-0000"}
    clock.advance(1)
    run = invoke(clock)

    assert len(lusha_api.requests) == 2
    assert run.aggregate("AccountsFailing") == TEAM
    assert set(run.check_failed().values()) == {1}


# --- the catalogue's documented limits on the balance endpoint itself --------------------------------


def _vendor_run(
    name: str, key: str, count: int, server_cert: trustme.LeafCert, seconds: float
) -> tuple[VendorSimulator, list[CheckResult]]:
    api = VendorSimulator(CATALOGUE_VENDORS[name], server_cert, key).start()
    accounts = [Account(f"{name}-{n:02d}", CATALOGUE[name], api.base_url, 100) for n in range(count)]
    try:
        results = check_all(accounts, {account.id: key for account in accounts}, seconds)
    finally:
        api.stop()
    return api, results


def test_scrapingbee_accounts_on_one_key_are_answered_by_one_usage_request(
    server_cert: trustme.LeafCert, ca_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """8 accounts on one ScrapingBee key (6 usage requests a minute): their requests are the same,
    so one request answers all 8, and none waits its turn."""
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    api, results = _vendor_run("scrapingbee", "sb_shared_key_5e8a1c7b3d9f", 8, server_cert, 5)

    assert [(result.error, result.not_checked) for result in results] == [(None, None)] * 8
    assert len(api.requests) == 1


def test_snovio_accounts_on_one_client_share_one_token_and_one_balance_request(
    server_cert: trustme.LeafCert, ca_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """40 accounts on one Snov.io client (60 requests a minute): one token is bought, and one
    balance request made with it answers all 40."""
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    api, results = _vendor_run("snovio", "snov-client-7d2e5b9c:snov-secret-4f1c9a7e2b8d", 40, server_cert, 5)

    assert [(result.error, result.not_checked) for result in results] == [(None, None)] * 40
    assert len(api.token_requests) == 1
    assert len(api.requests) == 1
