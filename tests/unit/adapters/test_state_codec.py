"""The state item's encoding: what we write reads back; what we did not write is refused clearly."""

from __future__ import annotations

import json
import math
import re
import shlex
import zlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from credit_monitor.adapters.state import (
    MAX_STATE_BYTES,
    UNPROCESSED_ATTEMPTS,
    CorruptState,
    DynamoStateStore,
    StateError,
    decode,
    encode,
    reset_command,
)
from credit_monitor.alerting import (
    AccountState,
    AlertPolicy,
    Family,
    Kind,
    Level,
    Levels,
    Notification,
    decide,
)
from credit_monitor.forecast import Forecast, ForecastStatus, Sample, Spike, with_used
from credit_monitor.model import Balance, CheckResult, FailureKind, Pool
from credit_monitor.outbox import enqueue, lease, settle
from credit_monitor.service import StateWrite

T0 = datetime(2026, 11, 1, 9, tzinfo=UTC)
V1_ITEM = (
    '{"level":"WARNING","notified_at":"2026-11-01T09:00:00+00:00","consecutive_failures":0,'
    '"failing_notified":false,"running_out_notified":true,"samples":[[1793523600,90.0]]}'
)
"""An item exactly as the previous release wrote it (no checked_at, no outbox)."""


def test_state_with_pending_notifications_round_trips() -> None:
    notes = [
        Notification(
            Kind.LOW,
            "lemlist",
            Level.CRITICAL,
            balance=12.5,
            threshold=40,
            forecast=Forecast(ForecastStatus.DEPLETING, burn_per_day=80, days_left=0.2),
        ),
        Notification(
            Kind.CHECK_FAILING,
            "lemlist",
            Level.OK,
            failures=3,
            reason="HTTP 503",
            failure=FailureKind.HTTP,
            since=T0 - timedelta(hours=2),
        ),
    ]
    state = AccountState(
        level=Level.CRITICAL,
        notified_at=T0,
        samples=(Sample(T0, 12.5),),
        checked_at=T0,
        failing_since=T0 - timedelta(hours=2),
    )
    state, _ = enqueue(state, notes, "run1", T0)
    state = lease(state, "run1", T0, T0 + timedelta(seconds=28))

    assert decode(encode(state), version=0) == state


def test_every_field_of_the_credits_and_the_routes_round_trips() -> None:
    """The history with its count of credits used, the pace, a spike, pools, a renewal, and the
    notifications' receivers: what a run writes, the next one reads exactly."""
    spike = Spike(T0 - timedelta(hours=2), T0 - timedelta(hours=1), 6000, 1, 12.5)
    notes = [
        Notification(
            Kind.SPENDING_FAST,
            "acme",
            Level.OK,
            balance=12000,
            spike=spike,
            pools=(Pool("subscription", 10000, renews=True), Pool("paid", 2000)),
            renews_at=T0 + timedelta(days=10),
        ),
        Notification(
            Kind.CLEARED,
            "acme",
            Level.OK,
            clears=Kind.RUNNING_OUT,
            skip=frozenset({"acme/slack:x"}),
            audience=frozenset({"topic", "acme/pagerduty:acme-pd"}),
        ),
        Notification(Kind.RECOVERED, "acme", Level.WARNING, balance=5000, renewed=True),
    ]
    samples = with_used(Sample(T0 + timedelta(hours=h), b) for h, b in ((0, 900.25), (1, 800.5), (2, 5000)))
    state = AccountState(
        level=Level.WARNING,
        announced=Level.OK,
        samples=samples,
        pace_since=T0 + timedelta(hours=1),
        spike=spike,
        last_spike=spike,
        pools=(Pool("subscription", 4000, renews=True),),
        renewal_due=T0 + timedelta(days=10),
        renewal_missed=T0 - timedelta(days=20),
        running_out_notified=True,
        running_out_at=T0 + timedelta(days=3),
        untold={Family.CHECK: frozenset({"topic", "acme/pagerduty:acme-pd"})},
        told={Family.SPIKE: frozenset(), Family.BALANCE: frozenset({"topic"})},
        checked_at=T0 + timedelta(hours=2),
    )
    state, _ = enqueue(state, notes, "run1", T0)
    state = lease(state, "run1", T0, T0 + timedelta(seconds=28), lambda note: frozenset({"topic", "acme/x"}))
    state = settle(state, {state.outbox[0].id: {"topic"}})

    decoded = decode(encode(state), version=0)

    assert decoded == state
    assert decoded.outbox[0].delivered_to == {"topic"}
    assert [s.used for s in decoded.samples] == [s.used for s in samples]


