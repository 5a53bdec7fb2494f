"""The receivers behind the one port (delivery.Receiver): Slack, Teams, PagerDuty and our webhook
over the function's HTTP client, SNS topics through the SNS notifier.

What differs between them is the format (payloads.py) and how each says it did not take a message
in a 2xx; the delivery rules are delivery.py's. Every URL and key comes from the API-keys secret at
delivery time and is a secret: each receiver redacts its own from everything it says (the reply of
a server that echoes the request too), and a receiver whose entry is missing or wrong says which
entry and what is wrong, never the value. Nothing here raises for what a receiver or the network
does: each failure is a Delivery, bounded by the deadline given and MAX_DELIVERY_SECONDS.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from credit_monitor.adapters import aws
from credit_monitor.adapters.alerts import AlertDeliveryError, SnsNotifier
from credit_monitor.adapters.aws import PUBLISH_CONFIG
from credit_monitor.checks import Http, KeySource
from credit_monitor.delivery import (
    DETAIL_CHARS,
    Delivery,
    Outcome,
    Receiver,
    entry_problem,
    outcome_of,
    retry_after_seconds,
    url_secrets,
)
from credit_monitor.keys import Redactor, redactor_for
from credit_monitor.messages import MAX_MESSAGE_BYTES, TEST_KIND, RenderedMessage
from credit_monitor.model import CheckError, FailureKind
from credit_monitor.payloads import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
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
    webhook_body,
    webhook_error,
    webhook_fits,
)
from credit_monitor.printable import printable
from credit_monitor.providers import HttpReply, Request, RetryPolicy
from credit_monitor.routes import TOPIC, PagerDutyRegion, ReceiverKind, ReceiverSpec, Routing

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

MAX_DELIVERY_SECONDS = 10.0
"""One delivery ends by then whatever the deadline given: a receiver that hangs, drips or floods
holds a run no longer, and the others' deliveries go on."""
RETRY = RetryPolicy(
    attempts=2, backoff_seconds=1.0, rate_limited_backoff_seconds=2.0, retry_after_cap_seconds=3600
)
"""One retry in the delivery, when the receiver's Retry-After (honoured whole, never shortened)
still fits before its deadline; otherwise the reply comes back and the next run tries again."""
PAGERDUTY_URLS = {
    PagerDutyRegion.US: "https://events.pagerduty.com/v2/enqueue",
    PagerDutyRegion.EU: "https://events.eu.pagerduty.com/v2/enqueue",
}
REASON_CHARS = 160
JSON = {"Content-Type": "application/json; charset=utf-8"}
Clock = Callable[[], float]
Now = Callable[[], datetime]


def build_receiver(
    spec: ReceiverSpec,
    secrets: Mapping[str, str],
    http: Http,
    *,
    pagerduty_urls: Mapping[PagerDutyRegion, str] = PAGERDUTY_URLS,
    sns: Callable[[str], SNSClient] | None = None,
    clock: Clock = time.monotonic,
    now: Now | None = None,
) -> HttpReceiver | TopicReceiver | Misconfigured:
    """The receiver `spec` declares, with its URL or key from `secrets` (the API-keys secret, as
    KeySource.api_keys() gives it); a Misconfigured one, saying which entry is wrong, when it is.
    `sns(region)`: the SNS client of a topic's region (by default, the function's own kind)."""
    if spec.kind is ReceiverKind.TOPIC:
        return TopicReceiver(spec, sns or _sns_client)
    for entry in spec.entries:  # its URL or routing key, then a webhook's signing secret
        if problem := entry_problem(spec, entry, secrets):
            return Misconfigured(spec, f"the secret entry {entry!r} {problem}")
    value = secrets[spec.target]
    wall = now or (lambda: datetime.now(UTC))
    if spec.kind is ReceiverKind.SLACK:
        return HttpReceiver(spec, http, value, redactor_for(*url_secrets(value)), clock, wall, SLACK)
    if spec.kind is ReceiverKind.TEAMS:
        return HttpReceiver(spec, http, value, redactor_for(*url_secrets(value)), clock, wall, TEAMS)
    if spec.kind is ReceiverKind.PAGERDUTY:
        url = pagerduty_urls[spec.region]
        return PagerDutyReceiver(spec, http, url, redactor_for(value), clock, wall, PAGERDUTY, value)
    if not spec.signing:  # the accounts file requires one: a webhook is never sent unsigned
        return Misconfigured(spec, f"the webhook {spec.target!r} names no signing secret's entry")
    secret = secrets[spec.signing]
    redactor = redactor_for(*sorted({*url_secrets(value), secret}))
    return WebhookReceiver(spec, http, value, redactor, clock, wall, WEBHOOK, secret)


