"""Each receiver against its loopback simulator over real sockets (and SNS topics against moto):
what it sends, what it makes of every answer, that it ends by its deadline however the receiver
behaves, and that no URL, routing key or signing secret ever shows in what it says or logs."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
import trustme

from credit_monitor.adapters import receivers
from credit_monitor.adapters.http import HttpClient, build_pool_manager
from credit_monitor.adapters.receivers import (
    MAX_DELIVERY_SECONDS,
    PAGERDUTY_URLS,
    HttpReceiver,
    Misconfigured,
    TopicReceiver,
    build_receiver,
)
from credit_monitor.alerting import Kind, Level
from credit_monitor.delivery import Delivery, Outcome, receiver_secrets
from credit_monitor.keys import NotAString
from credit_monitor.messages import RenderedMessage
from credit_monitor.routes import PagerDutyRegion, ReceiverKind, ReceiverSpec
from tests.support.aws import AlertInbox
from tests.support.blackhole import BlackHole, closed_port
from tests.support.keys import (
    PAGERDUTY_ROUTING_KEY,
    RECEIVER_SECRETS,
    WEBHOOK_SIGNING_SECRET,
    assert_no_key_leaked,
)
from tests.support.notices import message
from tests.support.receivers import Kind as SimulatorKind
from tests.support.receivers import ReceiverSimulator
from tests.support.simulators import Reply, refused_handshakes

SECONDS = 4.0
"""Each delivery's deadline in these tests: a hang or a drip ends by then."""
SPECS = {
    "slack": ReceiverSpec(ReceiverKind.SLACK, "acme-slack"),
    "teams": ReceiverSpec(ReceiverKind.TEAMS, "acme-teams"),
    "pagerduty": ReceiverSpec(ReceiverKind.PAGERDUTY, "acme-pagerduty"),
    "webhook": ReceiverSpec(ReceiverKind.WEBHOOK, "acme-hook", signing="acme-hook-signing"),
}


@pytest.fixture
def http(ca_file: Path, monkeypatch: pytest.MonkeyPatch) -> HttpClient:
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # read by OpenSSL itself, so it must be real env
    return HttpClient(build_pool_manager())


@pytest.fixture
def serve(server_cert: trustme.LeafCert) -> Iterator[Callable[[SimulatorKind], ReceiverSimulator]]:
    started: list[ReceiverSimulator] = []

    def _serve(kind: SimulatorKind) -> ReceiverSimulator:
        simulator = ReceiverSimulator(kind, server_cert).start()
        started.append(simulator)
        return simulator

    yield _serve
    for simulator in started:
        simulator.stop()


def secrets_for(simulator: ReceiverSimulator) -> dict[str, str]:
    """The API-keys secret's entries for `simulator`'s receiver, as the function reads them."""
    if simulator.kind == "pagerduty":
        return {"acme-pagerduty": PAGERDUTY_ROUTING_KEY}
    if simulator.kind == "webhook":
        return {"acme-hook": simulator.url, "acme-hook-signing": WEBHOOK_SIGNING_SECRET}
    return {f"acme-{simulator.kind}": simulator.url}


def receiver(
    simulator: ReceiverSimulator, http: HttpClient, secrets: dict[str, str] | None = None, **options: object
) -> HttpReceiver | Misconfigured:
    urls = {PagerDutyRegion.US: simulator.url, PagerDutyRegion.EU: simulator.url}
    built = build_receiver(
        SPECS[simulator.kind],
        secrets_for(simulator) if secrets is None else secrets,
        http,
        pagerduty_urls=urls,
        **options,  # type: ignore[arg-type]
    )
    assert not isinstance(built, TopicReceiver)
    return built


def deliver(target: HttpReceiver | Misconfigured | TopicReceiver, note: RenderedMessage) -> Delivery:
    return target.deliver(note, time.monotonic() + SECONDS)


KINDS: list[SimulatorKind] = ["slack", "teams", "pagerduty", "webhook"]


