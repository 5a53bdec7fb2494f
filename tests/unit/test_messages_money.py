"""What a money account's notifications say: every amount in its currency ("$12.40 left", "€8.00"),
its levels in that currency, and an SNS subject in ASCII. Credit accounts are unchanged (the other
message tests)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from credit_monitor.alerting import Kind, Level, Notification, Pending
from credit_monitor.config import Account
from credit_monitor.forecast import Forecast, ForecastStatus, Spike
from credit_monitor.grouping import Group, Item
from credit_monitor.messages import render, render_group
from credit_monitor.model import Pool
from credit_monitor.providers import CATALOGUE
from tests.support.harness import REPO

CHECKED = datetime(2026, 11, 3, 9, tzinfo=UTC)
BRIGHTDATA = Account("brightdata", CATALOGUE["brightdata"], "https://api.brightdata.com", threshold=20)
VONAGE = Account("vonage", CATALOGUE["vonage"], "https://rest.nexmo.com", threshold=10)
VENDORS = (REPO / "docs" / "vendors.md").read_text(encoding="utf-8")
BURNING = Forecast(ForecastStatus.DEPLETING, burn_per_day=3.2, days_left=3.875)


def low(balance: float = 12.4, currency: str = "USD", **fields: object) -> Notification:
    note = Notification(
        Kind.LOW,
        "brightdata",
        Level.WARNING,
        balance=balance,
        threshold=20,
        forecast=BURNING,
        currency=currency,
    )
    return Notification(**{**note.__dict__, **fields})


def test_a_low_money_balance_says_its_amounts_in_dollars() -> None:
    message = render(low(), BRIGHTDATA, CHECKED)

    assert message.subject == "[credit-monitor] Bright Data balance below warning: $12.40 left"
    lines = message.text.splitlines()
    assert lines[0] == "Bright Data balance fell below the warning level."
    for line in [
        "  Balance:       $12.40",
        "  Level crossed: warning ($20.00)",
        "  Burn rate:     $3.20/day",
        "  Days left:     about 3.9 days (runs out around Sat 07 Nov 2026 06:00 UTC)",
    ]:
        assert line in lines
    assert "credits" not in message.text
    assert message.chat["content"]["title"] == ":warning: Bright Data balance below warning: $12.40 left"
    assert "*Balance:* $12.40" in message.chat["content"]["description"]


def test_euros_are_shown_with_their_sign_and_the_sns_subject_spells_the_code() -> None:
    note = low(balance=8, currency="EUR", account="vonage", threshold=10)
    message = render(note, VONAGE, CHECKED)

    assert message.subject == "[credit-monitor] Vonage balance below warning: 8.00 EUR left"
    assert message.subject.isascii()
    assert "  Balance:       €8.00" in message.text.splitlines()
    assert "  Level crossed: warning (€10.00)" in message.text.splitlines()
    assert message.chat["content"]["title"] == ":warning: Vonage balance below warning: €8.00 left"
    # What SNS is given: the e-mail body in UTF-8, the card's JSON with its escapes.
    body = message.sns_message().encode()
    assert "€8.00".encode() in json.loads(body)["email"].encode()
    assert b"\\u20ac8.00" in body


def test_a_reminder_a_recovery_and_running_out_of_money_read_as_one_balance() -> None:
    reminder = render(low(kind=Kind.REMINDER), BRIGHTDATA, CHECKED)
    recovered = render(low(kind=Kind.RECOVERED, balance=250), BRIGHTDATA, CHECKED)
    running = render(low(kind=Kind.RUNNING_OUT, level=Level.OK, balance=25), BRIGHTDATA, CHECKED)

    assert reminder.subject == "[credit-monitor] Reminder: Bright Data still below warning, $12.40 left"
    assert reminder.text.startswith("Bright Data balance is still below the warning level.")
    assert recovered.subject == "[credit-monitor] Bright Data balance recovered: $250.00"
    assert "  Level crossed: back above warning ($20.00)" in recovered.text.splitlines()
    assert running.subject == "[credit-monitor] Bright Data balance runs out in about 3.9 days"
    assert running.text.startswith("Bright Data balance will run out soon at the current burn rate.")


def test_a_money_balance_just_below_its_level_is_never_shown_at_it() -> None:
    message = render(low(balance=19.999), BRIGHTDATA, CHECKED)
    assert message.subject == "[credit-monitor] Bright Data balance below warning: $19.99 left"


def test_a_negative_balance_shows_its_sign_before_the_currency() -> None:
    message = render(low(balance=-3.105, level=Level.CRITICAL, threshold=5), BRIGHTDATA, CHECKED)
    assert message.subject == "[credit-monitor] Bright Data balance below CRITICAL: -$3.11 left"
    assert "  Days left:     none: the balance is empty" in message.text.splitlines()


def test_spending_fast_says_how_much_money_went_and_the_usual_pace() -> None:
    spike = Spike(CHECKED - timedelta(hours=1), CHECKED, 60, 1, 5)
    note = low(kind=Kind.SPENDING_FAST, balance=120, level=Level.OK, threshold=None, spike=spike)
    message = render(note, BRIGHTDATA, CHECKED)

    assert message.subject == "[credit-monitor] Bright Data spending fast: $60.00 in 1 h"
    assert "  Spent:         $60.00 in 1 h (since Tue 03 Nov 2026 08:00 UTC)" in message.text
    assert "  Usual pace:    at most $5.00 in 1 h, in the last 8 days" in message.text


def test_pools_of_a_money_balance_are_in_its_currency() -> None:
    note = low(pools=(Pool("prepaid", 10.5), Pool("bonus", 1.9)))
    assert "  Pools:         prepaid $10.50, bonus $1.90" in render(note, BRIGHTDATA, CHECKED).text


def test_a_group_of_money_accounts_lists_each_in_its_own_currency() -> None:
    eu = Account("brightdata-eu", CATALOGUE["brightdata"], "https://api.brightdata.com", threshold=20)
    notes = [
        (BRIGHTDATA, low(balance=12.4)),
        (eu, low(account="brightdata-eu", balance=3.1, currency="GBP", level=Level.CRITICAL, threshold=5)),
    ]
    items = tuple(Item(account, Pending(f"n-{account.id}", note, CHECKED)) for account, note in notes)
    [(_, message)] = render_group(Group(Kind.LOW, BRIGHTDATA.vendor, items))

    assert message.subject == "[credit-monitor] 2 Bright Data accounts low (1 CRITICAL), lowest 3.10 GBP left"
    lines = [line for line in message.text.splitlines() if line.startswith("  - brightdata")]
    assert lines[0].startswith("  - brightdata-eu: £3.10, CRITICAL (below £5.00), about 3.9 days left")
    assert lines[1].startswith("  - brightdata: $12.40, warning (below $20.00), about 3.9 days left")
    assert "- brightdata-eu: £3.10, CRITICAL (below £5.00)" in message.chat["content"]["description"]


def test_a_group_of_money_accounts_spending_fast_says_spent_not_credits() -> None:
    spike = Spike(CHECKED - timedelta(hours=1), CHECKED, 60, 1, 5)
    items = tuple(
        Item(account, Pending(f"n-{account.id}", note, CHECKED))
        for account, note in [
            (BRIGHTDATA, low(kind=Kind.SPENDING_FAST, level=Level.OK, threshold=None, spike=spike)),
            (
                VONAGE,
                low(kind=Kind.SPENDING_FAST, account="vonage", currency="EUR", level=Level.OK, spike=spike),
            ),
        ]
    )
    [(_, message)] = render_group(Group(Kind.SPENDING_FAST, BRIGHTDATA.vendor, items))

    assert message.text.startswith("2 Bright Data accounts spent far more than usual since the last check.")
    assert "  - vonage: €12.40, €60.00 in 1 h (usually at most €5.00 in that time)" in message.text


def test_the_docs_show_the_codes_own_words_for_a_money_account() -> None:
    account = Account("acme-brightdata", CATALOGUE["brightdata"], "https://api.brightdata.com", threshold=20)
    message = render(low(account="acme-brightdata"), account, CHECKED)
    shown = f"Subject: {message.subject}\n\n{message.text}"

    [snippet] = re.findall(r"```\n(Subject: .*?)\n```", VENDORS, flags=re.DOTALL)
    assert shown.startswith(snippet + "\n")