class Misconfigured:
    """A receiver that cannot be sent to until someone fixes its secret entry: every delivery is
    refused, saying which entry and what is wrong (never its value)."""

    def __init__(self, spec: ReceiverSpec, problem: str) -> None:
        self.spec = spec
        self.problem = problem

    @property
    def id(self) -> str:
        return self.spec.id

    def deliver(self, message: RenderedMessage, deadline: float) -> Delivery:
        return Delivery(Outcome.REFUSED, printable(f"not sent: {self.problem}", limit=DETAIL_CHARS))

    def fits(self, message: RenderedMessage) -> bool:
        return True


@dataclass(frozen=True)
class Form:
    """How one kind of receiver over HTTP is written to, and read from."""

    render: Callable[[RenderedMessage], object]
    error_in: Callable[[str], str | None]
    """The error a 2xx reply carries in its body, if any."""
    fits: Callable[[RenderedMessage], bool]


SLACK = Form(slack, slack_error, slack_fits)
"""An incoming webhook: 200 "ok" accepts; Slack's errors are plain text (invalid_payload,
channel_not_found...), a workflow webhook's (and some proxies') a 200 with {"ok": false}."""
TEAMS = Form(teams, teams_error, teams_fits)
"""A Workflows webhook ("When a Teams webhook request is received"): 202 accepts, then the flow posts
the card; what the flow does after that, Teams does not tell the sender."""
WEBHOOK = Form(lambda message: None, webhook_error, webhook_fits)
"""Ours: rendered with its timestamp, and signed, by WebhookReceiver."""
PAGERDUTY = Form(lambda message: None, lambda text: pagerduty_reply(text)[0], lambda message: True)
"""One event per account (PagerDutyReceiver): each always fits."""


class HttpReceiver:
    """What every receiver over HTTP does: POST a body by the deadline, read the reply, and say
    what happened in words with none of its secrets in them."""

    def __init__(
        self,
        spec: ReceiverSpec,
        http: Http,
        url: str,
        redactor: Redactor,
        clock: Clock,
        now: Now,
        form: Form,
        secret: str = "",
    ) -> None:
        """`secret`: a webhook's signing secret, PagerDuty's routing key (its URL is no secret)."""
        self.spec = spec
        self._form = form
        self._http = http
        self._url = url
        self._redactor = redactor
        self._clock = clock
        self._now = now
        self._secret = secret

    @property
    def id(self) -> str:
        return self.spec.id

    def deliver(self, message: RenderedMessage, deadline: float) -> Delivery:
        return self._post(_encode(self._form.render(message)), {}, message, deadline)

    def fits(self, message: RenderedMessage) -> bool:
        return self._form.fits(message)

    def _post(
        self, body: bytes, headers: Mapping[str, str], message: RenderedMessage, deadline: float
    ) -> Delivery:
        reply = self._send(body, headers, deadline)
        return reply if isinstance(reply, Delivery) else self._answer(reply, self._form.error_in, message)

    def _send(self, body: bytes, headers: Mapping[str, str], deadline: float) -> HttpReply | Delivery:
        """The reply, or the Delivery of a request that got none (RETRY_LATER)."""
        deadline = min(deadline, self._clock() + MAX_DELIVERY_SECONDS)
        try:
            return self._http.send(Request("POST", self._url, {**JSON, **headers}, body), RETRY, deadline)
        except CheckError as error:
            return Delivery(Outcome.RETRY_LATER, self._say(f"not delivered: {_transport(error)}"))
        except ValueError:  # a URL urllib3 could not use after all; never repeated
            return Delivery(
                Outcome.REFUSED, f"not sent: the URL in the secret entry {self.spec.target!r} cannot be used"
            )

    def _answer(
        self, reply: HttpReply, error_in: Callable[[str], str | None], message: RenderedMessage
    ) -> Delivery:
        text = self._redactor.redact(reply.body.decode("utf-8", "replace"))
        outcome = outcome_of(reply.status)
        if outcome is Outcome.ACCEPTED:
            error = error_in(text)
            if error is None:
                return Delivery.accepted_all(message, f"accepted (HTTP {reply.status})")
            return Delivery(
                Outcome.REFUSED, self._say(f"refused: HTTP {reply.status}, but the reply says {error}")
            )
        return self._failed(reply, text, outcome)

    def _failed(self, reply: HttpReply, text: str, outcome: Outcome) -> Delivery:
        wait = retry_after_seconds(reply.headers.get("retry-after"), self._now())
        said = printable(reply_reason(text), limit=REASON_CHARS) or "an empty reply"
        redirect = " (a redirect, never followed: store the final URL)" if 300 <= reply.status < 400 else ""
        after = f"; retry after {wait:g} s" if wait is not None and outcome is Outcome.RETRY_LATER else ""
        return Delivery(
            outcome, self._say(f"{outcome}: HTTP {reply.status}{redirect}: {said}{after}"), retry_after=wait
        )

    def _say(self, text: str) -> str:
        return printable(self._redactor.redact(text), limit=DETAIL_CHARS)


