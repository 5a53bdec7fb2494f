"""Rate limits across accounts over real sockets: retries count against the shared key's window."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from pathlib import Path

import pytest
import trustme

from credit_monitor import app
from credit_monitor.adapters.http import HttpClient, build_pool_manager
from credit_monitor.checks import run_checks
from credit_monitor.config import Account, CheckSettings
from credit_monitor.model import CheckResult
from credit_monitor.providers import CATALOGUE, lemlist
from tests.support.aws import Stack
from tests.support.harness import Invoke, SimClock
from tests.support.simulators import ApiSimulator, Reply
from tests.support.vendors import CATALOGUE_VENDORS, StaticKeys, VendorSimulator

TEAM_KEY = "lm_shared_team_key_7d2e5b9c"


class SharedKey:
    def __init__(self, accounts: list[Account]) -> None:
        self.keys = {account.id: TEAM_KEY for account in accounts}

    def api_keys(self, *, refresh: bool = False) -> Mapping[str, str]:
        return self.keys

    def key_hint(self, account_id: str) -> str:
        return "test"


def test_retries_of_accounts_sharing_a_key_stay_inside_its_window(
    lemlist_api: ApiSimulator, ca_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """25 accounts on one lemlist key (20 requests / 2 s); every first request gets a 503. The 50
    requests, retries included, never put more than 20 in any 2 s, and every account succeeds."""
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    lemlist_api.valid_keys = {TEAM_KEY}
    lemlist_api.then(*[Reply(503, "Service Unavailable", {"Content-Type": "text/plain"})] * 25)
    accounts = [Account(f"team-{n:02d}", lemlist.PROVIDER, lemlist_api.base_url, 100) for n in range(25)]

    results = run_checks(
        CheckSettings(tuple(accounts), 10),
        SharedKey(accounts),
        HttpClient(build_pool_manager()),
        time.monotonic() + 10,
    )

    assert [r.error for r in results] == [None] * 25
    arrivals = sorted(r.at for r in lemlist_api.credit_requests)
    assert len(arrivals) == 50
    busiest = max(sum(1 for a in arrivals if t <= a < t + 2.0) for t in arrivals)
    assert busiest <= 20, f"{busiest} requests with one lemlist key within 2 s"


SHARED = 60
"""Accounts on the one key: with a 3 s deadline, one 2 s window is planned, 10 first requests per
run, so they take k = 6 turns."""


@pytest.fixture
def secret_string() -> str:
    return json.dumps({"team": TEAM_KEY})


@pytest.fixture
def sixty_on_one_key(
    function_env: dict[str, str], lemlist_api: ApiSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "accounts.toml"
    path.write_text(
        "".join(
            f'[[account]]\nid = "team-{n:02d}"\nprovider = "lemlist"\nwarning = 100\nkey = "team"\n'
            f'url = "{lemlist_api.base_url}"\n\n'
            for n in range(SHARED)
        )
    )
    monkeypatch.setenv("ACCOUNTS_FILE", str(path))
    monkeypatch.setenv("CHECK_DEADLINE_SECONDS", "3")
    lemlist_api.valid_keys = {TEAM_KEY}
    lemlist_api.balance = 5000
    app.runtime.cache_clear()


@pytest.mark.usefixtures("sixty_on_one_key")
@pytest.mark.parametrize("hours_between", [1, 6], ids=["hourly", "every-k-periods"])
def test_accounts_on_one_key_take_turns_through_the_handler(
    invoke: Invoke, lemlist_api: ApiSimulator, stack: Stack, hours_between: int
) -> None:
    """60 accounts on one lemlist key, a 3 s deadline: no account ever fails, no CHECK FAILING is
    sent, each run checks its own 10 and the rest are NOT CHECKED, every account is checked within
    k = 6 runs, and the simulator never sees more than the window allows. Also when the schedule
    skips periods so that every run falls on the same run number mod k (a cron() that skips, or an
    AlarmPeriodSeconds shorter than the schedule): turns come from when each was last checked."""
    k = math.ceil(SHARED / 10)
    clock = SimClock()
    checked: list[set[str]] = []
    for _ in range(2 * k + 3):  # past FAILURES_BEFORE_ALERT runs of waiting for every account
        before = len(lemlist_api.credit_requests)
        run = invoke(clock)
        assert run.error is None, run.error
        summary = run.summary()
        assert {entry["status"] for entry in summary.values()} == {"OK", "NOT CHECKED"}
        checked.append({name for name, entry in summary.items() if entry["status"] == "OK"})
        assert len(checked[-1]) == 10
        assert run.aggregate("AccountsFailing") == 0
        assert run.aggregate("AccountsNotChecked") == SHARED - 10
        arrivals = sorted(r.at for r in lemlist_api.credit_requests[before:])
        assert len(arrivals) == 10
        assert max(sum(1 for a in arrivals if t <= a < t + 2.0) for t in arrivals) <= 20
        clock.advance(hours_between)

    every = {f"team-{n:02d}" for n in range(SHARED)}
    for first in range(len(checked) - k + 1):
        assert set().union(*checked[first : first + k]) == every, f"runs {first}..{first + k - 1}"
    assert checked[0] != checked[1], "consecutive runs check different accounts"
    assert stack.inbox.messages() == [], "no CHECK FAILING, nothing else either"


# --- the catalogue's documented limits on the balance endpoint itself --------------------------------


def _vendor_run(
    name: str, key: str, count: int, server_cert: trustme.LeafCert, seconds: float
) -> tuple[VendorSimulator, list[CheckResult]]:
    api = VendorSimulator(CATALOGUE_VENDORS[name], server_cert, key).start()
    accounts = [Account(f"{name}-{n:02d}", CATALOGUE[name], api.base_url, 100) for n in range(count)]
    keys = StaticKeys({account.id: key for account in accounts})
    try:
        results = run_checks(
            CheckSettings(tuple(accounts), seconds),
            keys,
            HttpClient(build_pool_manager()),
            time.monotonic() + seconds,
        )
    finally:
        api.stop()
    return api, results


def test_scrapingbee_six_usage_requests_a_minute_are_honoured_across_accounts_on_one_key(
    server_cert: trustme.LeafCert, ca_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """8 accounts on one ScrapingBee key: a run books at most half of the 6 a minute for first
    requests, so 3 are checked and 5 wait their turn; none fails, and the vendor sees 3 requests."""
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    api, results = _vendor_run("scrapingbee", "sb_shared_key_5e8a1c7b3d9f", 8, server_cert, 5)

    checked = [result for result in results if result.checked]
    assert [result.error for result in checked] == [None] * 3
    assert all("waiting its turn" in (result.not_checked or "") for result in results if not result.checked)
    assert len(api.requests) == 3


def test_snovio_accounts_on_one_client_share_one_token_inside_the_apis_60_a_minute(
    server_cert: trustme.LeafCert, ca_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """40 accounts on one Snov.io client: the first requests are booked in at most half the 60 a
    minute, the others wait their turn, and one token is bought for all the checked ones: the token
    request counts in the window too, and the whole stays inside it."""
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    api, results = _vendor_run("snovio", "snov-client-7d2e5b9c:snov-secret-4f1c9a7e2b8d", 40, server_cert, 5)

    checked = [result for result in results if result.checked]
    assert [result.error for result in checked] == [None] * len(checked)
    assert 0 < len(checked) <= 30
    assert all("waiting its turn" in (result.not_checked or "") for result in results if not result.checked)
    assert len(api.token_requests) == 1
    assert len(api.requests) == len(checked)