@pytest.mark.parametrize("kind", KINDS)
def test_each_receiver_takes_a_message_as_its_service_documents_it(
    kind: SimulatorKind, serve: Callable[[SimulatorKind], ReceiverSimulator], http: HttpClient
) -> None:
    simulator = serve(kind)
    low = message(Kind.LOW)

    delivery = deliver(receiver(simulator, http), low)

    assert delivery.outcome is Outcome.ACCEPTED, delivery.detail
    assert delivery.accepted == ("run-7-acme-001-1",)
    [post] = simulator.posts
    assert post.headers["content-type"] == "application/json; charset=utf-8"
    assert post.headers["user-agent"].startswith("credit-monitor/")
    assert simulator.accepted == [post.json()]


@pytest.mark.parametrize("kind", KINDS)
def test_a_group_bigger_than_a_receiver_holds_is_still_taken_whole_or_cut_with_a_pointer(
    kind: SimulatorKind, serve: Callable[[SimulatorKind], ReceiverSimulator], http: HttpClient
) -> None:
    simulator = serve(kind)
    big = message(Kind.LOW, accounts=500)

    delivery = deliver(receiver(simulator, http), big)

    assert delivery.outcome is Outcome.ACCEPTED, delivery.detail
    assert len(delivery.accepted) == 500
    if kind in ("slack", "teams"):
        assert b"more lines not shown here: run `credit-monitor status`" in simulator.posts[0].body


def test_slacks_rate_limit_is_waited_for_when_it_fits_and_reported_when_it_does_not(
    serve: Callable[[SimulatorKind], ReceiverSimulator], http: HttpClient
) -> None:
    slack = serve("slack").then(Reply(429, '{"retry_after": 1}', {"Retry-After": "1"}))

    assert deliver(receiver(slack, http), message()).outcome is Outcome.ACCEPTED
    assert len(slack.posts) == 2  # one retry, after the second Slack asked for

    slack.then(Reply(429, "rate_limited", {"Retry-After": "120"}))
    later = deliver(receiver(slack, http), message())

    assert later.outcome is Outcome.RETRY_LATER
    assert later.retry_after == 120
    assert "HTTP 429: rate_limited; retry after 120 s" in later.detail
    assert len(slack.posts) == 3  # no retry: it could not come before the deadline


@pytest.mark.parametrize(
    ("reply", "outcome", "said"),
    [
        (
            Reply(404, "channel_not_found", {"Content-Type": "text/html"}),
            Outcome.REFUSED,
            "HTTP 404: channel_not_found",
        ),
        (Reply(410, "channel_is_archived"), Outcome.REFUSED, "HTTP 410: channel_is_archived"),
        (Reply(403, "action_prohibited"), Outcome.REFUSED, "HTTP 403: action_prohibited"),
        (
            Reply(200, '{"ok": false, "error": "invalid_workflow_input"}'),
            Outcome.REFUSED,
            "the reply says invalid_workflow_input",
        ),
        (
            Reply(302, "", {"Location": "https://elsewhere.example/"}),
            Outcome.REFUSED,
            "a redirect, never followed",
        ),
        (Reply(501, "rollup_error"), Outcome.RETRY_LATER, "HTTP 501: rollup_error"),
    ],
)
def test_slacks_answers_are_refused_or_retried_later_by_the_one_rule(
    serve: Callable[[SimulatorKind], ReceiverSimulator],
    http: HttpClient,
    reply: Reply,
    outcome: Outcome,
    said: str,
) -> None:
    slack = serve("slack").then(reply)

    delivery = deliver(receiver(slack, http), message())

    assert delivery.outcome is outcome
    assert said in delivery.detail
    assert delivery.accepted == ()
    assert len(slack.posts) == 1  # a 4xx, a redirect and a 501 are not retried in the delivery


def test_a_5xx_is_retried_once_in_the_delivery_and_then_left_for_the_next_run(
    serve: Callable[[SimulatorKind], ReceiverSimulator], http: HttpClient
) -> None:
    teams = serve("teams").then(Reply(503, "busy"), Reply(502, "<html>bad gateway</html>"))

    delivery = deliver(receiver(teams, http), message())

    assert delivery.outcome is Outcome.RETRY_LATER
    assert "HTTP 502: <html>bad gateway</html>" in delivery.detail
    assert len(teams.posts) == 2

    teams.then(Reply(500, "oops"))
    assert deliver(receiver(teams, http), message()).outcome is Outcome.ACCEPTED
    assert len(teams.accepted) == 1


