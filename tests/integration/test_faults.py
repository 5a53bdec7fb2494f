"""Faults through the real handler, loopback simulators and moto server: processes killed between
two steps, AWS calls that hang, state nobody should have written, observations out of order."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from credit_monitor import app
from credit_monitor.adapters.state import decode
from credit_monitor.config import LAMBDA_TIMEOUT_SECONDS
from credit_monitor.outbox import MAX_AGE
from credit_monitor.service import DeliveryError, StateError
from tests.support.aws import Stack, state_text
from tests.support.aws_proxy import SlowReplyProxy
from tests.support.blackhole import BlackHole
from tests.support.harness import Invoke, SimClock
from tests.support.keys import FULLENRICH_KEY, LEMLIST_KEY
from tests.support.killed_run import run_killed
from tests.support.simulators import ApiSimulator, Reply

EXPECTED = Counter({("fullenrich", "LOW"): 1, ("lemlist", "CHECK RECOVERED"): 1, ("lemlist", "LOW"): 1})


def delivered(stack: Stack, since: int = 0) -> list[tuple[str, str, str]]:
    """(provider, kind, notification_id) of each message the topic's subscriber received."""
    return [
        (
            m["MessageAttributes"]["provider"]["Value"],
            m["MessageAttributes"]["kind"]["Value"],
            m["MessageAttributes"]["notification_id"]["Value"],
        )
        for m in stack.inbox.messages()[since:]
    ]


@pytest.fixture
def lemlist_failing_then_both_low(
    invoke: Invoke, stack: Stack, fullenrich_api: ApiSimulator, lemlist_api: ApiSimulator
) -> tuple[SimClock, int]:
    """lemlist failed three checks (CHECK FAILING sent); then both balances fall below their level,
    so the next run owes three notifications: fullenrich LOW, lemlist CHECK RECOVERED and LOW."""
    clock = SimClock()
    invoke(clock)
    lemlist_api.valid_keys = {"revoked"}
    for _ in range(3):
        clock.advance(1)
        invoke(clock)
    lemlist_api.valid_keys = {LEMLIST_KEY}
    fullenrich_api.balance, lemlist_api.balance = 10, 10
    clock.advance(1)
    before = len(stack.inbox.messages())
    assert [kind for _, kind, _ in delivered(stack)] == ["CHECK FAILING"]
    return clock, before


@pytest.mark.parametrize(
    ("kind", "after"),
    [
        ("load", 1),
        ("put_many", 1),
        ("put", 1),
        ("put", 2),
        ("publish", 1),
        ("publish", 2),
        ("publish", 3),
    ],
)
def test_a_run_killed_between_any_two_steps_loses_nothing(
    kind: str,
    after: int,
    invoke: Invoke,
    stack: Stack,
    lemlist_failing_then_both_low: tuple[SimClock, int],
) -> None:
    """SIGKILL right after the state read, the decided states' write (both accounts in one
    put_many), the Nth record write (one per account) or the Nth accepted publish (three
    messages); then the next scheduled run. Each notification arrives exactly once,
    except those whose message SNS accepted before the kill and that were not recorded yet: they
    may arrive again, in the same group, with the same notification_id."""
    clock, before = lemlist_failing_then_both_low
    run_killed(kind, after, clock)
    by_killed_run = delivered(stack, before)

    clock.advance(1)
    run = invoke(clock)

    assert run.error is None
    by_next_run = delivered(stack, before + len(by_killed_run))
    everything = by_killed_run + by_next_run
    assert Counter((p, k) for p, k, _ in everything) >= EXPECTED, everything
    assert len({nid for _, _, nid in everything}) == len(EXPECTED), "a repeat keeps its notification_id"
    assert len(set(by_next_run)) == len(by_next_run), "the next run sends each notification once"
    repeats = set(by_killed_run) & set(by_next_run)
    # The one window: SNS accepted it, and the process died before recording it.
    assert not repeats or kind in ("publish", "put"), everything
    assert "pending_notifications" not in run.summary()["lemlist"]
    assert "pending_notifications" not in run.summary()["fullenrich"]


