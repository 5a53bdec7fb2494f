"""What each receiver is sent: Slack blocks, a Teams card, PagerDuty events and our signed webhook,
each within its documented limits, and a message too big for one cut at a line, never silently."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from credit_monitor.alerting import Kind, Level, Pending
from credit_monitor.grouping import Group, Item
from credit_monitor.messages import RenderedMessage, render_group, render_test_alert
from credit_monitor.payloads import (
    CLEARED_FAMILIES,
    INCIDENTS,
    PAGERDUTY_MAX_EVENT_BYTES,
    PAGERDUTY_SUMMARY_CHARS,
    SLACK_BLOCKS_CHARS,
    SLACK_HEADER_CHARS,
    SLACK_MAX_BLOCKS,
    SLACK_SECTION_CHARS,
    TEAMS_BUDGET_BYTES,
    TEAMS_LINE_CHARS,
    WEBHOOK_MAX_BYTES,
    dedup_key,
    pagerduty_events,
    pagerduty_reply,
    reply_reason,
    signature,
    slack,
    slack_error,
    slack_fits,
    teams,
    teams_error,
    teams_fits,
    teams_text,
    webhook_body,
    webhook_error,
    webhook_fits,
)
from credit_monitor.providers import lemlist
from tests.support import notices
from tests.support.notices import CONTEXT, DASHBOARD, message

ROUTING_KEY = "R0123456789abcdefABCDEF012345678"
SENT_AT = datetime(2026, 3, 2, 9, 0, 5, tzinfo=UTC)
BIG = 500
"""Accounts in one group: more than a chat message holds, less than SNS's limit (render_group)."""


def sections(payload: dict[str, Any]) -> list[str]:
    return [block["text"]["text"] for block in payload["blocks"] if block["type"] == "section"]


def assert_within_slack_limits(payload: dict[str, Any]) -> None:
    blocks = payload["blocks"]
    assert len(blocks) <= SLACK_MAX_BLOCKS
    assert len(blocks[0]["text"]["text"]) <= SLACK_HEADER_CHARS
    assert all(len(text) <= SLACK_SECTION_CHARS for text in sections(payload))
    assert sum(map(len, sections(payload))) <= SLACK_BLOCKS_CHARS
    assert 0 < len(payload["text"]) <= SLACK_SECTION_CHARS


def test_slack_gets_the_card_as_blocks_with_the_title_for_notifications() -> None:
    low = message(Kind.LOW)
    payload = slack(low)

    assert payload["text"] == low.chat["content"]["title"]
    assert payload["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": payload["text"], "emoji": True},
    }
    facts, steps = sections(payload)
    assert facts.splitlines() == low.chat["content"]["description"].splitlines()
    assert steps.startswith("*What to do:*\n\u2022 Top up at https://app.lemlist.com/settings/billing")
    assert payload["blocks"][-1]["elements"][0]["text"] == "credit-monitor \u00b7 LOW"
    assert_within_slack_limits(payload)
    assert slack_fits(low)


def test_a_vendors_text_can_never_mention_everyone_or_link_in_a_slack_channel() -> None:
    hostile = message(Kind.CHECK_FAILING, reason="<!channel> see <https://evil.example|your invoice> & pay")

    text = json.dumps(slack(hostile))

    assert "<!channel>" not in text
    assert "<https://evil" not in text
    assert "&lt;!channel&gt; see &lt;https://evil.example|your invoice&gt; &amp; pay" in text


@pytest.mark.parametrize("outage", [False, True])
def test_a_vendors_text_can_never_be_a_disguised_link_in_a_teams_channel(outage: bool) -> None:
    hostile = message(
        Kind.CHECK_FAILING,
        accounts=2 if outage else 1,
        outage=outage,
        reason="see [your invoice](https://evil.example)",
    )

    text = json.dumps(teams(hostile))

    assert "[your invoice](" not in text
    assert "see \\\\[your invoice\\\\](https://evil.example)" in text  # \[ in the card's JSON