def test_pagerduty_opens_an_incident_per_account_and_any_grouping_of_their_recovery_resolves_them(
    serve: Callable[[SimulatorKind], ReceiverSimulator], http: HttpClient
) -> None:
    pagerduty = serve("pagerduty")
    target = receiver(pagerduty, http)

    failing = deliver(target, message(Kind.CHECK_FAILING, accounts=3, outage=True))

    assert failing.outcome is Outcome.ACCEPTED, failing.detail
    assert failing.detail == "accepted: 3 trigger events (HTTP 202)"
    assert failing.ack == ",".join(f"credit-monitor/acme-00{n}/check" for n in (1, 2, 3))
    assert pagerduty.open_incidents() == [f"credit-monitor/acme-00{n}/check" for n in (1, 2, 3)]
    assert [event["payload"]["severity"] for event in pagerduty.accepted] == ["error"] * 3

    deliver(target, message(Kind.CHECK_RECOVERED, accounts=2))  # two recover together
    assert pagerduty.open_incidents() == ["credit-monitor/acme-003/check"]
    deliver(target, message(Kind.CHECK_RECOVERED, accounts=3))  # the last one, with the others again
    assert pagerduty.open_incidents() == []


def test_pagerduty_severity_follows_the_level_and_the_balance_incident_resolves_on_recovery(
    serve: Callable[[SimulatorKind], ReceiverSimulator], http: HttpClient
) -> None:
    pagerduty = serve("pagerduty")
    target = receiver(pagerduty, http)

    deliver(target, message(Kind.LOW, level=Level.WARNING))
    deliver(target, message(Kind.LOW, level=Level.CRITICAL))
    assert pagerduty.open_incidents() == ["credit-monitor/acme-001/balance"]  # one incident, escalated
    deliver(target, message(Kind.RECOVERED))

    assert [event["payload"]["severity"] for event in pagerduty.accepted[:2]] == ["warning", "critical"]
    assert pagerduty.accepted[2]["event_action"] == "resolve"
    assert pagerduty.open_incidents() == []


def test_the_eu_region_sends_to_its_own_endpoint(
    serve: Callable[[SimulatorKind], ReceiverSimulator], http: HttpClient
) -> None:
    us, eu = serve("pagerduty"), serve("pagerduty")
    spec = ReceiverSpec(ReceiverKind.PAGERDUTY, "acme-pagerduty", region=PagerDutyRegion.EU)
    urls = {PagerDutyRegion.US: us.url, PagerDutyRegion.EU: eu.url}

    target = build_receiver(spec, secrets_for(eu), http, pagerduty_urls=urls)
    delivery = target.deliver(message(), time.monotonic() + SECONDS)

    assert delivery.ok
    assert (len(us.posts), len(eu.posts)) == (0, 1)
    assert PAGERDUTY_URLS[PagerDutyRegion.EU] == "https://events.eu.pagerduty.com/v2/enqueue"


def test_pagerduty_throttling_midway_settles_the_accounts_it_took_and_the_resend_repeats_nothing_else(
    serve: Callable[[SimulatorKind], ReceiverSimulator], http: HttpClient
) -> None:
    pagerduty = serve("pagerduty")
    pagerduty.then(
        Reply(
            202,
            {"status": "success", "message": "Event processed", "dedup_key": "credit-monitor/acme-001/check"},
        ),
        Reply(429, "", {"Retry-After": "60"}),
    )
    outage = message(Kind.CHECK_FAILING, accounts=3, outage=True)

    delivery = deliver(receiver(pagerduty, http), outage)

    assert delivery.outcome is Outcome.RETRY_LATER
    assert delivery.accepted == ("run-7-acme-001-1",)
    assert delivery.retry_after == 60
    assert "(1 of 3 events accepted before it)" in delivery.detail


