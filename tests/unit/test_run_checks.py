"""run_checks plans rate-limited requests so that they never hold up anyone else. Pure: no sockets."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping

import pytest

from credit_monitor import checks
from credit_monitor.adapters.http import Pace
from credit_monitor.checks import run_checks
from credit_monitor.config import Account, CheckSettings
from credit_monitor.model import FailureKind
from credit_monitor.providers import HttpReply, Request, RetryPolicy, fullenrich, http_json, lemlist


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


def test_accounts_behind_a_shared_key_take_turns_and_never_hold_up_the_others() -> None:
    """100 lemlist accounts share one key (20 requests / 2 s) and come first in the file; three
    FullEnrich accounts with their own keys come last. The FullEnrich ones go out in the first
    batch. A 4.5 s deadline leaves two windows, half of each for first requests: 20 lemlist accounts
    are checked this run, the other 80 wait their turn. None fails, none is refused a slot."""
    shared = [
        Account(f"team-{n:03d}", lemlist.PROVIDER, f"https://lemlist.test/{n}", 100) for n in range(100)
    ]
    own = [Account(f"fe-{n}", fullenrich.PROVIDER, f"https://fullenrich.test/{n}", 100) for n in range(3)]
    keys = {a.id: "the-one-team-key" for a in shared} | {a.id: f"fe-own-key-{a.id}" for a in own}
    http = Recording()
    started = time.monotonic()

    results = run_checks(CheckSettings((*shared, *own), 4.5), Keys(keys), http, started + 4.5, run_number=3)

    first_batch = {url for at, url in http.sent if at - started < 1.0}
    assert {f"https://fullenrich.test/{n}/account/credits" for n in range(3)} <= first_batch
    sent_lemlist = [at - started for at, url in http.sent if "lemlist" in url]
    assert len(sent_lemlist) == 20
    assert max(sum(1 for s in sent_lemlist if t <= s < t + 2) for t in sent_lemlist) <= 10
    assert [r for r in results if r.error is not None] == []
    waiting = [r for r in results if r.not_checked is not None]
    assert len(waiting) == 80
    assert all("waiting its turn" in (r.not_checked or "") for r in waiting)
    assert "each account at least every 5 runs" in (waiting[0].not_checked or "")
    in_turn = {r.account for r in results if r.balance is not None and r.account.startswith("team")}
    assert in_turn == {f"team-{n:03d}" for n in range(100) if n % 5 == 3}
    assert [r.account for r in results] == [a.id for a in (*shared, *own)], "results in file order"


def test_the_turns_follow_the_real_keys_whatever_the_accounts_file_says() -> None:
    """Forty accounts each naming their own entry, but the secret holds one key for all of them:
    they share a window, so they take turns. Two accounts naming one entry both get its key."""
    accounts = [
        Account(f"team-{n:02d}", lemlist.PROVIDER, f"https://lemlist.test/{n}", 100) for n in range(40)
    ]
    named = [
        Account(f"named-{n}", lemlist.PROVIDER, "https://lemlist.test/named", 100, key_entry="team-key")
        for n in range(2)
    ]
    keys = {a.id: "the-one-team-key" for a in accounts} | {"team-key": "the-named-key"}
    http = Recording()

    results = run_checks(
        CheckSettings((*accounts, *named), 4.5), Keys(keys), http, time.monotonic() + 4.5, run_number=0
    )

    assert sum(r.not_checked is not None for r in results) == 20
    assert [r.balance is not None for r in results[-2:]] == [True, True], "the shared entry's key is used"
    assert [r for r in results if r.error is not None] == []


def test_a_run_left_no_time_to_start_its_checks_checks_nothing_and_fails_nothing() -> None:
    """A slow cold start, a starved CPU: the deadline comes before any request could start. That is
    our own slowness, never a provider's failure. (A key that cannot be one is refused before any
    request, in no time: that is a failure, deadline or not.)"""
    accounts = [Account("fe", fullenrich.PROVIDER, "https://fullenrich.test/1", 100)]
    http = Recording()
    keys = Keys({"fe": "fe-key-0-4f1c9a7e"})

    [result] = run_checks(CheckSettings(tuple(accounts), 10), keys, http, time.monotonic() + 0.5)

    assert result.error is None
    assert result.not_checked is not None
    assert "could not start" in result.not_checked
    assert http.sent == []


def test_a_check_still_queued_at_the_deadline_is_not_checked_a_started_one_timed_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One worker, and the first request never returns: the second account never started, so it
    is not checked this run; the first did start, and its provider did not answer."""
    monkeypatch.setattr(checks, "max_concurrent_checks", lambda _memory_mb: 1)
    hang = threading.Event()

    class Hanging(Recording):
        def send(
            self, request: Request, policy: RetryPolicy, deadline: float, pace: Pace | None = None
        ) -> HttpReply:
            hang.wait()
            return super().send(request, policy, deadline, pace)

    accounts = [
        Account(f"fe-{n}", fullenrich.PROVIDER, f"https://fullenrich.test/{n}", 100) for n in range(2)
    ]
    try:
        first, second = run_checks(
            CheckSettings(tuple(accounts), 10),
            Keys({"fe-0": "fe-key-0-4f1c9a7e", "fe-1": "fe-key-1-7d2e5b9c"}),
            Hanging(),
            time.monotonic() + 1.5,
        )
    finally:
        hang.set()

    assert first.error is not None
    assert first.error.kind is FailureKind.TIMEOUT
    assert second.error is None
    assert second.not_checked is not None