class WebhookReceiver(HttpReceiver):
    """Our JSON, signed: HMAC-SHA256 of "<timestamp>." and the exact body, in X-Credit-Monitor-Signature."""

    def deliver(self, message: RenderedMessage, deadline: float) -> Delivery:
        sent_at = self._now()
        timestamp = int(sent_at.timestamp())
        body = webhook_body(message, sent_at)
        headers = {
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: signature(self._secret, timestamp, body),
        }
        return self._post(body, headers, message, deadline)


class PagerDutyReceiver(HttpReceiver):
    """Events API v2: one event per account of the message, in turn, each idempotent by its
    dedup_key. The first event not accepted ends the delivery; the accounts accepted before it are
    settled (Delivery.accepted), so a resend repeats nothing PagerDuty has not already taken.
    A test is a trigger and its resolve, accepted only when both were."""

    def deliver(self, message: RenderedMessage, deadline: float) -> Delivery:
        kind = message.attributes.get("kind", "")
        events = pagerduty_events(message, self._secret, self._now())
        if not events:
            return Delivery.accepted_all(
                message, f"not sent: a {kind} opens or resolves no PagerDuty incident"
            )
        deadline = min(deadline, self._clock() + MAX_DELIVERY_SECONDS)
        settled: list[str] = []
        keys: list[str] = []
        for number, event in enumerate(events):
            progress = f" ({number} of {len(events)} events accepted before it)" if len(events) > 1 else ""
            if kind == TEST_KIND and number:  # a test is never sent again: say what it left behind
                progress += f"; the test alert {event.dedup_key} stays open until resolved in PagerDuty"
            reply = self._send(_encode(event.body), {}, deadline)
            if isinstance(reply, Delivery):
                return Delivery(reply.outcome, self._say(reply.detail + progress), accepted=tuple(settled))
            text = self._redactor.redact(reply.body.decode("utf-8", "replace"))
            outcome = outcome_of(reply.status)
            error, key = pagerduty_reply(text) if outcome is Outcome.ACCEPTED else (None, None)
            if error is not None:
                said = self._say(f"refused: HTTP {reply.status}, but the reply says {error}{progress}")
                return Delivery(Outcome.REFUSED, said, accepted=tuple(settled))
            if outcome is not Outcome.ACCEPTED:
                failed = self._failed(reply, text, outcome)
                detail = self._say(failed.detail + progress)
                return Delivery(outcome, detail, retry_after=failed.retry_after, accepted=tuple(settled))
            settled += event.ids
            keys.append(key or event.dedup_key)
        actions = sorted({event.body["event_action"] for event in events})
        return Delivery(
            Outcome.ACCEPTED,
            f"accepted: {len(events)} {'/'.join(actions)} event{'s' if len(events) > 1 else ''} (HTTP 202)",
            ack=printable(",".join(dict.fromkeys(keys)), limit=DETAIL_CHARS),
            accepted=tuple(settled),
        )