def test_pagerduty_refuses_an_event_with_its_own_words_and_never_the_key(
    serve: Callable[[SimulatorKind], ReceiverSimulator], http: HttpClient
) -> None:
    pagerduty = serve("pagerduty")
    pagerduty.routing_keys = {"S" * 32}  # the key in the secret is not one of this service's

    delivery = deliver(receiver(pagerduty, http), message())

    assert delivery.outcome is Outcome.REFUSED
    assert delivery.detail == "refused: HTTP 400: Event object is invalid; Invalid routing key"


def test_a_digest_sends_nothing_to_pagerduty_and_settles(
    serve: Callable[[SimulatorKind], ReceiverSimulator], http: HttpClient
) -> None:
    pagerduty = serve("pagerduty")
    digest = RenderedMessage(
        "[credit-monitor] Weekly digest", "...", {}, {"kind": "DIGEST"}, (("#digest", "d-1"),)
    )

    delivery = deliver(receiver(pagerduty, http), digest)

    assert (delivery.outcome, delivery.accepted, pagerduty.posts) == (Outcome.ACCEPTED, ("d-1",), [])


def test_the_webhook_is_signed_so_its_receiver_can_check_it_and_a_wrong_secret_is_refused(
    serve: Callable[[SimulatorKind], ReceiverSimulator], http: HttpClient
) -> None:
    hook = serve("webhook")

    assert deliver(receiver(hook, http), message()).ok
    [document] = hook.accepted
    assert (document["version"], document["accounts"]) == (1, ["acme-001"])

    wrong = {**secrets_for(hook), "acme-hook-signing": "another-secret-of-32-characters-x"}
    refused = deliver(receiver(hook, http, wrong), message())
    assert refused.outcome is Outcome.REFUSED
    assert refused.detail == "refused: HTTP 401: bad signature"


def test_a_webhook_replayed_later_than_its_timestamp_allows_is_refused_by_its_receiver(
    serve: Callable[[SimulatorKind], ReceiverSimulator], http: HttpClient
) -> None:
    hook = serve("webhook")
    hour_ago = datetime.now(UTC) - timedelta(hours=1)

    delivery = deliver(receiver(hook, http, now=lambda: hour_ago), message())

    assert delivery.detail == "refused: HTTP 401: stale or missing timestamp"