def test_a_group_too_big_for_slack_is_cut_at_a_line_saying_how_much_is_missing_and_where() -> None:
    group = message(Kind.LOW, accounts=BIG)
    lines = group.chat["content"]["description"].splitlines()

    payload = slack(group)

    assert_within_slack_limits(payload)
    assert not slack_fits(group)
    shown = [line for text in sections(payload)[:-1] for line in text.splitlines()]
    note = shown.pop()
    assert shown == lines[: len(shown)]  # whole lines, in order
    missing = len(lines) - len(shown)
    assert note == (
        f"_\u2026 {missing} more lines not shown here: run `credit-monitor status` or see the dashboard:"
        f" {DASHBOARD}_"
    )
    assert len(shown) > 50  # the budget is used, not left empty


def test_one_line_longer_than_a_slack_section_or_a_teams_line_is_cut_not_refused() -> None:
    long_reason = message(Kind.CHECK_FAILING, reason="x" * 50_000)

    payload = slack(long_reason)

    assert_within_slack_limits(payload)
    assert any(text.endswith("\u2026") for text in sections(payload))
    card = teams(long_reason)
    assert len(json.dumps(card, separators=(",", ":"))) <= TEAMS_BUDGET_BYTES
    facts = {fact["title"]: fact["value"] for fact in card["attachments"][0]["content"]["body"][2]["facts"]}
    assert facts["Last error"] == "x" * (TEAMS_LINE_CHARS - 1) + "\u2026"  # the fact is there, cut


def test_slack_error_reads_workflow_webhooks_json_and_takes_ok_or_other_words_as_accepted() -> None:
    assert slack_error('{"ok": false, "error": "invalid_workflow_input"}') == "invalid_workflow_input"
    assert slack_error("ok") is None
    assert slack_error('{"success": true}') is None  # Rocket.Chat's way of saying it
    assert slack_error("") is None