@pytest.fixture
def sns_hangs(function_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[BlackHole]:
    """SNS accepts the connection and never answers (the rest of AWS works)."""
    hole = BlackHole().start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_SNS", hole.url)
    app.runtime.cache_clear()
    yield hole
    hole.stop()


def test_sns_hanging_ends_the_run_in_time_and_the_next_run_delivers(
    sns_hangs: BlackHole,
    invoke: Invoke,
    stack: Stack,
    fullenrich_api: ApiSimulator,
    lemlist_api: ApiSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fullenrich_api.balance, lemlist_api.balance = 10, 10
    clock = SimClock()

    started = time.monotonic()
    stuck = invoke(clock)
    elapsed = time.monotonic() - started

    assert elapsed < LAMBDA_TIMEOUT_SECONDS - 2, "the run must end itself before Lambda kills it"
    assert isinstance(stuck.error, DeliveryError)
    assert stuck.aggregate("NotificationsPending") == 2
    assert {name: entry["pending_notifications"] for name, entry in stuck.summary().items()} == {
        "fullenrich": 1,
        "lemlist": 1,
    }
    assert stuck.metric("CreditsRemaining") == {"fullenrich": 10, "lemlist": 10}
    assert delivered(stack) == []

    monkeypatch.delenv("AWS_ENDPOINT_URL_SNS")
    app.runtime.cache_clear()  # SNS is back (a new sandbox, or the same after the outage)
    clock.advance(1)
    invoke(clock)
    clock.advance(1)
    invoke(clock)

    assert sorted((p, k) for p, k, _ in delivered(stack)) == [("fullenrich", "LOW"), ("lemlist", "LOW")]


@pytest.fixture
def late_aws(
    function_env: dict[str, str], aws: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SlowReplyProxy]:
    """DynamoDB and SNS behind a proxy that can answer a call after it took effect, too late."""
    proxy = SlowReplyProxy(aws)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", proxy.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SNS", proxy.url)
    app.runtime.cache_clear()
    yield proxy
    proxy.stop()


def test_a_state_write_whose_reply_is_lost_is_counted_once(
    late_aws: SlowReplyProxy, invoke: Invoke, stack: Stack, lemlist_api: ApiSimulator
) -> None:
    """botocore retries the PutItem; the first attempt was applied, so the retry's condition fails
    and the run re-reads its own write. Two failed checks must stay two (FAILURES_BEFORE_ALERT=3)."""
    clock = SimClock()
    invoke(clock)
    lemlist_api.valid_keys = {"revoked"}
    clock.advance(1)
    invoke(clock)
    clock.advance(1)
    late_aws.late_put_for = "lemlist"
    invoke(clock)

    assert "lemlist:ConditionalCheckFailedException" in late_aws.puts  # the lost reply happened
    item = stack.dynamodb.get_item(TableName=stack.table_name, Key={"provider": {"S": "lemlist"}})["Item"]
    state = json.loads(state_text(item))
    assert state["consecutive_failures"] == 2
    assert [kind for _, kind, _ in delivered(stack)] == []
    assert len(decode(state_text(item), 0).samples) == 1


def test_a_publish_whose_reply_is_late_is_not_sent_again_in_the_same_run(
    late_aws: SlowReplyProxy, invoke: Invoke, stack: Stack, lemlist_api: ApiSimulator
) -> None:
    lemlist_api.balance = 10
    late_aws.late_publish = True

    clock = SimClock()
    run = invoke(clock)

    sent = delivered(stack)
    assert [kind for _, kind, _ in sent] == ["LOW"]  # botocore did not retry what SNS accepted
    assert isinstance(run.error, DeliveryError)  # the run could not know: it stays pending ...
    clock.advance(1)
    again = invoke(clock)
    # ... and the next run sends it once more, with the same id: the one documented window.
    assert again.error is None
    assert [nid for _, _, nid in delivered(stack)] == [sent[0][2], sent[0][2]]


def test_a_notification_sns_always_refuses_is_given_up_and_holds_nothing_back(
    late_aws: SlowReplyProxy,
    invoke: Invoke,
    stack: Stack,
    lemlist_failing_then_both_low: tuple[SimClock, int],
) -> None:
    """SNS refuses lemlist's CHECK RECOVERED every time. The LOW queued after it goes out in the
    same run; the refused one is given up at its first refusal past MAX_AGE, visibly."""
    clock, before = lemlist_failing_then_both_low
    late_aws.refuse_publish_of = "CHECK RECOVERED"

    first = invoke(clock)

    assert sorted((p, k) for p, k, _ in delivered(stack, before)) == [
        ("fullenrich", "LOW"),
        ("lemlist", "LOW"),
    ]
    assert isinstance(first.error, DeliveryError)
    assert first.summary()["lemlist"]["pending_notifications"] == 1
    assert first.aggregate("NotificationsDropped") is None

    clock.advance(MAX_AGE.total_seconds() / 3600)
    gave_up = invoke(clock)

    assert isinstance(gave_up.error, DeliveryError)
    assert gave_up.aggregate("NotificationsDropped") == 1
    errors = [log["message"] for log in gave_up.logs if log["level"] == "ERROR"]
    assert any(m.startswith("lemlist: gave up on the CHECK RECOVERED notification") for m in errors), errors
    assert "pending_notifications" not in gave_up.summary()["lemlist"]

    clock.advance(1)
    after = invoke(clock)
    assert after.error is None
    assert ("lemlist", "CHECK RECOVERED") not in {(p, k) for p, k, _ in delivered(stack)}


CORRUPT_ITEMS = {
    "no state attribute": {"version": {"N": "3"}},
    "state is not JSON": {"version": {"N": "3"}, "state": {"S": "{oops"}},
    "unknown level": {"version": {"N": "3"}, "state": {"S": '{"level": "PANIC"}'}},
    "string version": {"version": {"S": "3"}, "state": {"S": "{}"}},
    "samples null": {
        "version": {"N": "3"},
        "state": {
            "S": '{"level":"OK","notified_at":null,"consecutive_failures":0,'
            '"failing_notified":false,"samples":null}'
        },
    },
    "naive notified_at": {
        "version": {"N": "3"},
        "state": {
            "S": '{"level":"WARNING","notified_at":"2026-11-01T09:00:00","consecutive_failures":0,'
            '"failing_notified":false,"samples":[]}'
        },
    },
}


@pytest.mark.parametrize("shape", CORRUPT_ITEMS)
def test_corrupt_state_is_that_providers_visible_failure_never_a_crash(
    shape: str, invoke: Invoke, stack: Stack, lemlist_api: ApiSimulator
) -> None:
    stack.dynamodb.put_item(
        TableName=stack.table_name, Item={"provider": {"S": "fullenrich"}, **CORRUPT_ITEMS[shape]}
    )
    lemlist_api.balance = 10

    run = invoke()

    assert [(p, k) for p, k, _ in delivered(stack)] == [("lemlist", "LOW")]  # the other still alerts
    assert run.metric("CreditsRemaining") == {"fullenrich": 5000, "lemlist": 10}
    assert isinstance(run.error, StateError)  # the run fails visibly, after its metrics
    [problem] = run.summary()["fullenrich"]["problems"]
    assert f"in table '{stack.table_name}' cannot be decoded" in problem
    reset = "aws dynamodb delete-item --table-name credit-monitor-AlertStateTable"
    assert reset in problem
    assert any(reset in log["message"] for log in run.logs if log["level"] == "ERROR")

    stack.dynamodb.delete_item(TableName=stack.table_name, Key={"provider": {"S": "fullenrich"}})
    assert invoke().error is None  # reset as the message says: the next run starts afresh


def test_an_older_observation_never_overwrites_a_newer_one(
    invoke: Invoke, stack: Stack, lemlist_api: ApiSimulator
) -> None:
    """Two overlapping runs whose fetches finish out of order: 90 seen at t+61 min is written first,
    then 110 from the run that started at t+60 min. Then the next hourly run sees 90 again."""
    clock = SimClock()
    lemlist_api.balance = 110
    invoke(clock)
    t60 = clock.now + timedelta(minutes=60)
    lemlist_api.balance = 90
    invoke(SimClock(t60 + timedelta(minutes=1)))
    lemlist_api.balance = 110
    stale = invoke(SimClock(t60))
    lemlist_api.balance = 90
    invoke(SimClock(t60 + timedelta(minutes=120)))

    assert [(p, k) for p, k, _ in delivered(stack)] == [("lemlist", "LOW")]
    assert stale.summary()["lemlist"]["level"] == "WARNING"
    item = stack.dynamodb.get_item(TableName=stack.table_name, Key={"provider": {"S": "lemlist"}})["Item"]
    balances = [sample.balance for sample in decode(state_text(item), 0).samples]
    assert balances == [110, 90, 90], "the newer sample was kept"


def test_a_checked_at_from_the_future_is_reported_and_the_account_keeps_alerting(
    invoke: Invoke, stack: Stack, lemlist_api: ApiSimulator
) -> None:
    """A restored item (or a clock ahead) says lemlist was checked a month from now."""
    future = "2026-12-02T09:00:00+00:00"
    state: dict[str, object] = {
        "level": "OK",
        "notified_at": None,
        "consecutive_failures": 0,
        "failing_notified": False,
        "samples": [],
        "checked_at": future,
    }
    stack.dynamodb.put_item(
        TableName=stack.table_name,
        Item={"provider": {"S": "lemlist"}, "version": {"N": "4"}, "state": {"S": json.dumps(state)}},
    )
    lemlist_api.balance = 10
    clock = SimClock()

    run = invoke(clock)

    assert [(p, k) for p, k, _ in delivered(stack)] == [("lemlist", "LOW")]
    assert isinstance(run.error, StateError)
    errors = [log["message"] for log in run.logs if log["level"] == "ERROR"]
    assert any(m.startswith("lemlist: ") and future in m for m in errors), errors
    clock.advance(1)
    assert invoke(clock).error is None  # checked_at is now this run's: the next run is clean


def test_refunded_credits_do_not_re_arm_running_out(
    invoke: Invoke, stack: Stack, lemlist_api: ApiSimulator
) -> None:
    """Checked hourly for 4 days; jobs burn 25 credits every 6 hours (100/day) and one credit is
    refunded every 12 hours, in an hour with no job, so the balance rises by one now and then."""
    clock, balance = SimClock(), 600
    for hour in range(96):
        balance += -25 if hour % 6 == 0 else (1 if hour % 12 == 5 else 0)
        lemlist_api.balance = balance
        run = invoke(clock)
        if hour >= 12:
            assert run.aggregate("MinDaysUntilEmpty") is not None, f"the forecast vanished at hour {hour}"
        clock.advance(1)

    assert [k for _, k, _ in delivered(stack)].count("RUNNING OUT") == 1


def test_two_providers_dripping_end_the_run_at_the_deadline_as_failed_checks(
    invoke: Invoke, function_env: dict[str, str], fullenrich_api: ApiSimulator, lemlist_api: ApiSimulator
) -> None:
    """Both replies arrive one byte a second: one deadline for the run, not one per provider."""
    deadline = float(function_env["CHECK_DEADLINE_SECONDS"])
    fullenrich_api.then(Reply(200, {"balance": 5000, "padding": "x" * 60}, action="drip"))
    lemlist_api.then(Reply(200, {"credits": 800, "padding": "x" * 60}, action="drip"))

    started = time.monotonic()
    run = invoke()
    elapsed = time.monotonic() - started

    assert elapsed < deadline + 2
    assert run.check_failed() == {"fullenrich": 1, "lemlist": 1}
    assert {entry["failure"] for entry in run.summary().values()} == {"timeout"}


def test_the_cli_exits_as_soon_as_it_has_answered(
    fullenrich_api: ApiSimulator, lemlist_api: ApiSimulator, ca_file: object
) -> None:
    """A provider that drips its body a byte a second: the table is printed at the deadline and the
    process ends, instead of waiting for the abandoned request."""
    fullenrich_api.then(Reply(200, {"balance": 5000, "padding": "x" * 60}, action="drip"))
    env = os.environ | {
        "SSL_CERT_FILE": str(ca_file),
        "FULLENRICH_API_KEY": "fe-blackhole-key-1",
        "LEMLIST_API_KEY": LEMLIST_KEY,
        "FULLENRICH_THRESHOLD": "1000",
        "LEMLIST_THRESHOLD": "100",
        "FULLENRICH_API_URL": fullenrich_api.base_url,
        "LEMLIST_API_URL": lemlist_api.base_url,
        "CHECK_DEADLINE_SECONDS": "6",  # a read timeout (1.8 s) longer than the drip interval
    }
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "credit_monitor", "check"],
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    elapsed = time.monotonic() - started

    assert done.returncode == 3
    assert "FAILED (timeout)" in done.stdout.decode()
    assert elapsed < 6 + 5, f"the process stayed alive {elapsed:.0f}s after a 6s deadline"


