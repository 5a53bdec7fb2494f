"""What each receiver is sent, from a rendered message, within its documented limits. Pure.

Every receiver gets the message `messages.py` renders (its subject, e-mail text and chat card);
only the form differs. A message too big for a receiver is cut at a line, with a last line saying
how many lines were left out and where to see them (`credit-monitor status`, the dashboard): an
alert is never split or shortened silently. `fits` says whether a message goes whole, so a group
can be split first, as it is for SNS.

Limits, with their sources:
- Slack: a section block's text is at most 3,000 characters, a header's 150, a message at most
  50 blocks (Block Kit reference); a message's text is cut by Slack past 40,000 characters (API
  changelog, 2018-04). chat.postMessage refuses blocks of about 13,000 characters together
  (`msg_blocks_too_long`, slackapi/bolt-js#2509), so all blocks together stay under 12,000.
- Teams (Workflows, "When a Teams webhook request is received"): a message is at most about 28 KB
  (Teams connector's known limits; Microsoft's incoming-webhook page), larger ones fail with
  "Request Entity too large"; the card stays under 24,000 bytes for the flow's own wrapping.
- PagerDuty Events API v2: `summary` at most 1,024 characters, `dedup_key` 255, an event 512 KB
  (developer docs, "Send an Alert Event" and "Events API v2 Overview").
- Our webhook: at most 256 KB, as an SNS message.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from credit_monitor.account import RESERVED_LABELS
from credit_monitor.alerting import Kind
from credit_monitor.digest import DIGEST_KEY
from credit_monitor.messages import TEST_KIND, RenderedMessage
from credit_monitor.printable import ELLIPSIS

SLACK_SECTION_CHARS = 3000
SLACK_HEADER_CHARS = 150
SLACK_MAX_BLOCKS = 50
SLACK_TEXT_CHARS = 40_000
SLACK_BLOCKS_CHARS = 12_000
TEAMS_MAX_BYTES = 28 * 1024
TEAMS_BUDGET_BYTES = 24_000
TEAMS_LINE_CHARS = 1000
"""A line longer than this (a vendor's whole error page, say) is cut, so one line never takes the card."""
PAGERDUTY_SUMMARY_CHARS = 1024
PAGERDUTY_DEDUP_KEY_CHARS = 255
PAGERDUTY_MAX_EVENT_BYTES = 512 * 1024
PAGERDUTY_DETAILS_CHARS = 16_000
"""The message's text in an event's custom_details: a group's lines, well under the event limit."""
WEBHOOK_MAX_BYTES = 256 * 1024
WEBHOOK_VERSION = 1
SIGNATURE_HEADER = "X-Credit-Monitor-Signature"
TIMESTAMP_HEADER = "X-Credit-Monitor-Timestamp"
SIGNATURE_PREFIX = "sha256="
DASHBOARD_STEP = "Dashboard: "
"""How messages.py words the dashboard's next step: its address is the pointer a cut message gives."""
EMOJI = {
    ":warning:": "\u26a0\ufe0f",
    ":rotating_light:": "\U0001f6a8",
    ":white_check_mark:": "\u2705",
    ":bar_chart:": "\U0001f4ca",
}
"""The Slack emoji codes messages.py uses, as Teams shows them (it does not read Slack's codes)."""


@dataclass(frozen=True)
class Card:
    """The parts of a message's chat card every chat receiver shows."""

    title: str
    summary: str
    lines: tuple[str, ...]
    """The card's description, one fact or account per line ("*Label:* value", "- acme: ...")."""
    steps: tuple[str, ...]
    kind: str

    @classmethod
    def of(cls, message: RenderedMessage) -> Card:
        content = message.chat.get("content", {})
        metadata = message.chat.get("metadata", {})
        description = str(content.get("description", ""))
        return cls(
            title=str(content.get("title") or message.subject),
            summary=str(metadata.get("summary", "")),
            lines=tuple(description.split("\n")) if description else (),
            steps=tuple(str(step) for step in content.get("nextSteps") or ()),
            kind=message.attributes.get("kind", ""),
        )

    @property
    def dashboard(self) -> str:
        return next(
            (step[len(DASHBOARD_STEP) :] for step in self.steps if step.startswith(DASHBOARD_STEP)), ""
        )

    def cut_note(self, left_out: int) -> str:
        """The last line of a cut message: how much is missing, and where to see all of it."""
        where = "run `credit-monitor status`" + (
            f" or see the dashboard: {self.dashboard}" if self.dashboard else ""
        )
        return f"{ELLIPSIS} {left_out} more line{'s' if left_out != 1 else ''} not shown here: {where}"


def most_lines(count: int, fits: Callable[[int], bool]) -> int:
    """The largest n <= count with fits(n) (fits is monotonic: fewer lines never make a message
    bigger); 0 when none fits. A binary search: a few renderings, whatever the number of lines."""
    low, high = 0, count
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(ELLIPSIS)] + ELLIPSIS