def test_teams_gets_one_adaptive_card_with_the_facts_as_a_fact_set_and_its_own_markup() -> None:
    low = message(Kind.LOW, level=Level.CRITICAL)

    payload = teams(low)

    assert payload["type"] == "message"
    [attachment] = payload["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    title, summary, facts, steps, footer = card["body"]
    assert title["text"].startswith("\U0001f6a8 lemlist (acme-001) credits below CRITICAL")
    assert ":rotating_light:" not in json.dumps(payload)
    assert summary["text"] == "lemlist (acme-001) credits fell below the CRITICAL level."
    assert facts["facts"][:2] == [
        {"title": "Provider", "value": "lemlist (acme-001)"},
        {"title": "Balance", "value": "42 credits"},
    ]
    assert steps["text"].startswith("**What to do:**\n\n- Top up at")
    assert footer["text"] == "credit-monitor \u00b7 LOW"
    assert len(json.dumps(payload, separators=(",", ":"))) <= TEAMS_BUDGET_BYTES
    assert teams_fits(low)


@pytest.mark.parametrize(
    ("slack_markup", "teams_markup"),
    [
        ("*Provider:* lemlist", "**Provider:** lemlist"),
        ("*acme-001*: 100, burn 3/day", "**acme-001**: 100, burn 3/day"),
        ("2 * 3 * 4", "2 * 3 * 4"),
        ("**already**", "**already**"),
        (":warning: low", "\u26a0\ufe0f low"),
    ],
)
def test_teams_reads_slack_markup_as_its_own(slack_markup: str, teams_markup: str) -> None:
    assert teams_text(slack_markup) == teams_markup


def test_a_group_too_big_for_teams_is_cut_under_its_payload_limit_with_the_pointer() -> None:
    group = message(Kind.LOW, accounts=BIG)

    payload = teams(group)

    size = len(json.dumps(payload, separators=(",", ":")))
    assert size <= TEAMS_BUDGET_BYTES
    assert size > TEAMS_BUDGET_BYTES * 0.8  # the budget is used
    assert not teams_fits(group)
    body = payload["attachments"][0]["content"]["body"]
    listed = body[3]["text"].splitlines()
    assert listed[-1].startswith("_\u2026 ")
    assert "more lines not shown here: run `credit-monitor status`" in listed[-1]


def test_teams_error_reads_power_automates_error_shape_and_an_empty_202_is_fine() -> None:
    said = '{"error": {"code": "TriggerInputSchemaMismatch", "message": "The input body does not match"}}'
    assert teams_error(said) == "TriggerInputSchemaMismatch: The input body does not match"
    assert teams_error("") is None


def test_every_kind_has_a_pagerduty_incident_decided() -> None:
    """A kind added without deciding what it does to an incident fails here: unlisted, it would not
    reach PagerDuty at all."""
    assert set(INCIDENTS) == {kind.value for kind in Kind}
    resolved = {i.family for i in INCIDENTS.values() if i and i.action == "resolve"} | set(
        CLEARED_FAMILIES.values()
    )
    for kind, incident in INCIDENTS.items():
        if incident is not None and incident.action == "trigger":
            assert incident.family in resolved, kind


@pytest.mark.parametrize(
    ("kind", "level", "action", "family", "severity"),
    [
        (Kind.LOW, Level.WARNING, "trigger", "balance", "warning"),
        (Kind.LOW, Level.CRITICAL, "trigger", "balance", "critical"),
        (Kind.REMINDER, Level.CRITICAL, "trigger", "balance", "critical"),
        (Kind.RUNNING_OUT, Level.OK, "trigger", "balance", "warning"),
        (Kind.RECOVERED, Level.WARNING, "resolve", "balance", None),
        (Kind.CHECK_FAILING, Level.OK, "trigger", "check", "error"),
        (Kind.CHECK_RECOVERED, Level.OK, "resolve", "check", None),
        (Kind.SPENDING_FAST, Level.OK, "trigger", "spike", "warning"),
        (Kind.SPENDING_FAST, Level.CRITICAL, "trigger", "spike", "critical"),
    ],
)
def test_each_kind_triggers_or_resolves_its_accounts_incident_with_the_levels_severity(
    kind: Kind, level: Level, action: str, family: str, severity: str | None
) -> None:
    [event] = pagerduty_events(message(kind, level=level), ROUTING_KEY)

    assert event.body["routing_key"] == ROUTING_KEY
    assert event.body["event_action"] == action
    assert event.dedup_key == f"credit-monitor/acme-001/{family}" == dedup_key("acme-001", family)
    assert event.ids == ("run-7-acme-001-1",)
    if severity is None:
        assert set(event.body) == {"routing_key", "event_action", "dedup_key"}
    else:
        payload = event.body["payload"]
        assert payload["severity"] == severity
        assert payload["summary"] == message(kind, level=level).subject
        assert payload["source"] == "credit-monitor/lemlist/acme-001"
        assert payload["custom_details"]["labels"] == {"client": "acme"}
        assert event.body["client_url"] == DASHBOARD


def test_an_outage_triggers_each_accounts_incident_so_any_grouping_of_the_recovery_resolves_them() -> None:
    failing = pagerduty_events(message(Kind.CHECK_FAILING, accounts=3, outage=True), ROUTING_KEY)
    recovered = pagerduty_events(message(Kind.CHECK_RECOVERED, accounts=1), ROUTING_KEY)

    assert [event.dedup_key for event in failing] == [f"credit-monitor/acme-00{n}/check" for n in (1, 2, 3)]
    assert failing[1].body["payload"]["summary"] == (
        "[credit-monitor] lemlist outage: 3 accounts failing (timeout) (acme-002)"
    )
    assert [event.dedup_key for event in recovered] == ["credit-monitor/acme-001/check"]


def test_the_digest_opens_no_incident() -> None:
    digest = RenderedMessage(
        "[credit-monitor] Weekly digest", "text", {}, {"kind": "DIGEST", "level": "OK"}, (("#digest", "d-1"),)
    )

    assert pagerduty_events(digest, ROUTING_KEY) == []


def test_a_test_alert_is_a_trigger_marked_test_then_its_resolve_under_a_key_of_its_own() -> None:
    """test-alert must reach PagerDuty's on-call as an alert would, and leave nothing open."""
    test = render_test_alert(SENT_AT, CONTEXT)

    trigger, resolve = pagerduty_events(test, ROUTING_KEY, SENT_AT)

    key = "credit-monitor/test/2026-03-02T09:00:05Z"
    assert (trigger.dedup_key, trigger.ids) == (key, ())
    assert trigger.body["event_action"] == "trigger"
    payload = trigger.body["payload"]
    assert payload["summary"] == "[credit-monitor] TEST: alerts reach you here; nothing needs doing"
    assert (payload["severity"], payload["class"], payload["source"]) == (
        "info",
        "TEST",
        "credit-monitor/test",
    )
    assert payload["custom_details"]["kind"] == "TEST"
    assert "This is a test message" in payload["custom_details"]["message"]
    assert resolve.body == {"routing_key": ROUTING_KEY, "event_action": "resolve", "dedup_key": key}
    later = pagerduty_events(test, ROUTING_KEY, datetime(2026, 3, 2, 9, 0, 6, tzinfo=UTC))
    assert later[0].dedup_key != key, "each test is its own alert: one never updates another"
    with pytest.raises(ValueError, match="dedup_key"):
        pagerduty_events(test, ROUTING_KEY)


def test_a_test_alerts_webhook_names_no_account_and_has_an_id_of_its_own() -> None:
    test = render_test_alert(SENT_AT, CONTEXT)

    document = json.loads(webhook_body(test, SENT_AT))
    again = json.loads(webhook_body(test, datetime(2026, 3, 9, tzinfo=UTC)))

    assert (document["kind"], document["level"], document["provider"]) == ("TEST", "OK", "all")
    assert (document["accounts"], document["labels"], document["notification_ids"]) == ([], {}, [])
    assert document["subject"].startswith("[credit-monitor] TEST:")
    assert document["id"] != again["id"], "a reader dropping repeats by id must not drop the next test"
    assert re.fullmatch(r"[0-9a-f]{32}", document["id"])


def test_pagerduty_events_stay_within_the_documented_sizes_whatever_the_message() -> None:
    huge = message(Kind.CHECK_FAILING, accounts=BIG, outage=True, reason="\u00e9" * 500)

    events = pagerduty_events(huge, ROUTING_KEY)

    assert len(events) == BIG
    assert max(len(json.dumps(event.body).encode()) for event in events) <= PAGERDUTY_MAX_EVENT_BYTES
    assert all(len(event.body["payload"]["summary"]) <= PAGERDUTY_SUMMARY_CHARS for event in events)


def test_pagerduty_reply_gives_its_dedup_key_and_an_error_even_in_a_2xx() -> None:
    assert pagerduty_reply('{"status":"success","message":"Event processed","dedup_key":"k"}') == (None, "k")
    invalid = json.dumps(
        {
            "status": "invalid event",
            "message": "Event object is invalid",
            "errors": ["Length of 'routing_key' is incorrect"],
        }
    )
    assert pagerduty_reply(invalid) == ("Event object is invalid; Length of 'routing_key' is incorrect", None)
    assert pagerduty_reply("<html>proxy</html>") == (None, None)


def test_the_webhook_body_is_versioned_json_naming_accounts_labels_and_notification_ids() -> None:
    group = message(Kind.CHECK_FAILING, accounts=2, outage=True)

    document = json.loads(webhook_body(group, SENT_AT))

    assert document["version"] == 1
    assert document["sent_at"] == "2026-03-02T09:00:05Z"
    assert (document["kind"], document["level"], document["provider"]) == (
        "CHECK FAILING",
        "WARNING",
        "lemlist",
    )
    assert document["accounts"] == ["acme-001", "acme-002"]
    assert document["labels"] == {"client": "acme"}
    assert document["notification_ids"] == ["run-7-acme-001-1", "run-7-acme-002-1"]
    assert document["text"] == group.text
    assert document["truncated"] is False
    assert document["id"] == json.loads(webhook_body(group, datetime(2027, 1, 1, tzinfo=UTC)))["id"]  # stable
    assert webhook_fits(group)


@pytest.mark.parametrize("clears", [Kind.RUNNING_OUT, Kind.SPENDING_FAST])
def test_a_webhooks_cleared_says_which_incident_it_ends(clears: Kind) -> None:
    """RUNNING OUT and SPENDING FAST are incidents of their own: a receiver that keeps incidents
    open must know which of the account's a CLEARED closes."""
    document = json.loads(webhook_body(message(Kind.CLEARED, level=Level.OK, clears=clears), SENT_AT))

    assert (document["kind"], document["clears"]) == ("CLEARED", clears.value)
    assert json.loads(webhook_body(message(Kind.LOW), SENT_AT))["clears"] is None


def test_a_webhook_body_too_big_is_cut_at_a_line_and_says_so() -> None:
    group = message(Kind.CHECK_FAILING, accounts=BIG)
    huge = replace(group, text="\n".join([group.text] * 20))  # a message no route would render, to be sure

    body = webhook_body(huge, SENT_AT)
    document = json.loads(body)

    assert len(body) <= WEBHOOK_MAX_BYTES
    assert document["truncated"] is True
    assert "more lines not shown here: run `credit-monitor status`" in document["text"].splitlines()[-1]
    assert not webhook_fits(huge)


DOCS = Path(__file__).resolve().parents[2] / "docs" / "routes.md"


def documented_verify() -> Callable[..., bool]:
    """The `verify` docs/routes.md shows a webhook's receiver, run as written there."""
    [snippet] = [
        block
        for block in re.findall(r"```python\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.DOTALL)
        if "def verify" in block
    ]
    namespace: dict[str, Any] = {}
    exec(snippet, namespace)  # noqa: S102 - our own documentation, checked as code
    verify: Callable[..., bool] = namespace["verify"]
    return verify


def test_the_signature_covers_the_timestamp_and_the_exact_body_as_the_docs_check_it() -> None:
    verify = documented_verify()
    secret, body, at = "9f2c4e6a8b0d1f3e5a7c9e1b3d5f7a9c", b'{"version":1}', 1772441105
    headers = {
        "X-Credit-Monitor-Timestamp": str(at),
        "X-Credit-Monitor-Signature": signature(secret, at, body),
    }

    assert verify(secret, headers, body, now=at + 10)
    assert not verify(secret, headers, body + b" ", now=at + 10)  # the body changed
    assert not verify(
        secret, {**headers, "X-Credit-Monitor-Timestamp": str(at + 1)}, body, now=at
    )  # replayed later
    assert not verify(secret, headers, body, now=at + 301)  # too old
    assert not verify("another-secret-of-32-characters!", headers, body, now=at)


def test_webhook_error_refuses_a_2xx_that_says_it_did_not_take_it() -> None:
    assert webhook_error('{"ok": false, "error": "unknown route"}') == "unknown route"
    assert webhook_error('{"ok": true}') is None
    assert webhook_error("thanks") is None


@pytest.mark.parametrize(
    ("said", "reason"),
    [
        ("channel_not_found", "channel_not_found"),
        ("invalid_token\n<html>", "invalid_token"),
        (
            '{"error": {"code": "DirectApiAuthorizationRequired", "message": "no sig"}}',
            "DirectApiAuthorizationRequired: no sig",
        ),
        (
            '{"status":"invalid event","message":"Event object is invalid","errors":["bad"]}',
            "Event object is invalid; bad",
        ),
        ('{"ok": false}', "ok: false"),
        ("", ""),
        ("[" * 100_000, "[" * 100_000),  # too deep for json: read as text, not a crash
    ],
)
def test_reply_reason_reads_each_receivers_error_shape(said: str, reason: str) -> None:
    assert reply_reason(said) == reason


def test_each_account_of_a_group_pages_at_its_own_level_not_the_groups_highest() -> None:
    """One LOW for two accounts, one below its warning level and one below its critical level."""
    members = (notices.account(1), notices.account(2))
    levels = (Level.WARNING, Level.CRITICAL)
    items = tuple(
        Item(
            member,
            Pending(f"run-7-{member.id}-1", notices.note(Kind.LOW, member.id, level), notices.CHECKED_AT),
        )
        for member, level in zip(members, levels, strict=True)
    )
    group = Group(Kind.LOW, lemlist.PROVIDER.vendor, items, (("client", "acme"),), vendor_accounts=2)
    [(_, rendered)] = render_group(group, CONTEXT)

    events = pagerduty_events(rendered, ROUTING_KEY)

    assert rendered.attributes["level"] == "CRITICAL"
    assert [(e.account, e.body["payload"]["severity"]) for e in events] == [
        ("acme-001", "warning"),
        ("acme-002", "critical"),
    ]
    assert [e.body["payload"]["custom_details"]["level"] for e in events] == ["WARNING", "CRITICAL"]
