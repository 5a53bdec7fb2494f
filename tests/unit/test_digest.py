"""The weekly digest: every account, most urgent first, with its 7-day burn. Pure."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from credit_monitor.alerting import AccountState, Level
from credit_monitor.config import Account
from credit_monitor.digest import digest_id, render_digest, rows, week_of
from credit_monitor.forecast import Sample, Spike
from credit_monitor.messages import MAX_MESSAGE_BYTES, MessageContext
from credit_monitor.model import Pool
from credit_monitor.providers import fullenrich, lemlist
from credit_monitor.service import StateError

NOW = datetime(2026, 11, 9, 8, tzinfo=UTC)  # Monday 09:00 in Paris
PARIS = MessageContext(ZoneInfo("Europe/Paris"))


def account(name: str, provider: object = lemlist) -> Account:
    return Account(name, provider.PROVIDER, "https://api.test", threshold=100)  # type: ignore[attr-defined]


def burning(start: float, per_day: float, level: Level = Level.OK) -> AccountState:
    samples = tuple(Sample(NOW - timedelta(days=8 - d), start - per_day * d) for d in range(9))
    return AccountState(level=level, samples=samples, checked_at=NOW)


def test_the_week_is_the_schedules_monday_and_its_id_the_iso_week() -> None:
    sunday_night_utc = datetime(2026, 11, 8, 23, 30, tzinfo=UTC)  # already Monday in Paris
    assert week_of(sunday_night_utc, PARIS) == date(2026, 11, 9)
    assert week_of(sunday_night_utc, MessageContext()) == date(2026, 11, 2)
    assert digest_id(date(2026, 11, 9)) == "digest-2026-W46"


def test_rows_are_most_urgent_first_with_the_7_day_burn_ignoring_top_ups() -> None:
    accounts = [account("calm"), account("critical"), account("soon", fullenrich), account("broken")]
    topped_up = burning(900, 10)
    topped_up = AccountState(samples=(*topped_up.samples, Sample(NOW + timedelta(hours=1), 5000)))
    states: dict[str, AccountState | Exception] = {
        "calm": topped_up,
        "critical": burning(400, 40, Level.CRITICAL),
        "soon": burning(2000, 200, Level.WARNING),
        "broken": StateError("cannot be decoded"),
    }

    found = rows(accounts, states, NOW + timedelta(hours=1))

    assert [row.account.id for row in found] == ["broken", "critical", "soon", "calm"]
    calm = found[-1]
    assert calm.balance == 5000
    assert calm.burn_per_day is not None
    assert round(calm.burn_per_day) == 10  # the top-up is not negative use


def test_the_digest_is_one_message_with_every_account_and_its_weeks_id() -> None:
    found = rows([account("acme"), account("globex")], {"acme": burning(400, 40, Level.WARNING)}, NOW)

    message = render_digest(found, date(2026, 11, 9), NOW, PARIS, "digest-2026-W46")

    assert message.subject == "[credit-monitor] Weekly digest, week of 09 Nov 2026: 1 low (2 accounts)"
    lines = message.text.splitlines()
    assert "  As of: Mon 09 Nov 2026 09:00 CET" in lines
    assert lines[3].split() == ["Account", "Balance", "Burn/day", "(7", "d)", "Days", "left", "Level", "Note"]
    assert lines[4].split()[:2] == ["acme", "80"]
    assert lines[4].split()[-1] == "warning"
    assert lines[5].split() == ["globex", "unknown", "-", "-", "-"]
    assert message.attributes["notification_id"] == "digest-2026-W46"
    assert message.ids == ["digest-2026-W46"]


def test_the_digest_of_1000_accounts_with_the_longest_ids_fits_in_one_sns_message() -> None:
    """1,000 accounts of 64-character ids (both limits of the accounts file) made a digest of
    365 KB, which SNS refuses every week. The most urgent accounts are listed; the rest are counted."""
    accounts = [account(f"{'a' * 58}{n:06d}") for n in range(1000)]
    states = {
        a.id: burning(10**9, 10**6, Level.WARNING if n < 3 else Level.OK) for n, a in enumerate(accounts)
    }
    found = rows(accounts, states, NOW)

    message = render_digest(found, date(2026, 11, 9), NOW, PARIS, "digest-2026-W46")

    assert message.size() <= MAX_MESSAGE_BYTES
    assert message.subject.endswith("3 low (1000 accounts)")
    lines = message.text.splitlines()
    assert [line.split()[0] for line in lines[4:7]] == [a.id for a in accounts[:3]]  # the most urgent
    listed = sum(1 for line in lines if line.startswith(f"  {'a' * 58}"))
    assert 3 < listed < 1000
    assert (
        f"  ... and {1000 - listed} more accounts, less urgent: credit-monitor status lists every one"
        in lines
    )


def test_a_money_account_shows_its_balance_burn_pools_and_spike_in_its_currency() -> None:
    """Credits and money side by side, each in its unit: the table is read per account."""
    twilio = burning(52.4, 3.2, Level.WARNING)
    spike = Spike(NOW - timedelta(days=2, hours=1), NOW - timedelta(days=2), 30, 1, 1)
    money = replace(twilio, currency="USD", pools=(Pool("prepaid", 27.4),), last_spike=spike)
    found = rows([account("sms"), account("acme")], {"sms": money, "acme": burning(900, 10)}, NOW)

    message = render_digest(found, date(2026, 11, 9), NOW, PARIS, "digest-2026-W46")

    lines = message.text.splitlines()
    assert lines[4].split()[:3] == ["sms", "$26.79", "$3.20"]
    assert lines[4].endswith("warning  prepaid $27.40; spent $30.00 at once on Sat")
    assert lines[5].split()[:3] == ["acme", "820", "10.0"]
    card = message.chat["content"]["description"]
    assert "*sms*: $26.79, burn $3.20/day, - days left, warning (prepaid $27.40; spent $30.00 at once" in card
    assert "*acme*: 820, burn 10.0/day" in card