# --- Slack ------------------------------------------------------------------------------------


def slack_escape(text: str) -> str:
    """Slack's three control characters: a vendor's error text can never become a link or an
    @channel ("<!channel>") in a client's channel."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack(message: RenderedMessage) -> dict[str, Any]:
    """An incoming webhook's payload: `text` for notifications, blocks for the channel."""
    card = Card.of(message)
    kept = most_lines(len(card.lines), lambda n: _slack_size(_slack_blocks(card, n)) <= SLACK_BLOCKS_CHARS)
    return {"text": cut(slack_escape(card.title), SLACK_SECTION_CHARS), "blocks": _slack_blocks(card, kept)}


def slack_fits(message: RenderedMessage) -> bool:
    card = Card.of(message)
    return _slack_size(_slack_blocks(card, len(card.lines))) <= SLACK_BLOCKS_CHARS


def _slack_blocks(card: Card, kept: int) -> list[dict[str, Any]]:
    lines = [slack_escape(line) for line in card.lines[:kept]]
    if kept < len(card.lines):
        lines.append(f"_{slack_escape(card.cut_note(len(card.lines) - kept))}_")
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": cut(card.title, SLACK_HEADER_CHARS), "emoji": True},
        }
    ]
    blocks += [_section(text) for text in _chunks(lines, SLACK_SECTION_CHARS)]
    if card.steps:
        steps = "\n".join(f"\u2022 {slack_escape(step)}" for step in card.steps)
        blocks.append(_section(cut(f"*What to do:*\n{steps}", SLACK_SECTION_CHARS)))
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"credit-monitor \u00b7 {card.kind}"}]}
    )
    return blocks


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _chunks(lines: Sequence[str], limit: int) -> list[str]:
    """Lines joined into texts of at most `limit` characters, a line never split between two (a
    longer line is cut)."""
    chunks: list[str] = []
    current = ""
    for line in (cut(line, limit) for line in lines):
        if current and len(current) + 1 + len(line) > limit:
            chunks.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    return [*chunks, current] if current else chunks


def _slack_size(blocks: list[dict[str, Any]]) -> int:
    """All blocks' text together, and more than the budget when there are too many blocks."""
    if len(blocks) > SLACK_MAX_BLOCKS:
        return SLACK_BLOCKS_CHARS + 1
    texts = [block["text"]["text"] for block in blocks if "text" in block]
    texts += [element["text"] for block in blocks for element in block.get("elements", ())]
    return sum(map(len, texts))


def slack_error(text: str) -> str | None:
    """An error in a 2xx reply: Slack's workflow webhooks (and some proxies) answer 200 with
    {"ok": false, "error": ...}. A plain "ok", or anything else, is taken as accepted: Slack-compatible
    servers (Mattermost, Rocket.Chat) answer 2xx in their own words."""
    return _json_error(text)


# --- Teams ------------------------------------------------------------------------------------

_SLACK_BOLD = re.compile(r"(?<![*\w])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![*\w])")


def with_emoji(text: str) -> str:
    """Slack's emoji codes (":warning:") as the emoji themselves, for every receiver but Slack."""
    for code, emoji in EMOJI.items():
        text = text.replace(code, emoji)
    return text


_TEAMS_LINK_MARKUP = re.compile(r"([\\\[\]])")
"""What makes a Markdown link in an Adaptive Card ("[text](url)"), and the escape itself."""


def teams_text(text: str) -> str:
    """Slack's markup as Teams reads it: *bold* as **bold**, emoji codes as the emoji; brackets
    escaped, so that a vendor's error text can never become a link in a client's channel."""
    return _SLACK_BOLD.sub(r"**\1**", with_emoji(_TEAMS_LINK_MARKUP.sub(r"\\\1", text)))


_FACT = re.compile(r"\*([^*\n]{1,80}):\* (.*)")