def test_an_item_written_by_the_previous_release_still_decodes() -> None:
    state = decode(V1_ITEM, version=7)

    assert state.level is Level.WARNING
    assert state.outbox == ()
    assert state.checked_at == state.samples[-1].at  # the newest observation it had
    assert state.version == 7


def broken(**changes: object) -> str:
    data = json.loads(V1_ITEM)
    for key, value in changes.items():
        if value is ...:
            del data[key]
        else:
            data[key] = value
    return json.dumps(data)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "'state' must be an object"),
        (broken(level=...), "'level' is missing"),
        (broken(level="PANIC"), "'level' has an unknown value 'PANIC'"),
        (broken(samples=None), "'samples' must be a list"),
        (broken(samples=[[1, "x"]]), "'samples[0]' must be a finite number"),
        (broken(samples=[[1e300, 5]]), "'samples[0]' has an impossible time"),
        (broken(notified_at="2026-11-01T09:00:00"), "'notified_at' has no time zone"),
        (broken(notified_at="yesterday"), "'notified_at' must be an ISO 8601 time"),
        (broken(notified_at="9999-12-31T23:00:00-14:00"), "'notified_at' has an impossible time"),
        (broken(snoozed_until="0001-01-01T00:00:00+14:00"), "'snoozed_until' has an impossible time"),
        (broken(consecutive_failures="3"), "'consecutive_failures' must be a whole number"),
        (broken(failing_notified="no"), "'failing_notified' must be true or false"),
        (broken(outbox=[{"id": "x"}]), "'outbox[0].note' must be an object"),
        (broken(currency="usd"), "'currency' must be a three-letter currency code in capitals"),
        (broken(currency="\u202eDSU"), "'currency' must be a three-letter currency code in capitals"),
        (broken(currency=840), "'currency' must be a string"),
        ("[" * 100_000, "not valid JSON"),
    ],
)
def test_what_we_did_not_write_is_refused_naming_the_field(text: str, named: str) -> None:
    with pytest.raises(ValueError, match=re.escape(named)):
        decode(text, version=1)


class StubDynamo:
    """batch_get_item over a dict of items; `unprocessed` keys are never returned."""

    def __init__(self, items: dict[str, dict[str, Any]], unprocessed: frozenset[str] = frozenset()) -> None:
        self.items, self.unprocessed, self.calls = items, unprocessed, 0

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        [(table, request)] = RequestItems.items()
        names = [key["provider"]["S"] for key in request["Keys"]]
        left_names = [n for n in names if n in self.unprocessed]
        left = [{"provider": {"S": n}} for n in left_names]
        return {
            "Responses": {
                table: [self.items[n] for n in names if n in self.items and n not in self.unprocessed]
            },
            "UnprocessedKeys": {table: {"Keys": left}} if left else {},
        }


def item(name: str, text: str) -> dict[str, Any]:
    return {"provider": {"S": name}, "version": {"N": "1"}, "state": {"S": text}}


def test_a_number_too_big_for_a_float_is_that_items_error_not_the_whole_read() -> None:
    huge = json.loads(V1_ITEM)
    huge["samples"] = [[1793523600, 10**400]]
    store = DynamoStateStore(
        "t",
        client=StubDynamo(
            {"fullenrich": item("fullenrich", json.dumps(huge)), "lemlist": item("lemlist", V1_ITEM)}
        ),  # type: ignore[arg-type]
    )

    loaded = store.load(["fullenrich", "lemlist"])

    assert isinstance(loaded["fullenrich"], CorruptState)
    assert "'samples[0]' must be a finite number" in str(loaded["fullenrich"])
    assert isinstance(loaded["lemlist"], AccountState)


def test_keys_dynamodb_keeps_unprocessed_are_those_accounts_errors_after_a_few_tries() -> None:
    stub = StubDynamo({"lemlist": item("lemlist", V1_ITEM)}, unprocessed=frozenset({"fullenrich"}))
    store = DynamoStateStore("t", client=stub)  # type: ignore[arg-type]

    loaded = store.load(["fullenrich", "lemlist"])

    assert isinstance(loaded["fullenrich"], StateError)
    assert isinstance(loaded["lemlist"], AccountState)
    assert stub.calls == UNPROCESSED_ATTEMPTS


@pytest.mark.parametrize(
    "account",
    ["it's", "two words", "$(touch /tmp/pwned)", "`id`", "a\nb", "'; rm -rf ~; '", "\\'", "café \u202e"],
)
def test_the_reset_command_is_safe_to_paste_whatever_the_account_id(account: str) -> None:
    command = shlex.split(reset_command("credit-monitor-State-1A2B", account))

    assert command[:5] == ["aws", "dynamodb", "delete-item", "--table-name", "credit-monitor-State-1A2B"]
    assert command[5:] == ["--key", json.dumps({"provider": {"S": account}})]
    assert json.loads(command[6]) == {"provider": {"S": account}}


