"""run_checks plans rate-limited requests so that they never hold up anyone else. Pure: no sockets."""

from __future__ import annotations

import time
from collections.abc import Mapping

from credit_monitor.adapters.http import Pace
from credit_monitor.checks import run_checks
from credit_monitor.config import Account, CheckSettings
from credit_monitor.model import FailureKind
from credit_monitor.providers import HttpReply, Request, RetryPolicy, fullenrich, lemlist


class Recording:
    """The Http port: answers every balance at once and notes which account asked, and when."""

    def __init__(self) -> None:
        self.sent: list[tuple[float, str]] = []

    def send(
        self, request: Request, policy: RetryPolicy, deadline: float, pace: Pace | None = None
    ) -> HttpReply:
        self.sent.append((time.monotonic(), request.url))
        body = b'{"balance": 5000}' if "fullenrich" in request.url else b'{"credits": 800}'
        return HttpReply(200, body, "application/json")


class Keys:
    def __init__(self, keys: Mapping[str, str]) -> None:
        self.keys = dict(keys)

    def api_keys(self, *, refresh: bool = False) -> Mapping[str, str]:
        return self.keys

    def key_hint(self, account_id: str) -> str:
        return "test"


def test_accounts_behind_a_shared_key_never_hold_up_the_others() -> None:
    """100 lemlist accounts share one key (20 requests / 2 s) and come first in the file; three
    FullEnrich accounts with their own keys come last. The FullEnrich ones go out in the first
    batch; lemlist gets two windows before the deadline, and the rest fail without a request."""
    shared = [
        Account(f"team-{n:03d}", lemlist.PROVIDER, f"https://lemlist.test/{n}", 100) for n in range(100)
    ]
    own = [Account(f"fe-{n}", fullenrich.PROVIDER, f"https://fullenrich.test/{n}", 100) for n in range(3)]
    keys = {a.id: "the-one-team-key" for a in shared} | {a.id: f"fe-own-key-{a.id}" for a in own}
    http = Recording()
    started = time.monotonic()

    results = run_checks(CheckSettings((*shared, *own), 4.5), Keys(keys), http, started + 4.5)

    first_batch = {url for at, url in http.sent if at - started < 1.0}
    assert {f"https://fullenrich.test/{n}/account/credits" for n in range(3)} <= first_batch
    sent_lemlist = [at - started for at, url in http.sent if "lemlist" in url]
    assert len(sent_lemlist) == 40
    assert max(sum(1 for s in sent_lemlist if t <= s < t + 2) for t in sent_lemlist) <= 20
    refused = [r for r in results if r.error is not None]
    assert len(refused) == 60
    assert {r.error.kind for r in refused if r.error} == {FailureKind.RATE_LIMITED}
    assert [r.account for r in results] == [a.id for a in (*shared, *own)], "results in file order"
