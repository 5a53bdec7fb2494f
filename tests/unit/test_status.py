"""`credit-monitor status`: rows from states, the most urgent first, and the snooze arguments."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from credit_monitor.alerting import AccountState, Kind, Level, Notification, Pending
from credit_monitor.forecast import Sample, Spike, with_used
from credit_monitor.model import Pool
from credit_monitor.status import (
    AccountStatus,
    account_status,
    first_run_note,
    render,
    schedule_period,
    snooze_until,
    sparkline,
    unreadable,
    urgency,
    when,
)

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def burning(balance: float, per_day: float, hours: int = 48) -> tuple[Sample, ...]:
    return with_used(
        Sample(NOW - timedelta(hours=h), balance + per_day * h / 24) for h in range(hours, -1, -6)
    )


def test_the_account_that_needs_money_first_comes_first() -> None:
    rows = [
        account_status("calm", AccountState(samples=burning(90_000, 100)), NOW),
        account_status("soon", AccountState(samples=burning(300, 100)), NOW),
        account_status("low", AccountState(level=Level.WARNING, samples=burning(50, 10)), NOW),
        account_status("never-checked", AccountState(), NOW),
        unreadable("broken", "cannot be decoded; reset with: aws dynamodb delete-item ..."),
    ]

    ordered = [row.account for row in sorted(rows, key=urgency)]

    assert ordered == ["broken", "low", "soon", "calm", "never-checked"]
    table = render(rows, NOW).splitlines()
    assert table[0].split()[:3] == ["ACCOUNT", "LEVEL", "BALANCE"]
    assert table[2].startswith("low ")
    assert re.search(r"soon\s+OK\s+300\s+0m ago\s+100.0\s+3.0", table[3]), table[3]
    assert table[-1].split()[:3] == ["never-checked", "OK", "-"]


def test_a_snooze_shows_until_it_ends() -> None:
    state = AccountState(snoozed_until=NOW + timedelta(days=3), snooze_reason="renewal")
    assert account_status("a", state, NOW).snoozed_until == NOW + timedelta(days=3)
    assert account_status("a", state, NOW + timedelta(days=4)).snoozed_until is None


def test_the_sparkline_follows_the_balance_in_sixteen_characters() -> None:
    falling = tuple(Sample(NOW + timedelta(hours=h), 1000 - h) for h in range(96))
    line = sparkline(falling)
    assert len(line) == 16
    assert line[0] == "█"
    assert line[-1] == "▁"
    assert sparkline(()) == ""
    assert sparkline((Sample(NOW, 5),)) == "▅"  # one value: the middle of the scale


def test_json_has_every_field_status_shows() -> None:
    state = replace(AccountState(samples=burning(300, 100)), consecutive_failures=2)
    data = account_status("soon", state, NOW).as_json()
    assert set(data) == {
        "account", "level", "balance", "balance_at", "burn_per_day", "days_left", "notified_at", "last_sent",
        "consecutive_failures", "pending_notifications", "snoozed_until", "snooze_reason", "history",
        "problem", "renews_at", "lasts_until_renewal", "pools", "last_spike", "renewal_missed", "currency",
        "pending_by_receiver",
    }  # fmt: skip
    assert data["consecutive_failures"] == 2
    assert data["history"] == [[s.at.isoformat(), s.balance] for s in state.samples]


@pytest.mark.parametrize(
    ("duration", "until", "expected"),
    [
        ("3d", None, NOW + timedelta(days=3)),
        ("90m", None, NOW + timedelta(minutes=90)),
        (None, "2026-12-01", datetime(2026, 12, 1, tzinfo=UTC)),
        (None, "2026-12-01T09:00+01:00", datetime(2026, 12, 1, 8, tzinfo=UTC)),
    ],
)
def test_snooze_takes_a_duration_or_an_end(
    duration: str | None, until: str | None, expected: datetime
) -> None:
    assert snooze_until(NOW, duration, until) == expected


@pytest.mark.parametrize(
    ("duration", "until", "message"),
    [
        (None, None, "give exactly one of --for"),
        ("3d", "2026-12-01", "give exactly one of --for"),
        ("3 days", None, "--for must be a number and a unit"),
        (None, "next friday", "--until must be a date or time"),
        (None, "2026-11-01", "would end in the past"),
        ("400d", None, "at most a year"),
    ],
)
def test_a_bad_snooze_says_what_is_wrong(duration: str | None, until: str | None, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        snooze_until(NOW, duration, until)


def test_balances_near_the_float_limit_still_draw_a_sparkline() -> None:
    extreme = (Sample(NOW, 1.7e308), Sample(NOW + timedelta(hours=1), -1.7e308))
    assert sparkline(extreme) == "█▁"


@pytest.mark.parametrize("duration", ["99999999999d", "9999999w", "1²d"])
def test_a_snooze_too_long_to_compute_is_a_clear_error(duration: str) -> None:
    with pytest.raises(ValueError, match=r"at most a year|a number and a unit"):
        snooze_until(NOW, duration, None)


def test_the_snooze_reason_shows_in_the_table() -> None:
    state = AccountState(snoozed_until=NOW + timedelta(days=3), snooze_reason="renewal")
    assert "(renewal)" in render([account_status("a", state, NOW)], NOW)


HOSTILE = "\x1b[2J\x1b]0;pwned\x07\u202e\ud800\n"
"""Clear the screen, retitle the terminal, ring the bell, reverse the text, a lone surrogate, a new line."""
ESCAPED = "\\x1b[2J\\x1b]0;pwned\\x07\\u202e\\ud800\\n"


def hostile_rows() -> list[AccountStatus]:
    state = AccountState(snoozed_until=NOW + timedelta(days=3), snooze_reason=f"renewal{HOSTILE}")
    return [account_status(f"acct{HOSTILE}", state, NOW), unreadable(f"bad{HOSTILE}", f"broken{HOSTILE}")]


def test_foreign_text_in_the_table_is_escaped_visibly_and_encodes() -> None:
    table = render(hostile_rows(), NOW)

    table.encode("utf-8")  # strict
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]", table)
    assert len(table.splitlines()) == 3, "a new line in a field never starts a row"
    assert f"(renewal{ESCAPED})" in table
    for shown in (f"acct{ESCAPED}", f"bad{ESCAPED}", f"broken{ESCAPED}"):
        assert shown in table


def test_foreign_text_in_json_is_escaped_the_same_way() -> None:
    snoozed, bad = (row.as_json() for row in hostile_rows())

    assert (snoozed["account"], snoozed["snooze_reason"]) == (f"acct{ESCAPED}", f"renewal{ESCAPED}")
    assert (bad["account"], bad["problem"]) == (f"bad{ESCAPED}", f"broken{ESCAPED}")


def test_one_huge_field_does_not_widen_every_row() -> None:
    """DynamoDB keeps a key of 2,048 bytes and an item of 400 KB: both are cut, visibly."""
    huge = AccountState(snoozed_until=NOW + timedelta(days=3), snooze_reason="x" * 300_000)
    rows = [account_status("k" * 2000, AccountState(), NOW), account_status("huge", huge, NOW)]

    table = render(rows, NOW)

    assert max(len(line) for line in table.splitlines()) < 400
    assert "k" * 63 + "…" in table
    assert "x" * 199 + "…)" in table


@pytest.mark.parametrize(
    ("moment", "shown"),
    [
        (NOW + timedelta(days=2, hours=21), "2026-11-28 09:00 UTC (in 2 days)"),
        (NOW + timedelta(hours=5, minutes=30), "2026-11-25 17:30 UTC (in 5 hours)"),
        (NOW + timedelta(minutes=90, seconds=20), "2026-11-25 13:30 UTC (in 90 minutes)"),
        (NOW + timedelta(days=3, seconds=-0.01), "2026-11-28 11:59 UTC (in 3 days)"),
        (NOW + timedelta(minutes=1), "2026-11-25 12:01 UTC (in 1 minute)"),
        (NOW + timedelta(seconds=20), "2026-11-25 12:00 UTC (now)"),
        (NOW - timedelta(hours=26), "2026-11-24 10:00 UTC (26 hours ago)"),
        (datetime.fromisoformat("2026-11-26T09:00:00.123456+01:00"), "2026-11-26 08:00 UTC (in 20 hours)"),
    ],
)
def test_a_time_is_shown_for_people_in_minutes_with_its_zone_and_how_far(
    moment: datetime, shown: str
) -> None:
    assert when(moment, NOW) == shown


def test_the_snooze_column_shows_the_zone() -> None:
    state = AccountState(snoozed_until=NOW + timedelta(days=3))
    assert "2026-11-28 12:00 UTC" in render([account_status("a", state, NOW)], NOW)


def test_status_shows_the_last_notification_sent_and_when() -> None:
    state = AccountState(
        level=Level.WARNING,
        notified_at=NOW - timedelta(days=3),
        last_sent="CHECK FAILING",
        last_sent_at=NOW - timedelta(hours=2),
    )
    row = account_status("acme-lemlist", state, NOW)

    assert "CHECK FAILING 2h ago" in render([row], NOW)
    assert row.as_json()["last_sent"] == "CHECK FAILING"
    older = account_status("acme-lemlist", replace(state, last_sent=None, last_sent_at=None), NOW)
    assert "3d ago" in render([older], NOW), "an item written before last_sent: the reminder clock"


def test_a_low_account_that_lasts_until_its_renewal_says_so() -> None:
    renews = NOW + timedelta(days=5)
    state = replace(
        AccountState(level=Level.WARNING, samples=burning(300, 50)),
        renewal_due=renews,
        pools=(Pool("subscription", 280, renews=True), Pool("paid", 20)),
    )
    row = account_status("acme", state, NOW)
    assert row.renews_at == renews
    assert row.lasts
    notes = "; ".join(row.notes(NOW))
    assert f"low, but lasts until its renewal on {renews:%a %d %b}" in notes
    assert "subscription 280 (renews), paid 20" in notes
    assert row.as_json()["lasts_until_renewal"] is True
    assert row.as_json()["pools"] == {"subscription": 280, "paid": 20}
    assert notes in render([row], NOW)


def test_an_account_that_runs_out_before_its_renewal_says_so() -> None:
    renews = NOW + timedelta(days=10)
    state = replace(AccountState(samples=burning(300, 100)), renewal_due=renews)
    row = account_status("acme", state, NOW)
    assert not row.lasts
    assert row.notes(NOW) == [f"runs out before its renewal on {renews:%a %d %b}"]


def test_a_renewal_that_did_not_show_and_a_recent_spike_are_in_the_notes() -> None:
    spike = Spike(NOW - timedelta(hours=27), NOW - timedelta(hours=26), 6000, 1, 4)
    state = replace(
        AccountState(samples=burning(9000, 100)),
        renewal_missed=datetime(2026, 11, 1, tzinfo=UTC),
        last_spike=spike,
    )
    row = account_status("acme", state, NOW)
    assert row.notes(NOW) == [
        "the renewal of 01 Nov did not show in the balance",
        "spent 6,000 in 1 h, 26h ago",
    ]
    assert row.notes(NOW + timedelta(days=8)) == ["the renewal of 01 Nov did not show in the balance"]


# --- after the first deploy: what comes next ---------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "alarm_period", "period"),
    [
        ("rate(1 hour)", "3600", timedelta(hours=1)),
        ("rate(15 minutes)", "900", timedelta(minutes=15)),
        ("rate(1 day)", "86400", timedelta(days=1)),
        ("cron(0 9 * * ? *)", "86400", timedelta(days=1)),
        ("cron(0 9 * * ? *)", None, None),
        (None, None, None),
    ],
)
def test_the_schedules_period_comes_from_its_rate_else_from_the_alarm_period(
    schedule: str | None, alarm_period: str | None, period: timedelta | None
) -> None:
    assert schedule_period(schedule, alarm_period) == period


def test_before_the_first_run_status_says_when_it_is_due_and_how_to_see_a_message_now() -> None:
    deployed = NOW - timedelta(minutes=20)

    lines = first_run_note("rate(1 hour)", timedelta(hours=1), deployed, NOW, "credit-monitor test-alert")

    assert lines == [
        "The first scheduled run (rate(1 hour)) is due by 2026-11-25 12:40 UTC (in 40 minutes).",
        "To see a message arrive now: credit-monitor test-alert",
    ]


def test_a_first_run_overdue_says_where_to_look() -> None:
    deployed = NOW - timedelta(hours=3)

    lines = first_run_note("rate(1 hour)", timedelta(hours=1), deployed, NOW, "credit-monitor test-alert")

    assert lines[0] == (
        "The first scheduled run (rate(1 hour)) was due by 2026-11-25 10:00 UTC (2 hours ago) and recorded"
        " nothing: look at the function's errors (see troubleshooting in the docs)."
    )


def test_without_the_stacks_schedule_the_first_run_is_within_the_hour() -> None:
    assert first_run_note(None, None, None, NOW, "credit-monitor test-alert --stack x")[0] == (
        "The first scheduled run is due within the hour of the deploy (with the default schedule,"
        " rate(1 hour))."
    )


def test_a_money_account_shows_its_balance_burn_pools_and_spike_in_its_currency() -> None:
    spike = Spike(NOW - timedelta(hours=3), NOW - timedelta(hours=2), 30, 1, 1)
    state = replace(
        AccountState(level=Level.WARNING, samples=burning(12.4, 3.2)),
        currency="USD",
        pools=(Pool("prepaid", 10.5),),
        last_spike=spike,
    )
    row = account_status("sms", state, NOW)
    credits = account_status("acme", AccountState(samples=burning(300, 100)), NOW)

    table = render([row, credits], NOW).splitlines()

    assert re.search(r"^sms\s+WARNING\s+\$12\.40\s+0m ago\s+\$3\.20\s+3\.9\s", table[1]), table[1]
    assert "prepaid $10.50; spent $30.00 in 1 h, 2h ago" in table[1]
    assert re.search(r"^acme\s+OK\s+300\s+0m ago\s+100\.0\s+3\.0\s", table[2]), table[2]
    data = row.as_json()
    assert (data["balance"], data["currency"]) == (12.4, "USD")
    assert credits.as_json()["currency"] is None


def pending(number: int, due: set[str], delivered: frozenset[str] = frozenset()) -> Pending:
    note = Notification(Kind.LOW, "acme-lemlist", Level.WARNING)
    return Pending(f"run-{number}", note, NOW, due=frozenset(due), delivered_to=delivered)


def test_deliveries_pending_are_counted_per_receiver_still_to_take_them() -> None:
    """A receiver that accepted a notification owes nothing of it; the ids say no secret."""
    slack, pagerduty = "acme/slack:acme-slack", "acme/pagerduty:acme-pagerduty"
    acme = AccountState(
        outbox=(
            pending(1, {"topic", slack, pagerduty}, delivered=frozenset({"topic", pagerduty})),
            pending(2, {"topic", slack}),
        )
    )
    globex = AccountState(outbox=(pending(3, {"topic", "globex/webhook:globex-hook"}, frozenset({"topic"})),))
    rows = [account_status("acme-lemlist", acme, NOW), account_status("globex-lemlist", globex, NOW)]

    assert rows[0].pending_by_receiver == {slack: 2, "topic": 1}
    assert rows[0].as_json()["pending_by_receiver"] == {slack: 2, "topic": 1}
    assert rows[0].pending_notifications == 2
    lines = render(rows, NOW).splitlines()
    assert [line.split()[8] for line in lines[1:3]] == ["2", "1"]  # the PEND column: notifications
    assert lines[-1] == (
        "pending deliveries: 2 for acme/slack:acme-slack, 1 for globex/webhook:globex-hook,"
        " 1 for the stack's topic"
    )


def test_nothing_pending_adds_no_line_and_a_hostile_receiver_id_is_escaped() -> None:
    quiet = account_status("a", AccountState(samples=burning(300, 100)), NOW)
    assert not render([quiet], NOW).splitlines()[-1].startswith("pending")

    hostile = account_status("b", AccountState(outbox=(pending(1, {"x/slack:\x1b[2J" + "y" * 500}),)), NOW)
    [line] = [line for line in render([hostile], NOW).splitlines() if line.startswith("pending")]
    assert "\x1b" not in line
    assert "\\x1b[2J" in line
    assert len(line) < 200