@pytest.mark.parametrize(
    "state",
    [
        AccountState(samples=(Sample(T0, math.inf),)),
        AccountState(
            outbox=enqueue(
                AccountState(),
                [
                    Notification(
                        Kind.RUNNING_OUT,
                        "lemlist",
                        Level.OK,
                        balance=1e308,
                        forecast=Forecast(ForecastStatus.DEPLETING, burn_per_day=1e-10, days_left=math.inf),
                    )
                ],
                "run",
                T0,
            )[0].outbox
        ),
    ],
    ids=["sample", "forecast"],
)
def test_a_number_that_is_not_finite_is_never_written(state: AccountState) -> None:
    """The decoder refuses Infinity and NaN: writing one would pause the account's alerts at the
    next run. The write fails instead, visibly, and the item keeps its last good state."""
    stub = StubDynamo({})
    store = DynamoStateStore("t", client=stub)  # type: ignore[arg-type]

    with pytest.raises(ValueError, match="not JSON compliant"):
        encode(state)
    with pytest.raises(StateError, match=r"could not write alert state for lemlist: .*not a finite number"):
        store.put("lemlist", state, expected_version=0)


def test_refused_attempts_are_kept_and_an_item_without_them_has_none() -> None:
    state, _ = enqueue(AccountState(), [Notification(Kind.LOW, "lemlist", Level.WARNING, balance=5)], "r", T0)
    counted = AccountState(outbox=(replace(state.outbox[0], attempts=3),))

    assert decode(encode(counted), 0).outbox[0].attempts == 3
    old = json.loads(encode(counted))
    del old["outbox"][0]["attempts"]
    assert decode(json.dumps(old), 0).outbox[0].attempts == 0


def test_an_item_with_every_hourly_sample_of_a_month_decodes_to_the_bounded_history() -> None:
    """Items written before history was thinned hold one sample per run: read, they cost what a
    thinned item costs, and the next write stores the thinned history."""
    hourly = [[int((T0 + timedelta(hours=h)).timestamp()), 5000.0 - h] for h in range(24 * 30)]
    item = json.dumps(
        {"level": "OK", "consecutive_failures": 0, "failing_notified": False, "samples": hourly}
    )

    state = decode(item, version=3)

    assert 8 * 24 <= len(state.samples) <= 8 * 24 + 24
    assert state.samples[-1] == Sample(T0 + timedelta(hours=24 * 30 - 1), 5000.0 - (24 * 30 - 1), 24 * 30 - 1)
    assert len(zlib.compress(encode(state).encode())) < 1024


def state_bytes(attribute: dict[str, Any]) -> int:
    """The stored state's size: compressed bytes as written now, or text as older releases wrote it."""
    return len(attribute["B"]) if "B" in attribute else len(attribute["S"].encode())


def item_size(stored: dict[str, Any]) -> int:
    """DynamoDB's item size, which it bills by: every attribute's name and value."""
    sizes = {"S": lambda v: len(v.encode()), "N": len, "B": len}
    return sum(
        len(name) + sizes[kind](value) for name, typed in stored.items() for kind, value in typed.items()
    )


class CountingDynamo(StubDynamo):
    """The stub, writing too (each transaction's puts), counting calls, the bytes of state read and
    written, and the size of every item written."""

    def __init__(self, items: dict[str, dict[str, Any]]) -> None:
        super().__init__(items)
        self.puts = self.read_bytes = self.written_bytes = 0
        self.sizes: list[int] = []

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        response = super().batch_get_item(RequestItems)
        for items in response["Responses"].values():
            self.read_bytes += sum(state_bytes(found["state"]) for found in items)
        return response

    def transact_write_items(self, TransactItems: list[dict[str, Any]]) -> dict[str, Any]:
        assert len(TransactItems) <= 100, "DynamoDB's limit"
        self.puts += 1
        for action in TransactItems:
            written = action["Put"]["Item"]
            self.written_bytes += state_bytes(written["state"])
            self.sizes.append(item_size(written))
            self.items[written["provider"]["S"]] = written
        return {}