def teams(message: RenderedMessage) -> dict[str, Any]:
    """A Workflows webhook's payload: one Adaptive Card, as the flow's "Post card" step expects it."""
    card = Card.of(message)
    kept = most_lines(len(card.lines), lambda n: _size(_teams_message(card, n)) <= TEAMS_BUDGET_BYTES)
    return _teams_message(card, kept)


def teams_fits(message: RenderedMessage) -> bool:
    card = Card.of(message)
    return _size(_teams_message(card, len(card.lines))) <= TEAMS_BUDGET_BYTES


def _teams_message(card: Card, kept: int) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": teams_text(cut(card.title, TEAMS_LINE_CHARS)),
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
        }
    ]
    if card.summary:
        body.append(
            {"type": "TextBlock", "text": teams_text(cut(card.summary, TEAMS_LINE_CHARS)), "wrap": True}
        )
    facts = [match for match in map(_FACT.fullmatch, card.lines[:kept]) if match]
    if facts:
        body.append(
            {
                "type": "FactSet",
                "facts": [
                    {"title": fact[1], "value": teams_text(cut(fact[2], TEAMS_LINE_CHARS))} for fact in facts
                ],
            }
        )
    rest = [
        teams_text(cut(line, TEAMS_LINE_CHARS)) for line in card.lines[:kept] if not _FACT.fullmatch(line)
    ]
    if kept < len(card.lines):
        rest.append(f"_{card.cut_note(len(card.lines) - kept)}_")
    if rest:
        body.append({"type": "TextBlock", "text": "\n".join(rest), "wrap": True})
    if card.steps:
        steps = "\n".join(f"- {teams_text(cut(step, TEAMS_LINE_CHARS))}" for step in card.steps)
        body.append({"type": "TextBlock", "text": f"**What to do:**\n\n{steps}", "wrap": True})
    body.append(
        {"type": "TextBlock", "text": f"credit-monitor \u00b7 {card.kind}", "isSubtle": True, "size": "Small"}
    )
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "msteams": {"width": "Full"},
                    "body": body,
                },
            }
        ],
    }


def teams_error(text: str) -> str | None:
    """Power Automate answers errors as {"error": {"code": ..., "message": ...}}; one in a 2xx
    (from a proxy in front of it) is an error all the same. An empty 202 is the flow accepting."""
    return _json_error(text)


# --- PagerDuty --------------------------------------------------------------------------------

Action = Literal["trigger", "resolve"]


@dataclass(frozen=True)
class Incident:
    """What a notification kind does to a PagerDuty incident: which action, on which of the
    account's incidents (`family`: its balance, or its check)."""

    action: Action
    family: str


INCIDENTS: dict[str, Incident | None] = {
    Kind.LOW: Incident("trigger", "balance"),
    Kind.REMINDER: Incident("trigger", "balance"),
    Kind.RUNNING_OUT: Incident("trigger", "balance"),
    Kind.RECOVERED: Incident("resolve", "balance"),
    Kind.CHECK_FAILING: Incident("trigger", "check"),
    Kind.CHECK_RECOVERED: Incident("resolve", "check"),
    Kind.SPENDING_FAST: Incident("trigger", "spike"),
    Kind.CLEARED: Incident("resolve", "balance"),  # or "spike": CLEARED_FAMILIES, by what it clears
    Kind.DIGEST: None,  # news, not an incident
}
"""Every kind's incident. A kind without one (or not listed) is not sent to PagerDuty at all: an
incident nothing resolves would page someone until a person closes it."""
CLEARED_FAMILIES: dict[str, str] = {Kind.RUNNING_OUT: "balance", Kind.SPENDING_FAST: "spike"}
"""The incident a CLEARED resolves, by the kind it clears (its message's `clears` attribute)."""
SEVERITIES = {"CRITICAL": "critical", "WARNING": "warning", "OK": "info"}
"""PagerDuty's severities by the message's level; CHECK FAILING is "error" (the balance is unknown)."""


DEDUP_KEY_PREFIX = "credit-monitor/"
"""Every dedup_key this monitor sends starts so: an account's incident, or a test's."""
TEST_DEDUP_PREFIX = f"{DEDUP_KEY_PREFIX}test/"


def dedup_key(account: str, family: str) -> str:
    """One incident per account and family, whatever message carried it: the failure of an account
    reported alone and its recovery inside an outage resolve the same incident. PagerDuty scopes
    the key to the routing key, so two routes to one service share the incident, as they should."""
    return f"{DEDUP_KEY_PREFIX}{account}/{family}"[:PAGERDUTY_DEDUP_KEY_CHARS]


