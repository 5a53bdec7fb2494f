"""What people read: the e-mail text and the chat card, for each kind of notification."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from credit_monitor.alerting import Kind, Level, Notification, Pending
from credit_monitor.amounts import format_balance
from credit_monitor.config import Account
from credit_monitor.forecast import Forecast, ForecastStatus
from credit_monitor.grouping import Group, Incident, Item
from credit_monitor.messages import (
    MAX_MESSAGE_BYTES,
    SUBJECT_MAX_LENGTH,
    MessageContext,
    render,
    render_group,
)
from credit_monitor.model import FailureKind
from credit_monitor.providers import fullenrich, http_json, lemlist

FULLENRICH = Account("fullenrich", fullenrich.PROVIDER, "https://app.fullenrich.com/api/v2", threshold=1000)
LEMLIST = Account("lemlist", lemlist.PROVIDER, "https://api.lemlist.com/api", threshold=100)

BURNING = Forecast(ForecastStatus.DEPLETING, burn_per_day=120.0, days_left=3.5)


def test_critical_low_states_provider_balance_level_burn_days_and_where_to_top_up() -> None:
    note = Notification(Kind.LOW, "lemlist", Level.CRITICAL, balance=42, threshold=50, forecast=BURNING)
    message = render(note, LEMLIST)

    assert message.subject == "[credit-monitor] lemlist credits below CRITICAL: 42 left"
    for line in [
        "lemlist credits fell below the CRITICAL level.",
        "  Provider:      lemlist",
        "  Balance:       42 credits",
        "  Level crossed: CRITICAL (50 credits)",
        "  Burn rate:     120.0 credits/day",
        "  Days left:     about 3.5 days",
        "  - Top up at https://app.lemlist.com/settings/billing",
    ]:
        assert line in message.text.splitlines()


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (5000, "5,000"),
        (1234.5, "1,234.50"),
        (0.29, "0.29"),  # 0.29 * 100 is 28.999...: flooring must not lose a cent
        (999.999, "999.99"),
        (999.9999999999, "999.99"),
        (99.995, "99.99"),
    ],
)
def test_balances_are_rounded_down_never_up(value: float, shown: str) -> None:
    """Rounding up could show a balance at or above the level it is below: 999.999 as 1,000.00."""
    assert format_balance(value) == shown


def test_balance_just_below_the_threshold_is_not_shown_at_the_threshold() -> None:
    note = Notification(Kind.LOW, "fullenrich", Level.WARNING, balance=999.999, threshold=1000)
    message = render(note, FULLENRICH)

    assert message.subject == "[credit-monitor] FullEnrich credits below warning: 999.99 left"
    assert "  Balance:       999.99 credits" in message.text.splitlines()
    assert "  Level crossed: warning (1,000 credits)" in message.text.splitlines()


@pytest.mark.parametrize(
    "recovered_from", [Level.WARNING, Level.CRITICAL], ids=["from-warning", "from-critical"]
)
def test_recovered_names_the_warning_level_it_climbed_back_above(recovered_from: Level) -> None:
    """The engine passes the level it recovered from and, as `threshold`, the warning level."""
    note = Notification(Kind.RECOVERED, "lemlist", recovered_from, balance=5000, threshold=100)
    message = render(note, LEMLIST)

    assert message.subject == "[credit-monitor] lemlist credits recovered: 5,000"
    lines = message.text.splitlines()
    assert lines[0] == "lemlist credits are back above the warning level."
    assert "  Level crossed: back above warning (100 credits)" in lines
    assert "*Level crossed:* back above warning (100 credits)" in message.chat["content"]["description"]
    assert "CRITICAL" not in message.text
    assert "CRITICAL" not in json.dumps(message.chat)


def test_chat_card_is_amazon_q_custom_notification() -> None:
    note = Notification(Kind.LOW, "fullenrich", Level.WARNING, balance=900, threshold=1000, forecast=BURNING)
    chat = render(note, FULLENRICH).chat

    assert chat["version"] == "1.0"
    assert chat["source"] == "custom"
    content = chat["content"]
    assert content["title"] == ":warning: FullEnrich credits below warning: 900 left"
    assert "*Balance:* 900 credits" in content["description"]
    assert "*Days left:* about 3.5 days" in content["description"]
    assert content["nextSteps"][0] == "Top up at https://app.fullenrich.com/app/settings/billing"


def test_one_publish_carries_a_body_per_protocol() -> None:
    note = Notification(Kind.RECOVERED, "lemlist", Level.WARNING, balance=5000, threshold=100)
    message = render(note, LEMLIST)
    bodies = json.loads(message.sns_message())

    assert bodies["default"] == bodies["email"] == message.text
    assert json.loads(bodies["https"]) == message.chat


def test_unknown_forecast_is_said_in_words_not_as_a_number() -> None:
    note = Notification(
        Kind.LOW,
        "lemlist",
        Level.WARNING,
        balance=90,
        threshold=100,
        forecast=Forecast(ForecastStatus.NOT_ENOUGH_HISTORY),
    )
    assert "  Days left:     not enough history for a forecast yet" in render(note, LEMLIST).text


def test_check_failing_gives_the_reason_and_no_balance() -> None:
    note = Notification(
        Kind.CHECK_FAILING,
        "fullenrich",
        Level.OK,
        failures=3,
        reason="HTTP 401, key rejected",
        failure=FailureKind.AUTH,
    )
    message = render(note, FULLENRICH)
    assert message.subject == "[credit-monitor] FullEnrich check failing (3 in a row)"
    assert "  Last error: HTTP 401, key rejected" in message.text.splitlines()
    assert (
        "  - Check that the FullEnrich key in the secret is present, valid and not revoked." in message.text
    )
    assert "Balance" not in message.text


@pytest.mark.parametrize(
    ("failure", "advice"),
    [
        (FailureKind.TIMEOUT, "lemlist may be down or slow to answer"),
        (FailureKind.CONNECTION, "lemlist may be down or unreachable"),
        (FailureKind.HTTP, "lemlist may be down or unreachable"),
        (FailureKind.AUTH, "key in the secret is present"),
        (FailureKind.RATE_LIMITED, 'lemlist refused with "too many requests" after retries'),
        (FailureKind.TLS, "SSL_CERT_FILE"),
        (FailureKind.BAD_RESPONSE, "its API may have changed"),
        (FailureKind.SECRET, "key in the secret is present"),
    ],
)
def test_check_failing_advice_fits_the_failure(failure: FailureKind, advice: str) -> None:
    note = Notification(Kind.CHECK_FAILING, "lemlist", Level.OK, failures=3, reason="x", failure=failure)
    message = render(note, LEMLIST)
    assert advice in message.text
    assert advice in " ".join(message.chat["content"]["nextSteps"])


def test_every_failure_kind_has_advice_naming_its_cause() -> None:
    """Only the provider's own "too many requests" may say it clears by itself: our own pacing of a
    shared key is never a failure (it is "not checked this run"), and nothing else clears alone."""
    for failure in FailureKind:
        note = Notification(Kind.CHECK_FAILING, "lemlist", Level.OK, failures=3, reason="x", failure=failure)
        text = render(note, LEMLIST).text
        clears = "clears by itself" in text
        assert clears == (failure is FailureKind.RATE_LIMITED), failure
        assert "Your own jobs are using" not in text


@pytest.mark.parametrize("kind", list(Kind))
def test_every_subject_fits_sns_limit_even_with_huge_numbers(kind: Kind) -> None:
    note = Notification(
        kind,
        "fullenrich",
        Level.CRITICAL,
        balance=1e18,
        threshold=1e18,
        failures=10**9,
        forecast=Forecast(ForecastStatus.DEPLETING, burn_per_day=1e15, days_left=1e12),
    )
    assert len(render(note, FULLENRICH).subject) <= SUBJECT_MAX_LENGTH


def test_attributes_name_the_account_its_provider_the_kind_level_and_every_label() -> None:
    account = Account(
        "acme-lemlist", lemlist.PROVIDER, "https://api.lemlist.com/api", 500, labels={"client": "acme"}
    )
    note = Notification(Kind.LOW, "acme-lemlist", Level.WARNING, balance=42, threshold=500)

    message = render(note, account)

    assert message.attributes == {
        "account": "acme-lemlist",
        "provider": "lemlist",
        "kind": "LOW",
        "level": "WARNING",
        "client": "acme",
    }
    assert message.chat["metadata"]["threadId"] == "credit-monitor-acme-lemlist"
    assert message.subject.startswith("[credit-monitor] lemlist (acme-lemlist) credits below warning")


def test_the_subject_is_one_sns_accepts_whatever_the_account_is_called() -> None:
    """SNS refuses a Subject of 100 characters or more, or with non-ASCII or control characters;
    a refused subject would leave the notification pending for ever."""
    account = Account("acme", lemlist.PROVIDER, "https://api.lemlist.com/api", 1e12)
    account = replace(account, provider=replace(lemlist.PROVIDER, display_name="Émailé\nverifier " * 8))
    note = Notification(Kind.LOW, "acme", Level.WARNING, balance=9.99e11, threshold=1e12)

    subject = render(note, account).subject

    assert len(subject) < 100
    assert all(" " <= char <= "~" for char in subject), subject


def _item(account: Account, note: Notification) -> Item:
    return Item(account, Pending(f"run-{account.id}-1", note, datetime(2026, 11, 2, 9, tzinfo=UTC)))


def _acme(n: int) -> Account:
    return Account(
        f"acme-{n:03d}", lemlist.PROVIDER, "https://api.lemlist.com/api", 100, labels={"client": "acme"}
    )


def test_a_group_of_one_reads_like_the_single_message_and_carries_its_id() -> None:
    note = Notification(Kind.LOW, "lemlist", Level.CRITICAL, balance=42, threshold=50, forecast=BURNING)
    single = render(note, LEMLIST, datetime(2026, 11, 2, 9, tzinfo=UTC))

    [(_, message)] = render_group(Group(Kind.LOW, LEMLIST.vendor, (_item(LEMLIST, note),)))

    assert (message.subject, message.text, message.chat) == (single.subject, single.text, single.chat)
    assert message.attributes == {**single.attributes, "notification_id": "run-lemlist-1"}


def test_a_group_says_how_many_and_how_bad_and_lists_every_account_with_figure_level_and_link() -> None:
    notes = [
        Notification(Kind.LOW, f"acme-{n:03d}", level, balance=balance, threshold=threshold)
        for n, (level, balance, threshold) in enumerate(
            [(Level.WARNING, 80, 100), (Level.CRITICAL, 12, 50), (Level.WARNING, 95, 100)]
        )
    ]
    group = Group(
        Kind.LOW,
        LEMLIST.vendor,
        tuple(_item(_acme(n), note) for n, note in enumerate(notes)),
        (("client", "acme"),),
    )

    [(_, message)] = render_group(group)

    assert message.subject == "[credit-monitor] 3 lemlist accounts low (1 CRITICAL), lowest 12 left"
    lines = message.text.splitlines()
    listed = [line for line in lines if line.startswith("  - acme-")]
    assert listed == [
        "  - acme-001: 12 credits, CRITICAL (below 50), top up at https://app.lemlist.com/settings/billing",
        "  - acme-000: 80 credits, warning (below 100), top up at https://app.lemlist.com/settings/billing",
        "  - acme-002: 95 credits, warning (below 100), top up at https://app.lemlist.com/settings/billing",
    ]
    assert message.attributes == {
        "client": "acme",
        "provider": "lemlist",
        "kind": "LOW",
        "level": "CRITICAL",
        "notification_id": "run-acme-000-1,run-acme-001-1,run-acme-002-1",
    }
    assert "acme-001: 12 credits" in message.chat["content"]["description"]


def test_a_grouped_running_out_above_every_level_names_no_level() -> None:
    """RUNNING OUT comes before a balance is low: "ok (below 100)" would contradict itself."""
    notes = [
        Notification(
            Kind.RUNNING_OUT, f"acme-{n:03d}", Level.OK, balance=4600, threshold=100, forecast=BURNING
        )
        for n in range(2)
    ]
    group = Group(
        Kind.RUNNING_OUT, LEMLIST.vendor, tuple(_item(_acme(n), note) for n, note in enumerate(notes))
    )

    [(_, message)] = render_group(group)

    listed = [line for line in message.text.splitlines() if line.startswith("  - acme-")]
    assert len(listed) == 2
    assert all(line.startswith(f"  - acme-00{n}: 4,600 credits, about ") for n, line in enumerate(listed))
    assert "below" not in message.text
    assert " ok" not in message.text


def test_a_group_too_big_for_sns_is_split_and_every_notification_is_in_exactly_one_part() -> None:
    note = Notification(Kind.CHECK_FAILING, "x", Level.OK, failures=3, reason="r" * 400)
    items = tuple(
        Item(
            _acme(n),
            Pending(
                f"run-{n:04d}-{'i' * 40}",
                replace(note, account=_acme(n).id),
                datetime(2026, 11, 2, tzinfo=UTC),
            ),
        )
        for n in range(800)
    )

    parts = render_group(Group(Kind.CHECK_FAILING, LEMLIST.vendor, items))

    assert len(parts) > 1
    assert all(message.size() <= MAX_MESSAGE_BYTES for _, message in parts)
    delivered = [i for _, message in parts for i in message.ids]
    assert sorted(delivered) == sorted(item.pending.id for item in items)


def test_an_outage_of_several_failure_kinds_names_each_with_its_count_and_each_accounts_error() -> None:
    causes = [
        (FailureKind.HTTP, "HTTP 503"),
        (FailureKind.TIMEOUT, "timed out"),
        (FailureKind.HTTP, "HTTP 502"),
    ]
    items = tuple(
        _item(
            _acme(n),
            Notification(Kind.CHECK_FAILING, f"acme-{n:03d}", Level.OK, failures=3, failure=kind, reason=why),
        )
        for n, (kind, why) in enumerate(causes)
    )

    [(_, message)] = render_group(
        Group(
            Kind.CHECK_FAILING, LEMLIST.vendor, items, incident=Incident(vendor_down=True), vendor_accounts=3
        )
    )

    lines = message.text.splitlines()
    assert message.subject == "[credit-monitor] lemlist outage: 3 accounts failing (several causes)"
    assert "  Cause:    http (2), timeout (1)" in lines
    assert "  - acme-001: 3 failed checks in a row (timed out)" in lines


def test_two_notifications_of_one_account_in_a_group_name_that_account_and_its_snooze() -> None:
    """A run killed before publishing leaves a warning LOW pending; the next run adds the critical
    one: one group, one account. It is not "1 lemlist accounts", and its snooze is runnable."""
    acme = _acme(1)
    notes = [
        Notification(Kind.LOW, acme.id, Level.WARNING, balance=80, threshold=100),
        Notification(Kind.LOW, acme.id, Level.CRITICAL, balance=12, threshold=50),
    ]
    items = tuple(
        Item(acme, Pending(f"run{n}-{acme.id}-1", note, datetime(2026, 11, 2, 9 + n, tzinfo=UTC)))
        for n, note in enumerate(notes)
    )

    [(_, message)] = render_group(Group(Kind.LOW, LEMLIST.vendor, items, (("client", "acme"),)))

    assert message.subject == "[credit-monitor] lemlist account acme-001 low (1 CRITICAL), lowest 12 left"
    assert "  - Already on it? Hold its reminders: credit-monitor snooze acme-001 --for 3d" in message.text
    assert message.attributes["account"] == "acme-001"


def test_the_snooze_command_is_shell_quoted_whatever_the_account_id() -> None:
    hostile = replace(LEMLIST, id="x$(touch pwned)'; rm -rf ~")
    note = Notification(Kind.LOW, hostile.id, Level.WARNING, balance=80, threshold=100)

    text = render(note, hostile).text

    assert "credit-monitor snooze 'x$(touch pwned)'\"'\"'; rm -rf ~' --for 3d" in text


PARIS = MessageContext(
    ZoneInfo("Europe/Paris"), "https://eu-west-3.console.aws.amazon.com/cloudwatch/home#dashboards:name=x"
)
CHECKED = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_a_low_says_when_it_runs_out_when_it_was_checked_its_labels_the_snooze_and_the_dashboard() -> None:
    account = replace(LEMLIST, id="acme-lemlist", labels={"owner": "sales-emea", "client": "acme"})
    note = Notification(Kind.LOW, "acme-lemlist", Level.WARNING, balance=420, threshold=500, forecast=BURNING)

    lines = render(note, account, CHECKED, PARIS).text.splitlines()

    for line in [
        "  Days left:     about 3.5 days (runs out around Thu 05 Nov 2026 22:00 CET)",
        "  Labels:        client=acme, owner=sales-emea",
        "  Checked:       Mon 02 Nov 2026 10:00 CET",
        "  - Already on it? Hold its reminders: credit-monitor snooze acme-lemlist --for 3d",
        f"  - Dashboard: {PARIS.dashboard_url}",
    ]:
        assert line in lines


def test_check_failing_says_since_when_and_recovered_drops_an_empty_forecast() -> None:
    failing = Notification(
        Kind.CHECK_FAILING,
        "lemlist",
        Level.OK,
        failures=3,
        reason="HTTP 503",
        since=CHECKED - timedelta(hours=2),
    )
    unknown = Forecast(ForecastStatus.NOT_ENOUGH_HISTORY)
    recovered = Notification(
        Kind.RECOVERED, "lemlist", Level.WARNING, balance=5000, threshold=100, forecast=unknown
    )

    assert (
        "  Failing since: Mon 02 Nov 2026 08:00 CET"
        in render(failing, LEMLIST, CHECKED, PARIS).text.splitlines()
    )
    text = render(recovered, LEMLIST, CHECKED, PARIS).text
    assert "Days left" not in text
    assert "snooze" not in text  # nothing to hold back


def test_an_http_json_api_is_named_routed_threaded_and_topped_up_as_its_own_vendor() -> None:
    provider, url = http_json.from_entry(
        {
            "url": "https://api.alpha.example/v1/balance",
            "auth": {"kind": "bearer"},
            "balance": "credits",
            "display_name": "Alpha Credits",
            "top_up_url": "https://alpha.example/billing",
        }
    )
    one, two = (Account(f"alpha-{n}", provider, url, threshold=100) for n in (1, 2))
    note = Notification(Kind.LOW, "alpha-1", Level.WARNING, balance=42, threshold=100)

    single = render(note, one)
    [(_, grouped)] = render_group(Group(Kind.LOW, one.vendor, (_item(one, note), _item(two, note))))

    assert single.attributes["provider"] == grouped.attributes["provider"] == "alpha-credits"
    assert grouped.chat["metadata"]["threadId"] == "credit-monitor-alpha-credits-low"
    assert grouped.subject.startswith("[credit-monitor] 2 Alpha Credits accounts low")
    for message in (single, grouped):
        assert "  - Top up at https://alpha.example/billing" in message.text.splitlines()


def _failing(accounts: list[Account], kind: FailureKind, reason: str) -> tuple[Item, ...]:
    return tuple(
        _item(a, Notification(Kind.CHECK_FAILING, a.id, Level.OK, failures=3, failure=kind, reason=reason))
        for a in accounts
    )


@pytest.mark.parametrize(
    ("kind", "reason", "subject", "headline"),
    [
        (
            FailureKind.SECRET,
            'no API key for \'acme-team\' (add "acme-team": "<key>" to the secret\'s JSON)',
            "3 lemlist accounts: shared key entry 'acme-team' missing or unusable (secret)",
            "3 lemlist accounts could not be checked: the key entry 'acme-team' they share is missing"
            " from the secret or unusable.",
        ),
        (
            FailureKind.AUTH,
            "HTTP 401, key rejected: Unauthorized",
            "3 lemlist accounts: their shared key was rejected (auth)",
            "3 lemlist accounts could not be checked: lemlist rejected the key they share"
            " (entry 'acme-team').",
        ),
    ],
    ids=["entry-missing", "key-revoked"],
)
def test_a_shared_key_problem_says_what_it_is_and_never_outage(
    kind: FailureKind, reason: str, subject: str, headline: str
) -> None:
    team = [replace(_acme(n), key_entry="acme-team") for n in range(3)]
    group = Group(
        Kind.CHECK_FAILING, LEMLIST.vendor, _failing(team, kind, reason), (), Incident(entry="acme-team"), 10
    )

    [(_, message)] = render_group(group)

    assert message.subject == f"[credit-monitor] {subject}"
    lines = message.text.splitlines()
    assert lines[0] == headline
    assert f"  Cause:    {kind}: {reason}" in lines
    for said in ("outage", "looks down", "status page"):
        assert said not in message.text
        assert said not in json.dumps(message.chat)


def test_an_empty_secret_says_the_secret_holds_no_key_for_them_and_never_outage() -> None:
    accounts = [_acme(n) for n in range(4)]
    items = _failing(accounts, FailureKind.SECRET, "no API key for 'acme-000' (add it)")

    [(_, message)] = render_group(Group(Kind.CHECK_FAILING, LEMLIST.vendor, items, (), Incident(), 4))

    assert message.subject == "[credit-monitor] 4 lemlist accounts: no usable key in the secret (secret)"
    assert message.text.splitlines()[0] == (
        "4 of the 4 lemlist accounts could not be checked: the secret holds no usable key for them."
    )
    assert "outage" not in message.text
    assert "looks down" not in message.text


def test_checks_that_work_again_together_are_never_said_to_be_a_vendor_coming_back() -> None:
    """What they failed of is not known at recovery (a revoked shared key, as well as an outage)."""
    items = tuple(
        _item(_acme(n), Notification(Kind.CHECK_RECOVERED, f"acme-{n:03d}", Level.OK, balance=500))
        for n in range(3)
    )

    [(_, message)] = render_group(Group(Kind.CHECK_RECOVERED, LEMLIST.vendor, items, (), Incident(), 3))

    assert message.subject == "[credit-monitor] 3 lemlist accounts: checks working again"
    assert message.text.splitlines()[0] == "The balance checks of 3 of the 3 lemlist accounts work again."


def test_the_rest_of_an_outage_says_how_many_fail_and_that_the_others_were_reported_before() -> None:
    items = _failing([_acme(n) for n in range(4)], FailureKind.HTTP, "HTTP 503: Service Unavailable")
    group = Group(Kind.CHECK_FAILING, LEMLIST.vendor, items, (), Incident(vendor_down=True), 10, failing=10)

    [(_, message)] = render_group(group)

    assert message.subject == "[credit-monitor] lemlist outage: 10 accounts failing (http)"
    lines = message.text.splitlines()
    assert lines[0] == "lemlist looks down: 10 of its 10 accounts could not be checked (http)."
    assert (
        "  Accounts: 4 of the 10 lemlist accounts watched (the other 6 failing were reported before)" in lines
    )
    assert len(message.ids) == 4