GROUP_KEYS = {f"acme-{n}": f"lm-acme-{n}-key-3b7f" for n in range(4)}


@pytest.fixture
def secret_string() -> str:
    """The zero-config pair's keys, and four acme lemlist accounts' for the grouped tests."""
    return json.dumps({"fullenrich": FULLENRICH_KEY, "lemlist": LEMLIST_KEY} | GROUP_KEYS)


@pytest.fixture
def four_acme_accounts_low(
    function_env: dict[str, str], lemlist_api: ApiSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> SimClock:
    """Four lemlist accounts of one client, all below their level: the next run owes one group of 4."""
    path = tmp_path / "accounts.toml"
    path.write_text(
        "".join(
            f'[[account]]\nid = "{name}"\nprovider = "lemlist"\nwarning = 100\n'
            f'url = "{lemlist_api.base_url}"\nlabels = {{ client = "acme" }}\n\n'
            for name in GROUP_KEYS
        )
    )
    monkeypatch.setenv("ACCOUNTS_FILE", str(path))
    lemlist_api.valid_keys = set(GROUP_KEYS.values())
    lemlist_api.balance = 10
    app.runtime.cache_clear()
    return SimClock()


def grouped(stack: Stack, since: int = 0) -> list[tuple[str, frozenset[str]]]:
    """(kind, notification ids) of each message received."""
    return [
        (
            m["MessageAttributes"]["kind"]["Value"],
            frozenset(m["MessageAttributes"]["notification_id"]["Value"].split(",")),
        )
        for m in stack.inbox.messages()[since:]
    ]


@pytest.mark.parametrize(
    ("kind", "after"), [("load", 1), ("put_many", 1), ("publish", 1), ("put", 1), ("put", 4)]
)
def test_a_run_killed_at_any_step_of_grouped_delivery_sends_the_group_whole_with_the_same_ids(
    kind: str, after: int, invoke: Invoke, stack: Stack, four_acme_accounts_low: SimClock
) -> None:
    """The four decided states in one write, one publish, four record writes: a kill anywhere loses
    nothing; a kill after the publish sends again, as one message, what was not recorded yet, with
    the same ids."""
    clock = four_acme_accounts_low
    run_killed(kind, after, clock)
    by_killed_run = grouped(stack)

    clock.advance(1)
    run = invoke(clock)

    assert run.error is None
    by_next_run = grouped(stack, len(by_killed_run))
    assert len(by_next_run) <= 1, "the next run sends one message for the group"
    everything = by_killed_run + by_next_run
    first = everything[0][1]
    assert len(first) == 4
    assert all(ids <= first for _, ids in everything), "a repeat carries the same ids, in one message"
    assert [k for k, _ in everything] == ["LOW"] * len(everything)
    if kind == "publish":
        assert by_next_run == by_killed_run, "accepted, never recorded: the whole group again"
    if kind in ("load", "put_many"):
        assert len(everything) == 1, "killed before the publish: sent once"
    assert all("pending_notifications" not in entry for entry in run.summary().values())


def test_a_group_sns_refuses_counts_a_refusal_each_and_is_retried_in_halves(
    late_aws: SlowReplyProxy, invoke: Invoke, stack: Stack, four_acme_accounts_low: SimClock
) -> None:
    clock = four_acme_accounts_low
    late_aws.refuse_publish_of = "LOW"

    refused = invoke(clock)

    assert isinstance(refused.error, DeliveryError)
    assert grouped(stack) == []
    assert {
        name: entry["pending_notifications"] for name, entry in refused.summary().items()
    } == dict.fromkeys(GROUP_KEYS, 1)
    late_aws.refuse_publish_of = None
    clock.advance(1)
    after = invoke(clock)

    assert after.error is None
    received = grouped(stack)
    assert len(received) == 2, "refused before: the group goes as its two halves"
    assert sorted(len(ids) for _, ids in received) == [2, 2]