@pytest.mark.parametrize(
    ("behaviour", "said"),
    [
        (Reply(action="hang"), "no answer before the read timeout"),
        (Reply(200, "ok" * 20, action="drip"), "the reply was still arriving at the deadline"),
        (
            Reply(200, action="flood", size=50 * 1024 * 1024),
            "the reply could not be read (reply larger than 64 KB)",
        ),
        (Reply(action="drop"), "connection dropped before a complete response"),
    ],
    ids=["hang", "drip", "flood", "drop"],
)
@pytest.mark.parametrize("kind", KINDS)
def test_a_receiver_that_hangs_drips_floods_or_drops_fails_alone_by_its_deadline(
    kind: SimulatorKind,
    behaviour: Reply,
    said: str,
    serve: Callable[[SimulatorKind], ReceiverSimulator],
    http: HttpClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    simulator = serve(kind).then(behaviour, behaviour)
    caplog.set_level(logging.DEBUG)
    deadline = time.monotonic() + SECONDS

    delivery = receiver(simulator, http).deliver(message(), deadline)

    assert delivery.outcome is Outcome.RETRY_LATER
    assert said in delivery.detail
    assert time.monotonic() < deadline + 1.0  # by its deadline, not the server's choice
    assert 1 <= len(simulator.posts) <= 2
    assert_no_key_leaked(delivery.detail, caplog.text, repr(delivery), keys=RECEIVER_SECRETS)


def test_no_delivery_lasts_longer_than_its_own_bound_whatever_deadline_it_is_given(
    serve: Callable[[SimulatorKind], ReceiverSimulator], http: HttpClient
) -> None:
    slack = serve("slack").then(Reply(action="hang"), Reply(action="hang"), Reply(action="hang"))
    started = time.monotonic()

    delivery = receiver(slack, http).deliver(message(), started + 600)

    assert delivery.outcome is Outcome.RETRY_LATER
    assert time.monotonic() - started < MAX_DELIVERY_SECONDS + 1.0


def test_a_receiver_nobody_answers_at_is_retried_later(http: HttpClient) -> None:
    url = f"https://127.0.0.1:{closed_port()}/services/T0RCVR01A/B0RCVR02B/xq7Lm2Pz9Rk4Tw6Yb8Nc3Vd5"

    delivery = deliver(build_receiver(SPECS["slack"], {"acme-slack": url}, http), message())

    assert delivery.outcome is Outcome.RETRY_LATER
    assert "could not connect" in delivery.detail
    assert_no_key_leaked(delivery.detail, keys=RECEIVER_SECRETS)


def test_a_receiver_whose_certificate_we_do_not_trust_is_sent_nothing(
    http: HttpClient, caplog: pytest.LogCaptureFixture
) -> None:
    stranger = ReceiverSimulator("slack", trustme.CA().issue_cert("127.0.0.1")).start()
    caplog.set_level(logging.DEBUG)
    try:
        delivery = deliver(receiver(stranger, http), message())
    finally:
        stranger.stop()

    assert delivery.outcome is Outcome.RETRY_LATER
    assert "TLS verification failed, nothing was sent" in delivery.detail
    assert stranger.posts == []
    assert refused_handshakes(stranger) >= 1
    assert_no_key_leaked(delivery.detail, caplog.text, keys=RECEIVER_SECRETS)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (
            "http://127.0.0.1:{port}/services/T0RCVR01A/B0RCVR02B/xq7Lm2Pz9Rk4Tw6Yb8Nc3Vd5",
            "is an http:// URL",
        ),
        ("file:///etc/passwd", "is not an https:// URL"),
        ("https://user:xq7Lm2Pz9Rk4Tw6Yb8Nc3Vd5@127.0.0.1:{port}/x", "has credentials before the host"),
        ("xq7Lm2Pz9Rk4Tw6Yb8Nc3Vd5", "is not an https:// URL"),
        ("https://127.0.0.1:{port}/services/x\r\nX-Injected: 1", "is not a URL"),
        (NotAString("object"), "must be a JSON string holding the Slack incoming-webhook URL, got an object"),
        ("", "is missing; add it to the API-keys secret"),
    ],
    ids=["http", "file", "credentials", "not-a-url", "header-injection", "not-a-string", "missing"],
)
def test_a_hostile_url_in_the_secret_fails_its_receiver_clearly_and_sends_nothing(
    serve: Callable[[SimulatorKind], ReceiverSimulator], http: HttpClient, value: str, problem: str
) -> None:
    slack = serve("slack")
    port = slack.origin.rsplit(":", 1)[1]
    secrets: dict[str, str]
    if isinstance(value, NotAString):
        secrets = {"acme-slack": value}
    else:
        secrets = {"acme-slack": value.replace("{port}", port)} if value else {}

    target = receiver(slack, http, secrets)
    delivery = deliver(target, message())

    assert isinstance(target, Misconfigured)
    assert delivery.outcome is Outcome.REFUSED
    assert delivery.detail.startswith("not sent: the secret entry 'acme-slack' ")
    assert problem in delivery.detail
    assert slack.posts == []
    assert "xq7Lm2Pz" not in delivery.detail
    assert "127.0.0.1" not in delivery.detail


def test_a_bad_routing_key_or_signing_secret_is_named_by_its_entry(http: HttpClient) -> None:
    pagerduty = build_receiver(SPECS["pagerduty"], {"acme-pagerduty": "https://events.pagerduty.com/x"}, http)
    hook = build_receiver(
        SPECS["webhook"], {"acme-hook": "https://hooks.example.com/h", "acme-hook-signing": "short"}, http
    )
    unsigned = build_receiver(SPECS["webhook"], {"acme-hook": "https://hooks.example.com/h"}, http)

    assert (
        "the secret entry 'acme-pagerduty' is not a PagerDuty routing key"
        in deliver(pagerduty, message()).detail
    )
    assert "the secret entry 'acme-hook-signing' is shorter than 16" in deliver(hook, message()).detail
    assert "the secret entry 'acme-hook-signing' is missing" in deliver(unsigned, message()).detail


