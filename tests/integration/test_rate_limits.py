"""Rate limits across accounts over real sockets: retries count against the shared key's window."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

import pytest

from credit_monitor.adapters.http import HttpClient, build_pool_manager
from credit_monitor.checks import run_checks
from credit_monitor.config import Account, CheckSettings
from credit_monitor.providers import lemlist
from tests.support.simulators import ApiSimulator, Reply

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
