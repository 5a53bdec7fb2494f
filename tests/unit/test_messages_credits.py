"""What SPENDING FAST, a renewing plan's alerts and pools say; the docs show the code's own words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from credit_monitor.alerting import Kind, Level, Notification, Pending
from credit_monitor.config import Account
from credit_monitor.forecast import Forecast, ForecastStatus, Spike
from credit_monitor.grouping import Group, Item
from credit_monitor.messages import MessageContext, render, render_group
from credit_monitor.model import Pool
from credit_monitor.providers import fullenrich, lemlist
from tests.support.harness import REPO

PARIS = MessageContext(ZoneInfo("Europe/Paris"))
MESSAGES = (REPO / "docs" / "messages.md").read_text(encoding="utf-8")
CHECKED = datetime(2026, 11, 3, 9, tzinfo=UTC)
FULLENRICH = Account("fullenrich", fullenrich.PROVIDER, fullenrich.PROVIDER.default_api_url, 1000)
BUSY = Account("busy-plan", lemlist.PROVIDER, lemlist.PROVIDER.default_api_url, 500)
SUBSCRIPTION = (Pool("subscription", 1200, True), Pool("paid", 0), Pool("gifted", 300), Pool("freemium", 0))


def spending(balance: float = 12000, usual: float = 12, level: Level = Level.OK) -> Notification:
    return Notification(
        Kind.SPENDING_FAST,
        "fullenrich",
        level,
        balance=balance,
        threshold=1000 if level is not Level.OK else None,
        forecast=Forecast(ForecastStatus.NOT_DEPLETING, burn_per_day=0.0),
        spike=Spike(CHECKED - timedelta(hours=1), CHECKED, 6000, 1, usual),
    )


def in_docs(note: Notification, account: Account, checked: datetime) -> bool:
    message = render(note, account, checked, PARIS)
    return f"```\nSubject: {message.subject}\n\n{message.text.rstrip()}\n```\n" in MESSAGES


def test_spending_fast_says_what_was_spent_over_what_time_the_usual_and_the_runway() -> None:
    message = render(spending(), FULLENRICH, CHECKED, PARIS)

    assert message.subject == "[credit-monitor] FullEnrich spending fast: 6,000 credits in 1 h"
    assert message.attributes["kind"] == "SPENDING FAST"
    assert "  Spent:         6,000 credits in 1 h (since Tue 03 Nov 2026 09:00 CET)" in message.text
    assert "  Usual pace:    at most 12 credits in 1 h, in the last 8 days" in message.text
    assert "  If it goes on: the balance lasts about 2 h" in message.text
    assert "Days left" not in message.text  # the spike's own runway says it
    assert in_docs(spending(), FULLENRICH, CHECKED)


def test_a_spike_after_a_quiet_week_says_none_and_one_that_crossed_a_level_names_it() -> None:
    quiet = render(spending(usual=0), FULLENRICH, CHECKED, PARIS).text
    crossed = render(spending(balance=800, level=Level.WARNING), FULLENRICH, CHECKED, PARIS).text

    assert "  Usual pace:    none in any 1 h of the last 8 days" in quiet
    assert "  Level crossed: warning (1,000 credits)" in crossed


def test_a_renewing_plan_that_will_not_last_names_the_day_it_runs_out_the_renewal_and_the_gap() -> None:
    note = Notification(
        Kind.RUNNING_OUT,
        "busy-plan",
        Level.OK,
        balance=1500,
        threshold=500,
        forecast=Forecast(ForecastStatus.DEPLETING, burn_per_day=250.0, days_left=6.0),
        renews_at=datetime(2026, 11, 30, 23, tzinfo=UTC),  # 00:00 on 1 Dec in Paris
        pools=SUBSCRIPTION,
    )
    checked = datetime(2026, 11, 15, 9, tzinfo=UTC)
    message = render(note, BUSY, checked, PARIS)

    assert message.subject == (
        "[credit-monitor] lemlist (busy-plan) credits run out in about 6.0 days, before renewal"
    )
    assert (
        "  Renews:    runs out around Sat 21 Nov 2026, 10 days before it renews on Tue 01 Dec 2026"
        in message.text
    )
    assert "  Pools:     subscription 1,200 (renews Tue 01 Dec 2026), paid 0, gifted 300, freemium 0" in (
        message.text
    )
    assert "credit-monitor snooze busy-plan --until 2026-12-01" in message.text
    assert in_docs(note, BUSY, checked)


def test_an_empty_renewing_plan_says_it_waits_for_its_renewal() -> None:
    note = Notification(
        Kind.REMINDER,
        "busy-plan",
        Level.WARNING,
        balance=0,
        threshold=500,
        forecast=Forecast(ForecastStatus.DEPLETING, burn_per_day=250.0, days_left=0.0),
        renews_at=datetime(2026, 12, 1, tzinfo=UTC),
    )
    text = render(note, BUSY, datetime(2026, 11, 30, 9, tzinfo=UTC), MessageContext()).text

    assert "  Days left:     none: the balance is empty" in text
    assert "  Renews:        empty until it renews on Tue 01 Dec 2026, 15 h from now" in text


def test_a_recovery_by_the_renewal_says_renewed() -> None:
    note = Notification(Kind.RECOVERED, "busy-plan", Level.WARNING, balance=5000, threshold=500, renewed=True)
    message = render(note, BUSY, CHECKED, PARIS)

    assert message.subject == "[credit-monitor] lemlist (busy-plan) credits renewed: 5,000"
    assert "the plan renewed." in message.text
    assert f"Subject: {message.subject}" in MESSAGES


def test_spikes_of_several_accounts_are_one_message_the_biggest_first() -> None:
    small = Account("fe-small", fullenrich.PROVIDER, fullenrich.PROVIDER.default_api_url, 100)
    items = tuple(
        Item(account, Pending(f"n{i}", note, CHECKED))
        for i, (account, note) in enumerate(
            [
                (small, spending()),
                (
                    FULLENRICH,
                    Notification(**{**spending().__dict__, "spike": Spike(CHECKED, CHECKED, 9000, 1, 5)}),
                ),
            ]
        )
    )
    [(_, message)] = render_group(Group(Kind.SPENDING_FAST, fullenrich.PROVIDER.vendor, items), PARIS)

    assert (
        message.subject
        == "[credit-monitor] 2 FullEnrich accounts spending fast, the most 9,000 credits in 1 min"
    )
    lines = [line for line in message.text.splitlines() if line.startswith("  - ")][:2]
    assert lines[0].startswith("  - fullenrich: 12,000 credits, 9,000 credits in 1 min")
    assert lines[1].startswith(
        "  - fe-small: 12,000 credits, 6,000 credits in 1 h (usually at most 12 in that time)"
    )