def severity(kind: str, level: str) -> str:
    if kind == Kind.CHECK_FAILING:
        return "error"
    if kind in {Kind.RUNNING_OUT, Kind.SPENDING_FAST} and level == "OK":
        return "warning"  # above every level, but running out or burning fast: worth a look
    return SEVERITIES.get(level, "warning")


@dataclass(frozen=True)
class PagerDutyEvent:
    account: str
    ids: tuple[str, ...]
    """The notifications this event delivers: the account's in the message."""
    body: dict[str, Any]

    @property
    def dedup_key(self) -> str:
        return str(self.body["dedup_key"])


def pagerduty_events(
    message: RenderedMessage, routing_key: str, sent_at: datetime | None = None
) -> list[PagerDutyEvent]:
    """One event per account the message is about, in its order; none for a kind without an
    incident (see INCIDENTS). A TEST (`credit-monitor test-alert`) is a trigger and its resolve, under
    a dedup_key of its own made from `sent_at` (required for it): it reaches the service's on-call
    as an alert would, and closes itself."""
    kind = message.attributes.get("kind", "")
    if kind == TEST_KIND:
        if sent_at is None:
            raise ValueError("a TEST's PagerDuty events need the time it is sent, for their dedup_key")
        return _test_events(message, routing_key, sent_at)
    incident = INCIDENTS.get(kind)
    if incident is None:
        return []
    if kind == Kind.CLEARED:
        incident = Incident("resolve", CLEARED_FAMILIES.get(message.attributes.get("clears", ""), "balance"))
    by_account: dict[str, list[str]] = {}
    for account, notification_id in message.notifications:
        by_account.setdefault(account, []).append(notification_id)
    card = Card.of(message)
    labels = _labels(message)
    levels = dict(message.levels)
    events = []
    for account, ids in by_account.items():
        level = levels.get(account, message.attributes.get("level", ""))
        body: dict[str, Any] = {
            "routing_key": routing_key,
            "event_action": incident.action,
            "dedup_key": dedup_key(account, incident.family),
        }
        if incident.action == "trigger":
            summary = message.subject if len(by_account) == 1 else f"{message.subject} ({account})"
            body["payload"] = {
                "summary": cut(summary, PAGERDUTY_SUMMARY_CHARS),
                "source": f"credit-monitor/{message.attributes.get('provider', '')}/{account}",
                "severity": severity(kind, level),
                "component": message.attributes.get("provider", ""),
                "class": kind,
                "custom_details": {
                    "account": account,
                    "kind": kind,
                    "level": level,
                    "labels": labels,
                    "notification_ids": ids,
                    "message": cut(message.text, PAGERDUTY_DETAILS_CHARS),
                    "next_steps": list(card.steps),
                },
            }
            body["client"] = "credit-monitor"
            if card.dashboard:
                body["client_url"] = card.dashboard
        events.append(PagerDutyEvent(account, tuple(ids), body))
    return events


def _test_events(message: RenderedMessage, routing_key: str, sent_at: datetime) -> list[PagerDutyEvent]:
    """A trigger of severity info, summary marked TEST, then its resolve: both must be accepted."""
    key = TEST_DEDUP_PREFIX + _utc(sent_at)
    card = Card.of(message)
    trigger: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": key,
        "payload": {
            "summary": cut(message.subject, PAGERDUTY_SUMMARY_CHARS),
            "source": "credit-monitor/test",
            "severity": "info",
            "component": "credit-monitor",
            "class": TEST_KIND,
            "custom_details": {
                "kind": TEST_KIND,
                "message": cut(message.text, PAGERDUTY_DETAILS_CHARS),
                "next_steps": list(card.steps),
            },
        },
        "client": "credit-monitor",
    }
    resolve = {"routing_key": routing_key, "event_action": "resolve", "dedup_key": key}
    return [PagerDutyEvent("", (), trigger), PagerDutyEvent("", (), resolve)]


def pagerduty_reply(text: str) -> tuple[str | None, str | None]:
    """(the error in a 2xx reply, the dedup_key PagerDuty acknowledged). PagerDuty answers 202
    {"status": "success", "message": "Event processed", "dedup_key": ...}; any other status in a
    2xx (from a proxy in front of it) is an error."""
    payload = _json(text)
    if not isinstance(payload, dict):
        return None, None
    key = payload.get("dedup_key")
    status = payload.get("status")
    if isinstance(status, str) and status != "success":
        return _json_error(text) or status, None
    return _json_error(text), key if isinstance(key, str) else None