ECHOES = {
    "400-echoing-the-request": Reply(400, "bad request to {target}: {body}"),
    "500-echoing-the-request": Reply(500, "upstream {target} failed for {body}"),
    "200-error-echoing-the-request": Reply(200, '{"ok": false, "error": "cannot post {target}"}'),
    "429-echoing-the-request": Reply(429, "{target} {body}", {"Retry-After": "3600"}),
    "302-to-the-same-url": Reply(302, "see {target}", {"Location": "{target}"}),
}


@pytest.mark.parametrize("case", sorted(ECHOES))
@pytest.mark.parametrize("kind", KINDS)
def test_no_url_routing_key_or_signing_secret_shows_whatever_the_receiver_echoes(
    kind: SimulatorKind,
    case: str,
    serve: Callable[[SimulatorKind], ReceiverSimulator],
    http: HttpClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    simulator = serve(kind).then(ECHOES[case], ECHOES[case])
    caplog.set_level(logging.DEBUG)

    delivery = deliver(receiver(simulator, http), message())

    assert delivery.outcome is not Outcome.ACCEPTED
    assert simulator.posts, "nothing was sent, so nothing was tested"
    if kind != "pagerduty" or "{body}" in str(ECHOES[case].body):  # PagerDuty's URL is no secret
        assert "***" in delivery.detail  # the echo arrived, and was redacted
    assert_no_key_leaked(delivery.detail, caplog.text, repr(delivery), keys=RECEIVER_SECRETS)


def test_what_a_run_must_redact_of_its_receivers_is_their_secrets_as_stored(
    serve: Callable[[SimulatorKind], ReceiverSimulator],
) -> None:
    hook, pagerduty = serve("webhook"), serve("pagerduty")
    secrets = {**secrets_for(hook), **secrets_for(pagerduty)}

    assert receiver_secrets(SPECS["webhook"], secrets) == (hook.path, WEBHOOK_SIGNING_SECRET)
    assert receiver_secrets(SPECS["pagerduty"], secrets) == (PAGERDUTY_ROUTING_KEY,)
    assert receiver_secrets(SPECS["slack"], secrets) == ()


@pytest.fixture
def topic(aws: str) -> Iterator[tuple[str, AlertInbox]]:
    """A client's own topic in another region than the function's, with an inbox subscribed."""
    receivers._sns_client.cache_clear()
    sns = boto3.client("sns", region_name="eu-west-1", endpoint_url=aws)
    sqs = boto3.client("sqs", region_name="eu-west-1", endpoint_url=aws)
    arn = sns.create_topic(Name="acme-alerts")["TopicArn"]
    queue = sqs.create_queue(QueueName="acme-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)
    yield arn, AlertInbox(sqs, queue)
    receivers._sns_client.cache_clear()


def test_a_clients_own_topic_gets_the_message_as_the_stacks_topic_does(
    topic: tuple[str, AlertInbox], http: HttpClient
) -> None:
    arn, inbox = topic
    target = build_receiver(ReceiverSpec(ReceiverKind.TOPIC, arn), {}, http)
    low = message()

    delivery = deliver(target, low)

    assert delivery.ok, delivery.detail
    assert delivery.ack
    assert delivery.detail == f"accepted (SNS MessageId {delivery.ack})"
    [received] = inbox.messages()
    assert received["Subject"] == low.subject
    assert received["Message"] == low.text
    assert received["MessageAttributes"]["client"]["Value"] == "acme"


def test_a_topic_that_does_not_exist_is_refused_and_one_that_hangs_is_retried_later(
    topic: tuple[str, AlertInbox], http: HttpClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    arn, _ = topic
    gone = build_receiver(ReceiverSpec(ReceiverKind.TOPIC, arn.replace("acme-alerts", "gone")), {}, http)

    refused = deliver(gone, message())

    assert refused.outcome is Outcome.REFUSED
    assert "NotFound" in refused.detail

    hole = BlackHole().start()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL", hole.url)
        receivers._sns_client.cache_clear()
        hanging = deliver(build_receiver(ReceiverSpec(ReceiverKind.TOPIC, arn), {}, http), message())
    finally:
        hole.stop()
    assert hanging.outcome is Outcome.RETRY_LATER
    assert "Read timeout" in hanging.detail or "timed out" in hanging.detail