def state_work_per_account(accounts: int, history_days: int) -> dict[str, float]:
    """Every account with `history_days` of hourly samples as an older release stored them (one per
    run, as text); then two hourly runs read, decide and write every account, the way a run does
    (put_many). The second run's work, per account."""
    names = [f"account-{n:04d}" for n in range(accounts)]
    hours = 24 * history_days
    legacy = json.dumps(
        {
            "level": "OK",
            "consecutive_failures": 0,
            "failing_notified": False,
            "samples": [[int((T0 + timedelta(hours=h)).timestamp()), 50_000.0 - h] for h in range(hours)],
        }
    )
    stub = CountingDynamo({name: item(name, legacy) for name in names})
    store = DynamoStateStore("t", client=stub)  # type: ignore[arg-type]
    for run in (1, 2):
        now = T0 + timedelta(hours=hours - 1 + run)
        stub.calls = stub.puts = stub.read_bytes = stub.written_bytes = 0
        stub.sizes.clear()
        loaded = store.load(names)
        writes = []
        for name in names:
            state = loaded[name]
            assert isinstance(state, AccountState)
            result = CheckResult(name, 100, balance=Balance(50_000.0 - hours - run))
            decided = decide(state, result, now, Levels(100), AlertPolicy()).state
            writes.append(StateWrite(name, replace(decided, version=state.version + 1), state.version))
        assert all(store.put_many(writes).values())
    return {
        "calls": (stub.calls + stub.puts) / accounts,
        "bytes read": stub.read_bytes / accounts,
        "bytes written": stub.written_bytes / accounts,
        "largest item": max(stub.sizes),
    }


def test_state_work_per_account_does_not_grow_with_the_fleet_or_with_history_age() -> None:
    """Operations, not time: a run's state calls and bytes per account are the same for 10 accounts as
    for 1,000, and a month of hourly history costs well under 1 KB per account, not one sample per run."""
    small, large = state_work_per_account(10, history_days=30), state_work_per_account(1000, history_days=30)
    young = state_work_per_account(10, history_days=1)

    assert small["calls"] == 2 / 10  # one BatchGetItem and one TransactWriteItems for 10 accounts
    assert large["calls"] == 2 / 100  # ... and for each 100 of 1,000
    assert large["bytes read"] == small["bytes read"]
    assert large["bytes written"] == small["bytes written"]
    assert large["bytes read"] <= 1024
    assert large["bytes read"] <= 2.5 * young["bytes read"]


def test_a_month_old_state_is_one_kb_item_so_a_transactional_write_costs_two_units() -> None:
    """A transaction bills 2 write units per KB of item: compressed, a month of history stays
    within 1 KB, which a plain PutItem of the uncompressed state (1.3 KB) billed 2 units for too."""
    month = state_work_per_account(10, history_days=30)

    assert month["largest item"] <= 1024


def test_the_last_notification_sent_is_kept_and_an_item_without_it_has_none() -> None:
    sent = AccountState(last_sent="LOW", last_sent_at=T0)

    assert decode(encode(sent), 0) == replace(sent, version=0)
    old = json.loads(encode(sent))
    del old["last_sent"], old["last_sent_at"]
    assert (decode(json.dumps(old), 0).last_sent, decode(json.dumps(old), 0).last_sent_at) == (None, None)


def test_a_money_accounts_unit_is_kept_with_its_state_and_its_pending_notifications() -> None:
    """A reminder sent by a later run, and `status`, read the currency from the item."""
    note = Notification(Kind.LOW, "twilio", Level.WARNING, balance=12.4, threshold=20, currency="USD")
    state, _ = enqueue(
        AccountState(samples=(Sample(T0, 12.4),), checked_at=T0, currency="USD"), [note], "r1", T0
    )

    decoded = decode(encode(state), 0)

    assert decoded == state
    assert decoded.currency == "USD"
    assert decoded.outbox[0].note.currency == "USD"


def test_a_credit_accounts_item_is_written_as_before_money_and_an_item_without_a_unit_is_credits() -> None:
    note = Notification(Kind.LOW, "lemlist", Level.WARNING, balance=90, threshold=100)
    state, _ = enqueue(AccountState(samples=(Sample(T0, 90),), checked_at=T0), [note], "r1", T0)

    written = json.loads(encode(state))

    assert "currency" not in written
    assert "currency" not in written["outbox"][0]["note"]
    old = decode(V1_ITEM, 0)
    assert old.currency is None