# --- our webhook ------------------------------------------------------------------------------


def webhook_body(message: RenderedMessage, sent_at: datetime) -> bytes:
    """Our documented JSON, version 1 (see docs/routes.md), as the exact bytes that are signed.
    Past WEBHOOK_MAX_BYTES its text is cut at a line, and `truncated` says so."""
    document = _webhook_document(message, sent_at)
    body = _encode(document)
    if len(body) <= WEBHOOK_MAX_BYTES:
        return body
    lines = message.text.split("\n")
    note = Card.of(message).cut_note

    def cut_to(n: int) -> bytes:
        return _encode({**document, "text": "\n".join([*lines[:n], note(len(lines) - n)]), "truncated": True})

    return cut_to(most_lines(len(lines), lambda n: len(cut_to(n)) <= WEBHOOK_MAX_BYTES))


def webhook_fits(message: RenderedMessage) -> bool:
    return _size(_webhook_document(message, datetime.fromtimestamp(0, UTC))) <= WEBHOOK_MAX_BYTES


def _webhook_document(message: RenderedMessage, sent_at: datetime) -> dict[str, Any]:
    card = Card.of(message)
    accounts = dict.fromkeys(account for account, _ in message.notifications if account != DIGEST_KEY)
    return {
        "version": WEBHOOK_VERSION,
        "id": hashlib.sha256(_delivers(message, sent_at).encode()).hexdigest()[:32],
        "sent_at": _utc(sent_at),
        "kind": message.attributes.get("kind", ""),
        "clears": message.attributes.get("clears"),
        "level": message.attributes.get("level", ""),
        "provider": message.attributes.get("provider", ""),
        "accounts": list(accounts),
        "labels": _labels(message),
        "notification_ids": message.ids,
        "subject": message.subject,
        "title": with_emoji(card.title),
        "summary": card.summary,
        "text": message.text,
        "next_steps": list(card.steps),
        "truncated": False,
    }


def _delivers(message: RenderedMessage, sent_at: datetime) -> str:
    """What a webhook's `id` is made of: the notifications it delivers, the same at every delivery of
    them; a message without any (a TEST) is its own, or a reader dropping repeats would drop every
    test after the first."""
    if message.ids:
        return ",".join(message.ids)
    return f"{message.attributes.get('kind', '')}/{_utc(sent_at)}"


def _utc(moment: datetime) -> str:
    """2026-03-02T09:00:05Z"""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Credit-Monitor-Signature header: HMAC-SHA256 of "<timestamp>." and the exact body."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def webhook_error(text: str) -> str | None:
    """A 2xx accepts; a 2xx whose JSON says {"ok": false} (or carries an "error") refuses."""
    return _json_error(text)


# --- shared -----------------------------------------------------------------------------------


def reply_reason(text: str) -> str:
    """What a receiver said, in a few words: the error of a JSON reply (Slack's, Teams', PagerDuty's
    shapes), else its first line (Slack's plain-text codes: invalid_payload, channel_not_found)."""
    found = _json_error(text)
    if found:
        return found
    return text.strip().splitlines()[0] if text.strip() else ""


def _json_error(text: str) -> str | None:
    payload = _json(text)
    if not isinstance(payload, dict):
        return None
    error = payload.get("error")
    if isinstance(error, dict):
        code, said = error.get("code"), error.get("message")
        return ": ".join(str(part) for part in (code, said) if isinstance(part, str) and part) or "error"
    errors = payload.get("errors")
    details = (
        [str(item) for item in errors if isinstance(item, str | int | float)]
        if isinstance(errors, list)
        else []
    )
    said = payload.get("message")
    if isinstance(error, str) and error:
        return error
    if payload.get("ok") is False or payload.get("success") is False or details:
        parts = [part for part in (said if isinstance(said, str) else None, *details) if part]
        return "; ".join(parts) or "ok: false"
    return None


def _json(text: str) -> object:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _labels(message: RenderedMessage) -> dict[str, str]:
    return {name: value for name, value in message.attributes.items() if name not in RESERVED_LABELS}


def _encode(document: object) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


def _size(document: object) -> int:
    return len(_encode(document))