def test_two_http_json_apis_with_the_same_key_are_paced_apart() -> None:
    """Two unrelated APIs allowing 2 requests a minute each, and one key string for both (a key
    format both happen to accept, or a test key): each has its own window, so neither waits."""

    def api(name: str) -> Account:
        provider, url = http_json.from_entry(
            {
                "url": f"https://api.{name}.test/balance",
                "auth": {"kind": "bearer"},
                "balance": "credits",
                "display_name": name.title(),
                "rate_limit": {"requests": 2, "per_seconds": 60},
            }
        )
        return Account(name, provider, url, 100)

    accounts = (api("alpha"), api("beta"))
    http = Recording()

    results = run_checks(
        CheckSettings(accounts, 4.5),
        Keys(dict.fromkeys(("alpha", "beta"), "one-key-for-both")),
        http,
        time.monotonic() + 4.5,
    )

    assert [r.not_checked for r in results] == [None, None]
    assert sorted(url for _, url in http.sent) == [
        "https://api.alpha.test/balance",
        "https://api.beta.test/balance",
    ]


class Rotating:
    """A KeySource whose secret changed since it was cached: a re-read gives the new one."""

    def __init__(self, cached: Mapping[str, str], fresh: Mapping[str, str]) -> None:
        self.cached, self.fresh, self.reads = dict(cached), dict(fresh), 0

    def api_keys(self, *, refresh: bool = False) -> Mapping[str, str]:
        self.reads += refresh
        return self.fresh if refresh else self.cached

    def key_hint(self, account_id: str) -> str:
        return "test"


class AcceptsOnly(Recording):
    """FullEnrich that accepts one key and answers 401 to any other."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key

    def send(
        self, request: Request, policy: RetryPolicy, deadline: float, pace: Pace | None = None
    ) -> HttpReply:
        self.sent.append((time.monotonic(), request.headers["Authorization"]))
        if request.headers["Authorization"] != f"Bearer {self.key}":
            return HttpReply(
                401, b'{"code": "error.api.key", "message": "Unknown api key"}', "application/json"
            )
        return HttpReply(200, b'{"balance": 5000}', "application/json")


def test_a_rotated_shared_key_is_read_again_once_and_answers_only_the_accounts_that_now_use_it() -> None:
    """Two accounts name the entry "team", a third holds the same old key under its own entry: one
    request, a 401, one re-read. The team's new key answers both team accounts with one request;
    the third still holds the old key, and keeps the 401."""
    old, new = "fe-old-key-4f1c9a7e2b8d", "fe-new-key-7d2e5b9c1a3f"
    accounts = [
        Account("team-a", fullenrich.PROVIDER, "https://fullenrich.test", 100, key_entry="team"),
        Account("team-b", fullenrich.PROVIDER, "https://fullenrich.test", 100, key_entry="team"),
        Account("copy", fullenrich.PROVIDER, "https://fullenrich.test", 100),
    ]
    keys = Rotating({"team": old, "copy": old}, {"team": new, "copy": old})
    http = AcceptsOnly(new)

    results = run_checks(CheckSettings(tuple(accounts), 5), keys, http, time.monotonic() + 5)

    assert [header for _, header in http.sent] == [f"Bearer {old}", f"Bearer {new}"]
    assert keys.reads == 1
    assert [r.balance.credits if r.balance else None for r in results] == [5000, 5000, None]
    assert results[2].error is not None
    assert results[2].error.kind is FailureKind.AUTH


def test_a_shared_key_rotated_in_the_secret_is_read_again_after_a_401() -> None:
    """The re-read after a 401 resolves the account's entry as the first read did: the shared
    entry, never an entry of the account's own id that the function otherwise ignores."""
    old, new = "lm_old_shared_4f1c9a7e", "lm_new_shared_7d2e5b9c"
    account = Account("acme-sales", lemlist.PROVIDER, "https://lemlist.test/acme", 100, key_entry="acme-team")

    class Rotated(Keys):
        def api_keys(self, *, refresh: bool = False) -> Mapping[str, str]:
            return {"acme-team": new if refresh else old, "acme-sales": "lm_stale_own_entry_9c1a3f"}

    class AcceptsTheNewKey(Recording):
        def send(
            self, request: Request, policy: RetryPolicy, deadline: float, pace: Pace | None = None
        ) -> HttpReply:
            super().send(request, policy, deadline, pace)
            if lemlist.auth_headers(new)["Authorization"] == request.headers.get("Authorization"):
                return HttpReply(200, b'{"credits": 800}', "application/json")
            return HttpReply(401, b"Unauthorized", "text/plain")

    http = AcceptsTheNewKey()

    [result] = run_checks(CheckSettings((account,), 10), Rotated({}), http, time.monotonic() + 10)

    assert result.error is None, result.error
    assert result.balance is not None
    assert len(http.sent) == 2