@pytest.mark.parametrize(
    ("stored", "reason"),
    [
        (
            {"B": zlib.compress(b" " * (MAX_STATE_BYTES + 1))},
            "does not inflate into a whole state of at most",
        ),
        ({"B": zlib.compress(b'{"level": "OK"}')[:-4]}, "does not inflate into a whole state"),
        ({"B": b"plain bytes, not zlib"}, "not zlib-compressed UTF-8 JSON"),
        ({"B": zlib.compress(b"\xff\xfe{}")}, "not zlib-compressed UTF-8 JSON"),
        ({"N": "1"}, "missing or not compressed bytes"),
    ],
    ids=["bomb", "truncated", "not zlib", "not UTF-8", "a number"],
)
def test_a_compressed_state_that_is_not_one_is_that_accounts_error_and_never_inflated_whole(
    stored: dict[str, Any], reason: str
) -> None:
    stub = StubDynamo(
        {
            "fullenrich": {"provider": {"S": "fullenrich"}, "version": {"N": "2"}, "state": stored},
            "lemlist": item("lemlist", V1_ITEM),
        }
    )
    store = DynamoStateStore("t", client=stub)  # type: ignore[arg-type]

    loaded = store.load(["fullenrich", "lemlist"])

    assert isinstance(loaded["fullenrich"], StateError)
    assert reason in str(loaded["fullenrich"])
    assert isinstance(loaded["lemlist"], AccountState)


class ConflictingDynamo(StubDynamo):
    """DynamoDB while another writer's transaction holds the item: every write is refused with
    `code`, as PutItem is while a TransactWriteItems on the same item is in flight."""

    def __init__(self, code: str) -> None:
        super().__init__({})
        self.code = code

    def put_item(self, **request: Any) -> dict[str, Any]:
        raise ClientError({"Error": {"Code": self.code, "Message": "refused"}}, "PutItem")


@pytest.mark.parametrize("code", ["ConditionalCheckFailedException", "TransactionConflictException"])
def test_a_write_refused_because_another_writer_holds_the_item_is_a_lost_race(code: str) -> None:
    """False, so the caller re-reads and decides again (a snooze retries), never an error."""
    store = DynamoStateStore("t", client=ConflictingDynamo(code))  # type: ignore[arg-type]

    assert store.put("lemlist", AccountState(version=2), expected_version=1) is False


def test_a_write_refused_for_another_reason_is_an_error_naming_the_account() -> None:
    store = DynamoStateStore("t", client=ConflictingDynamo("ProvisionedThroughputExceededException"))  # type: ignore[arg-type]

    with pytest.raises(StateError, match="could not write alert state for lemlist"):
        store.put("lemlist", AccountState(version=2), expected_version=1)


NINES = "9" * 4300
"""The longest integer Python reads from text: one more and it cannot be written back as text."""


@pytest.mark.parametrize(
    ("stored", "version"),
    [
        ({"B": zlib.compress(encode(AccountState()).encode()) + b"not part of the state"}, "2"),
        (
            {
                "B": zlib.compress(
                    f'{{"level":"OK","consecutive_failures":{NINES},"failing_notified":false}}'.encode()
                )
            },
            "2",
        ),
        ({"B": zlib.compress(encode(AccountState()).encode())}, NINES),
    ],
    ids=["bytes after the state", "a count that cannot grow", "a version that cannot grow"],
)
def test_an_item_this_code_could_not_have_written_or_write_again_is_that_accounts_error(
    stored: dict[str, Any], version: str
) -> None:
    """Refused at the read, naming the reset command: never accepted as a state, and never a state
    whose next write (count + 1, version + 1) cannot be encoded, which put_many, documented never
    to raise, raised for the version, ending the whole run."""
    stub = CountingDynamo(
        {
            "fullenrich": {"provider": {"S": "fullenrich"}, "version": {"N": version}, "state": stored},
            "lemlist": item("lemlist", V1_ITEM),
        }
    )
    store = DynamoStateStore("t", client=stub)  # type: ignore[arg-type]

    loaded = store.load(["fullenrich", "lemlist"])

    assert isinstance(loaded["fullenrich"], StateError), loaded["fullenrich"]
    assert "aws dynamodb delete-item" in str(loaded["fullenrich"])
    lemlist = loaded["lemlist"]
    assert isinstance(lemlist, AccountState)
    assert store.put_many([StateWrite("lemlist", replace(lemlist, version=lemlist.version + 1), 1)]) == {
        "lemlist": True
    }


def test_a_notification_due_to_every_receiver_the_accounts_file_may_declare_round_trips() -> None:
    """The stack's topic and 100 routes of 10 receivers each, all matching one account."""
    everyone = frozenset(
        {"topic", *(f"route-{r:03d}/slack:client-{r:03d}-slack-{n}" for r in range(100) for n in range(10))}
    )
    state, _ = enqueue(AccountState(), [Notification(Kind.LOW, "acme", Level.WARNING, balance=5)], "r1", T0)
    state = lease(state, "r1", T0, T0 + timedelta(seconds=28), lambda note: everyone)

    assert decode(encode(state), version=0) == state
