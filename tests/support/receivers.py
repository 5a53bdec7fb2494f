"""Loopback HTTPS receivers that behave like Slack's incoming webhooks, a Teams Workflows webhook,
PagerDuty's Events API v2 and a client's endpoint for our signed webhook.

Test code only; used by the integration tests and `make demo`. Each records every POST as the bytes
it received, answers as the real service documents, and can be scripted to misbehave with
`simulators.Reply` (a status with Retry-After, a 5xx, drop, hang, drip, flood, a 200 with an error
body). In a scripted body, "{target}" becomes the request's path and query as received and "{body}"
the request body: a server echoing what it was sent, for the leak tests.

Sources of the behaviour (replies the docs do not show are marked "assumed"):
- Slack: "Sending messages using incoming webhooks" and the 2016-05-17 changelog of its errors:
  200 "ok"; 400 invalid_payload / no_text / invalid_blocks, 403 invalid_token / action_prohibited,
  404 channel_not_found / no_service, 410 channel_is_archived, as plain text; 429 with Retry-After.
  Block Kit reference: section text <= 3,000 characters, header <= 150, <= 50 blocks.
- Teams: the Workflows trigger answers 202 with no body; a message over about 28 KB fails with
  "Request Entity too large" (413, assumed); a bad signature in the URL 401 (assumed body).
- PagerDuty: developer docs, "Send an Alert Event" and the overview's response codes: 202
  {"status":"success","message":"Event processed","dedup_key":...}; 400 {"status":"invalid event",
  "message":"Event object is invalid","errors":[...]}; events over 512 KB refused (assumed 400).
- Our webhook: docs/routes.md; it checks the signature and the timestamp as that page tells a
  receiver to, and answers 401 {"ok": false, "error": ...} to a bad one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import trustme

from tests.support.keys import (
    PAGERDUTY_ROUTING_KEY,
    SLACK_PATH,
    TEAMS_PATH,
    WEBHOOK_PATH,
    WEBHOOK_SIGNING_SECRET,
)
from tests.support.simulators import Loopback, Reply, body_bytes, send_reply

Kind = Literal["slack", "teams", "pagerduty", "webhook"]
MAX_REQUEST_BYTES = 2 * 1024 * 1024
"""Read at most this much of a request (PagerDuty's limit is 512 KB: more is read, to refuse it)."""
TEAMS_MAX_BYTES = 28 * 1024
PAGERDUTY_MAX_BYTES = 512 * 1024
SIGNATURE_TOLERANCE_SECONDS = 300
TEXT = {"Content-Type": "text/html"}
"""Slack answers its plain-text codes as text/html."""
PAGERDUTY_PATH = "/v2/enqueue"
SEVERITIES = frozenset({"critical", "error", "warning", "info"})


@dataclass(frozen=True)
class ReceivedPost:
    target: str
    """Path and query, as received."""
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        return json.loads(self.body)


class ReceiverSimulator(Loopback):
    """One receiver. `url` is what its secret entry holds (for PagerDuty, the Events API endpoint;
    the routing key is `PAGERDUTY_ROUTING_KEY`)."""

    def __init__(self, kind: Kind, cert: trustme.LeafCert) -> None:
        self.kind: Kind = kind
        self.posts: list[ReceivedPost] = []
        self.accepted: list[Any] = []
        """The JSON of every message it took, in order."""
        self.incidents: dict[tuple[str, str], str] = {}
        """PagerDuty: (routing key, dedup_key) -> "triggered" or "resolved"."""
        self.routing_keys = {PAGERDUTY_ROUTING_KEY}
        self.signing_secret = WEBHOOK_SIGNING_SECRET
        self.clock = time.time
        """The webhook receiver's clock, for the timestamp's freshness."""
        super().__init__(cert, _handler_for(self))

    @property
    def path(self) -> str:
        return {
            "slack": SLACK_PATH,
            "teams": TEAMS_PATH,
            "pagerduty": PAGERDUTY_PATH,
            "webhook": WEBHOOK_PATH,
        }[self.kind]

    @property
    def url(self) -> str:
        return self.origin + self.path

    def open_incidents(self) -> list[str]:
        return sorted(key for (_, key), state in self.incidents.items() if state == "triggered")

    # --- what the real receiver would answer --------------------------------------------------
    def answer(self, post: ReceivedPost) -> Reply:
        if self.script:
            return self.script.popleft()
        return {
            "slack": self._slack,
            "teams": self._teams,
            "pagerduty": self._pagerduty,
            "webhook": self._webhook,
        }[self.kind](post)

    def _slack(self, post: ReceivedPost) -> Reply:
        if not post.target.startswith("/services/"):
            return Reply(404, "no_service", TEXT)
        if post.target != SLACK_PATH:
            return Reply(403, "invalid_token", TEXT)
        payload = _json(post.body)
        if not isinstance(payload, dict):
            return Reply(400, "invalid_payload", TEXT)
        if not payload.get("text") and not payload.get("blocks"):
            return Reply(400, "no_text", TEXT)
        if _slack_blocks_problem(payload.get("blocks", [])):
            return Reply(400, "invalid_blocks", TEXT)
        self.accepted.append(payload)
        return Reply(200, "ok", TEXT)

    def _teams(self, post: ReceivedPost) -> Reply:
        query = parse_qs(urlsplit(post.target).query)
        if urlsplit(post.target).path != urlsplit(TEAMS_PATH).path or query != parse_qs(
            urlsplit(TEAMS_PATH).query
        ):
            return Reply(
                401,
                {
                    "error": {
                        "code": "DirectApiInvalidAuthorizationSignature",
                        "message": "The provided authorization signature is not valid.",
                    }
                },
            )
        if len(post.body) > TEAMS_MAX_BYTES:
            return Reply(
                413, {"error": {"code": "RequestEntityTooLarge", "message": "Request Entity too large"}}
            )
        payload = _json(post.body)
        if not _is_card_message(payload):
            return Reply(
                400,
                {
                    "error": {
                        "code": "TriggerInputSchemaMismatch",
                        "message": "The input body for trigger 'manual' of type 'Request' did not match"
                        " its schema",
                    }
                },
            )
        self.accepted.append(payload)
        return Reply(202, b"", {"Content-Type": "text/plain"})

    def _pagerduty(self, post: ReceivedPost) -> Reply:
        if post.target != PAGERDUTY_PATH:
            return Reply(404, {"status": "Not Found", "message": "Not Found"})
        if len(post.body) > PAGERDUTY_MAX_BYTES:
            return _invalid_event("Event object is too large")
        event = _json(post.body)
        if not isinstance(event, dict):
            return Reply(
                400, {"status": "Unrecognized object", "message": "Event object format is unrecognized"}
            )
        errors = _event_problems(event)
        if errors:
            return _invalid_event(*errors)
        key = str(event["routing_key"])
        if key not in self.routing_keys:
            return _invalid_event("Invalid routing key")
        dedup_key = str(event.get("dedup_key") or hashlib.sha256(post.body).hexdigest()[:32])
        incident = (key, dedup_key)
        if event["event_action"] == "trigger":
            self.incidents[incident] = "triggered"
        elif event["event_action"] == "resolve" and self.incidents.get(incident) == "triggered":
            self.incidents[incident] = "resolved"
        self.accepted.append(event)
        return Reply(202, {"status": "success", "message": "Event processed", "dedup_key": dedup_key})

    def _webhook(self, post: ReceivedPost) -> Reply:
        if post.target != WEBHOOK_PATH:
            return Reply(404, {"ok": False, "error": "no such hook"})
        problem = verify_signature(self.signing_secret, post.headers, post.body, self.clock())
        if problem:
            return Reply(401, {"ok": False, "error": problem})
        self.accepted.append(post.json())
        return Reply(200, {"ok": True})


def verify_signature(secret: str, headers: dict[str, str], body: bytes, now: float) -> str | None:
    """What docs/routes.md tells a receiver to check: a fresh timestamp, and the signature of
    "<timestamp>." and the body it received, compared in constant time. The problem, or None."""
    timestamp = headers.get("x-credit-monitor-timestamp", "")
    given = headers.get("x-credit-monitor-signature", "")
    if not timestamp.isdigit() or abs(now - int(timestamp)) > SIGNATURE_TOLERANCE_SECONDS:
        return "stale or missing timestamp"
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(given, "sha256=" + expected):
        return "bad signature"
    return None


def _json(body: bytes) -> object:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def _slack_blocks_problem(blocks: object) -> bool:
    if not isinstance(blocks, list) or len(blocks) > 50:
        return True
    for block in blocks:
        if not isinstance(block, dict):
            return True
        text = block.get("text", {})
        limit = {"header": 150, "section": 3000}.get(str(block.get("type")))
        if limit is not None and (
            not isinstance(text, dict) or not 0 < len(str(text.get("text", ""))) <= limit
        ):
            return True
        if block.get("type") == "header" and text.get("type") != "plain_text":
            return True
    return False


def _is_card_message(payload: object) -> bool:
    if not isinstance(payload, dict) or payload.get("type") != "message":
        return False
    attachments = payload.get("attachments")
    return (
        isinstance(attachments, list)
        and len(attachments) > 0
        and all(
            isinstance(item, dict)
            and item.get("contentType") == "application/vnd.microsoft.card.adaptive"
            and isinstance(item.get("content"), dict)
            and item["content"].get("type") == "AdaptiveCard"
            for item in attachments
        )
    )


def _event_problems(event: dict[str, Any]) -> list[str]:
    """PagerDuty's required fields and their documented bounds."""
    problems = []
    key = event.get("routing_key")
    if not isinstance(key, str) or len(key) != 32:
        problems.append("Length of 'routing_key' is incorrect (should be 32 characters)")
    action = event.get("event_action")
    if action not in ("trigger", "acknowledge", "resolve"):
        problems.append("'event_action' is invalid (must be trigger, acknowledge or resolve)")
    dedup_key = event.get("dedup_key")
    if dedup_key is not None and (not isinstance(dedup_key, str) or len(dedup_key) > 255):
        problems.append("'dedup_key' must be a string of at most 255 characters")
    if action in ("acknowledge", "resolve") and not dedup_key:
        problems.append("'dedup_key' is required for acknowledge and resolve")  # assumed wording
    if action == "trigger":
        payload = event.get("payload")
        if not isinstance(payload, dict):
            return [*problems, "'payload' is missing or not an object"]
        summary = payload.get("summary")
        if not isinstance(summary, str) or not summary or len(summary) > 1024:
            problems.append("'payload.summary' is missing, blank or longer than 1024 characters")
        if not isinstance(payload.get("source"), str) or not payload.get("source"):
            problems.append("'payload.source' is missing or blank")
        if payload.get("severity") not in SEVERITIES:
            problems.append("'payload.severity' is invalid (must be critical, error, warning or info)")
    return problems


def _invalid_event(*errors: str) -> Reply:
    return Reply(
        400, {"status": "invalid event", "message": "Event object is invalid", "errors": list(errors)}
    )


def _handler_for(simulator: ReceiverSimulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            headers = {name.lower(): value for name, value in self.headers.items()}
            length = min(int(headers.get("content-length", "0") or "0"), MAX_REQUEST_BYTES)
            post = ReceivedPost(self.path, headers, self.rfile.read(length) if length else b"")
            simulator.posts.append(post)
            reply = simulator.answer(post)
            send_reply(self, reply, _encode(reply, post), simulator._stop)

        def log_message(self, format: str, *args: Any) -> None:
            """Silence the default stderr access log."""

    return Handler


def _encode(reply: Reply, post: ReceivedPost) -> bytes:
    return body_bytes(reply.body).replace(b"{target}", post.target.encode()).replace(b"{body}", post.body)