class TopicReceiver:
    """An SNS topic of the client's own (its e-mail list), published to as the stack's topic is."""

    RETRY_CODES = frozenset(
        {
            "Throttled",
            "Throttling",
            "ThrottlingException",
            "KMSThrottling",
            "InternalError",
            "InternalFailure",
        }
    )

    def __init__(self, spec: ReceiverSpec, sns: Callable[[str], SNSClient]) -> None:
        self.spec = spec
        self._sns = sns

    @property
    def id(self) -> str:
        return self.spec.id

    def deliver(self, message: RenderedMessage, deadline: float) -> Delivery:
        region = self.spec.target.split(":")[3]
        try:
            message_id = SnsNotifier(self.spec.target, self._sns(region)).publish(message)
        except AlertDeliveryError as exc:
            return Delivery(
                _sns_outcome(exc.__cause__, self.RETRY_CODES), printable(str(exc), limit=DETAIL_CHARS)
            )
        return Delivery.accepted_all(message, f"accepted (SNS MessageId {message_id})", ack=message_id)

    def fits(self, message: RenderedMessage) -> bool:
        return message.size() <= MAX_MESSAGE_BYTES


def _sns_outcome(cause: BaseException | None, retry_codes: frozenset[str]) -> Outcome:
    if isinstance(cause, ClientError):
        code = cause.response.get("Error", {}).get("Code", "")
        status = cause.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500)
        return Outcome.RETRY_LATER if code in retry_codes else outcome_of(status)
    assert cause is None or isinstance(cause, BotoCoreError)
    return Outcome.RETRY_LATER  # no answer: a timeout, a refused connection


@functools.cache
def _sns_client(region: str) -> SNSClient:
    """One client per topic region, made at its first publish (SNS takes a publish only in the
    topic's own region)."""
    return cast("SNSClient", aws.client("sns", PUBLISH_CONFIG.merge(Config(region_name=region))))


def _transport(error: CheckError) -> str:
    if error.kind is FailureKind.BAD_RESPONSE:
        return f"the reply could not be read ({error.message.split(';')[0]})"
    return error.message


def _encode(payload: object) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


class StackAndRoutes:
    """The ReceiverSource port: the stack's own topic (routes.TOPIC), and every route receiver of
    the accounts file, its URL or key read from the API-keys secret at each run (a rotated webhook
    is picked up as a rotated key is). A secret that cannot be read makes each route receiver a
    Misconfigured one, saying so: the stack's topic still gets its messages."""

    def __init__(
        self,
        topic_arn: str,
        keys: KeySource,
        http: Http,
        *,
        pagerduty_urls: Mapping[PagerDutyRegion, str] = PAGERDUTY_URLS,
        sns: Callable[[str], SNSClient] | None = None,
    ) -> None:
        self._clients: dict[str, SNSClient] = {}
        self._sns = sns or self._client
        self._topic = TopicReceiver(ReceiverSpec(ReceiverKind.TOPIC, topic_arn), self._sns)
        self._keys, self._http, self._pagerduty = keys, http, pagerduty_urls

    def _client(self, region: str) -> SNSClient:
        """This sandbox's SNS client of a region, made at its first publish and kept for the warm
        runs after it (a new runtime, a new one: never one a test or an outage left behind)."""
        if region not in self._clients:
            self._clients[region] = _sns_client.__wrapped__(region)
        return self._clients[region]

    def receivers(self, routing: Routing, *, fresh: bool = False) -> dict[str, Receiver]:
        found: dict[str, Receiver] = {TOPIC: self._topic}
        specs = routing.specs()
        if not specs:
            return found
        try:
            secrets = self._keys.api_keys(refresh=fresh)
        except CheckError as exc:
            problem = f"the secret could not be read ({exc.message})"
            return found | {rid: Misconfigured(spec, problem) for rid, spec in specs.items()}
        for rid, spec in specs.items():
            found[rid] = build_receiver(
                spec, secrets, self._http, pagerduty_urls=self._pagerduty, sns=self._sns
            )
        return found
