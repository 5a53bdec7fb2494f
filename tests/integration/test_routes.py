"""Routes end to end, through the real handler: two clients, acme and globex, each with its route to
receivers of its own (loopback simulators of Slack, PagerDuty and our webhook, tests/support/
receivers.py), and the stack's topic hearing everything (moto's SNS, read from its SQS subscriber).
What each receiver got is counted from what its simulator received; every run's every output is
searched for every receiver's URL, routing key and signing secret."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from credit_monitor import app
from credit_monitor.budget import Budget
from credit_monitor.config import LAMBDA_TIMEOUT_SECONDS
from credit_monitor.outbox import MAX_ATTEMPTS
from credit_monitor.routes import PagerDutyRegion
from credit_monitor.service import DeliveryError
from tests.support.aws import state_text
from tests.support.blackhole import closed_port
from tests.support.harness import Invocation, SimClock, invoke_handler
from tests.support.keys import assert_no_key_leaked
from tests.support.killed_run import run_killed
from tests.support.receivers import TEXT, ReceiverSimulator
from tests.support.simulators import Reply
from tests.support.world import LocalWorld, local_world, seed_history

ACCOUNTS = """
[[account]]
id = "acme-lemlist-1"
provider = "lemlist"
url = "{lemlist}"
warning = 100
critical = 20
labels = { client = "acme" }

[[account]]
id = "acme-lemlist-2"
provider = "lemlist"
url = "{lemlist}"
warning = 100
critical = 20
labels = { client = "acme" }

[[account]]
id = "acme-fullenrich"
provider = "fullenrich"
url = "{fullenrich}"
warning = 1000
labels = { client = "acme" }

[[account]]
id = "globex-lemlist-1"
provider = "lemlist"
url = "{lemlist}"
warning = 100
critical = 20
labels = { client = "globex" }

[[account]]
id = "globex-lemlist-2"
provider = "lemlist"
url = "{lemlist}"
warning = 100
critical = 20
labels = { client = "globex" }

[[route]]
name = "acme"
match = { client = "acme" }
slack = "acme-slack"
pagerduty = "acme-pagerduty"

[[route]]
name = "globex"
match = { client = "globex" }
slack = "globex-slack"
webhook = "globex-hook"
webhook_signing = "globex-hook-signing"
"""
ACME = ("acme-lemlist-1", "acme-lemlist-2", "acme-fullenrich")
GLOBEX = ("globex-lemlist-1", "globex-lemlist-2")
RECEIVER_IDS = {
    "acme-slack": "acme/slack:acme-slack",
    "acme-pagerduty": "acme/pagerduty:acme-pagerduty",
    "globex-slack": "globex/slack:globex-slack",
    "globex-hook": "globex/webhook:globex-hook",
}
HOSTILE_TOKEN = "Hq9Zr3Wt6Yp2Kx8Vm4Nb"
"""In each hostile URL: what must never show, whatever the URL's form."""


@dataclass
class Routes:
    """The two clients' world, its simulated clock, and each run's outputs searched for secrets."""

    world: LocalWorld
    caplog: pytest.LogCaptureFixture
    clock: SimClock = field(default_factory=SimClock)

    def run(self, hours: float = 1, budget: Budget | None = None) -> Invocation:
        """A scheduled run `hours` after the last one; no receiver's secret in anything it left."""
        self.clock.advance(hours)
        self.caplog.clear()
        self.caplog.set_level(logging.DEBUG)
        invocation = invoke_handler(clock=self.clock, budget=budget)
        self.assert_nothing_leaked(invocation)
        return invocation

    def receiver(self, entry: str) -> ReceiverSimulator:
        return self.world.receivers[entry]

    def edit(self, old: str, new: str) -> None:
        """The accounts file with `old` written `new`, deployed: the next run is a new sandbox's."""
        path = Path(os.environ["ACCOUNTS_FILE"])
        text = path.read_text()
        assert old in text, old
        path.write_text(text.replace(old, new))
        app.runtime.cache_clear()

    def low(self, balance: float, *accounts: str) -> None:
        for account in accounts:
            simulator = self.world.fullenrich if "fullenrich" in account else self.world.lemlist
            simulator.balances[self.world.keys[account]] = balance

    def topic(self) -> list[tuple[str, str]]:
        """(kind, e-mail text) of each message the stack's topic delivered."""
        return [
            (m["MessageAttributes"]["kind"]["Value"], m["Message"]) for m in self.world.stack.inbox.messages()
        ]

    def posts(self) -> dict[str, int]:
        """Requests each receiver received (taken or not), and the stack topic's messages."""
        counts = {entry: len(self.receiver(entry).posts) for entry in RECEIVER_IDS}
        return counts | {"topic": len(self.world.stack.inbox.messages())}

    def assert_nothing_leaked(self, invocation: Invocation) -> None:
        """No form of a receiver's URL (what follows its host), credentials, routing key or signing
        secret in the logs (any level), the metrics, the handler's answer, a message to any receiver,
        or the state items."""
        world = self.world
        items = world.stack.dynamodb.scan(TableName=world.stack.table_name)["Items"]
        general = [
            invocation.output,
            self.caplog.text,
            repr(invocation.error),
            json.dumps(invocation.result),
            json.dumps(world.stack.inbox.messages()),
            *(state_text(item) for item in items),
            *(
                post.body.decode("utf-8", "replace")
                for simulator in world.receivers.values()
                if simulator.kind != "pagerduty"
                for post in simulator.posts
            ),
        ]
        secrets = receiver_secrets(world)
        assert_no_key_leaked(*general, keys=secrets)
        # An event carries its own routing key, and must carry no other secret.
        events = [
            post.body.decode("utf-8", "replace") for sim in world.pagerduty.values() for post in sim.posts
        ]
        routing_keys = {
            world.secret[entry] for entry, sim in world.receivers.items() if sim.kind == "pagerduty"
        }
        assert_no_key_leaked(*events, keys={k: v for k, v in secrets.items() if v not in routing_keys})


def receiver_secrets(world: LocalWorld) -> dict[str, str]:
    """What must never show of each receiver entry of the secret, as a leak check's keys: a URL's
    credentials and all that follows its host (its scheme and host are no secret), any other value
    whole."""
    found = {"the hostile URLs' token": HOSTILE_TOKEN}
    for entry, value in world.secret.items():
        if entry in world.keys:
            continue  # the accounts' keys hold their account's id, which every output names
        _, scheme, rest = value.partition("://")
        if not scheme:
            found[f"{entry}'s value"] = value
            continue
        netloc, slash, path = rest.partition("/")
        found[f"{entry}'s path"] = slash + path
        if "@" in netloc:
            found[f"{entry}'s credentials"] = netloc.rpartition("@")[0]
    return found


@contextmanager
def two_clients(
    caplog: pytest.LogCaptureFixture, accounts: str = ACCOUNTS, **secret: str
) -> Iterator[Routes]:
    """Every account at 5,000 (acme-fullenrich at 20,000), checked once already."""
    with local_world(
        "routes-fullenrich-key-3c9e1a",
        "routes-lemlist-key-7b2d4f",
        20_000,
        5000,
        accounts_file=accounts,
        secret=secret,
    ) as world:
        routes = Routes(world, caplog)
        first = routes.run(0)
        assert first.error is None
        yield routes


@pytest.fixture
def routes(caplog: pytest.LogCaptureFixture) -> Iterator[Routes]:
    with two_clients(caplog) as found:
        yield found


# --- what each receiver's messages are about ---------------------------------------------------


def slack_kind(payload: dict[str, Any]) -> str:
    """The notification's kind, from the footer every Slack message ends with."""
    return str(payload["blocks"][-1]["elements"][0]["text"]).rpartition("\u00b7 ")[2]


def slack(simulator: ReceiverSimulator) -> list[tuple[str, str]]:
    """(kind, the whole payload as text) of each message the channel took."""
    return [(slack_kind(payload), json.dumps(payload)) for payload in simulator.accepted]


def hooks(simulator: ReceiverSimulator) -> list[tuple[str, list[str]]]:
    """(kind, accounts) of each webhook delivery taken."""
    return [(body["kind"], body["accounts"]) for body in simulator.accepted]


def events(simulator: ReceiverSimulator) -> list[tuple[str, str, str | None]]:
    """(action, dedup_key, severity) of each PagerDuty event taken."""
    return [
        (event["event_action"], event["dedup_key"], event.get("payload", {}).get("severity"))
        for event in simulator.accepted
    ]


def names(text: str, accounts: tuple[str, ...]) -> set[str]:
    return {account for account in accounts if account in text}


# --- who hears what ------------------------------------------------------------------------------


def test_each_clients_channel_hears_only_its_own_accounts_and_the_stacks_topic_hears_them_all(
    routes: Routes,
) -> None:
    routes.low(42, *ACME[:2], *GLOBEX)

    run = routes.run()

    assert run.error is None
    [(kind, acme)] = slack(routes.receiver("acme-slack"))
    assert kind == "LOW"
    assert names(acme, ACME) == {"acme-lemlist-1", "acme-lemlist-2"}
    assert "globex" not in acme
    [(kind, globex)] = slack(routes.receiver("globex-slack"))
    assert kind == "LOW"
    assert names(globex, GLOBEX) == set(GLOBEX)
    assert "acme" not in globex
    assert hooks(routes.receiver("globex-hook")) == [("LOW", list(GLOBEX))]
    assert sorted(key for _, key, _ in events(routes.receiver("acme-pagerduty"))) == [
        "credit-monitor/acme-lemlist-1/balance",
        "credit-monitor/acme-lemlist-2/balance",
    ]
    topic = routes.topic()
    assert [kind for kind, _ in topic] == ["LOW", "LOW"]
    assert set().union(*(names(text, ACME + GLOBEX) for _, text in topic)) == {*ACME[:2], *GLOBEX}
    # Each notification once in the run's list, however many receivers took it.
    assert run.result is not None
    assert sorted(run.result["notifications"]) == sorted(f"{a}: LOW" for a in (*ACME[:2], *GLOBEX))


def test_an_outage_of_both_clients_is_one_message_per_route_and_its_end_reaches_the_same_receivers(
    routes: Routes,
) -> None:
    lemlist = routes.world.lemlist
    down = Reply(503, "Service Unavailable", {"Retry-After": "0", "Content-Type": "text/plain"})
    lemlist.answer = lambda method, path, headers: down  # type: ignore[method-assign]
    for _ in range(3):  # FAILURES_BEFORE_ALERT
        routes.run()
    del lemlist.answer
    back = routes.run()

    assert back.error is None
    acme, globex = slack(routes.receiver("acme-slack")), slack(routes.receiver("globex-slack"))
    assert [kind for kind, _ in acme] == [kind for kind, _ in globex] == ["CHECK FAILING", "CHECK RECOVERED"]
    for _, text in acme:
        assert names(text, ACME) == {"acme-lemlist-1", "acme-lemlist-2"}
        assert "globex" not in text
    for _, text in globex:
        assert names(text, GLOBEX) == set(GLOBEX)
        assert "acme" not in text
    assert "outage" in acme[0][1]
    assert "outage" in globex[0][1]
    assert hooks(routes.receiver("globex-hook")) == [
        ("CHECK FAILING", list(GLOBEX)),
        ("CHECK RECOVERED", list(GLOBEX)),
    ]
    pagerduty = routes.receiver("acme-pagerduty")
    assert sorted(events(pagerduty)) == sorted(
        [("trigger", f"credit-monitor/{a}/check", "error") for a in ACME[:2]]
        + [("resolve", f"credit-monitor/{a}/check", None) for a in ACME[:2]]
    )
    assert pagerduty.open_incidents() == []
    # The stack's topic hears the whole outage as one message, and its end as one.
    topic = routes.topic()
    assert [kind for kind, _ in topic] == ["CHECK FAILING", "CHECK RECOVERED"]
    assert all(names(text, ACME + GLOBEX) == {*ACME[:2], *GLOBEX} for _, text in topic)


def test_pagerduty_opens_one_alert_per_account_with_its_severity_by_level_and_resolves_it_on_recovery(
    routes: Routes,
) -> None:
    pagerduty = routes.receiver("acme-pagerduty")
    routes.low(42, "acme-lemlist-1")
    routes.run()
    routes.low(12, "acme-lemlist-1")  # below critical (20)
    routes.run()
    assert pagerduty.open_incidents() == ["credit-monitor/acme-lemlist-1/balance"]
    routes.low(5000, "acme-lemlist-1")
    routes.run()

    key = "credit-monitor/acme-lemlist-1/balance"
    assert events(pagerduty) == [
        ("trigger", key, "warning"),
        ("trigger", key, "critical"),
        ("resolve", key, None),
    ]
    assert pagerduty.open_incidents() == []
    assert [kind for kind, _ in slack(routes.receiver("acme-slack"))] == ["LOW", "LOW", "RECOVERED"]
    assert [kind for kind, _ in routes.topic()] == ["LOW", "LOW", "RECOVERED"]
    assert routes.receiver("globex-slack").posts == routes.receiver("globex-hook").posts == []


def test_running_out_and_spending_fast_are_cleared_at_pagerduty_and_webhooks_and_told_to_nobody_else(
    routes: Routes,
) -> None:
    """A month flat at 20,000, then 1,000 credits an hour: SPENDING FAST, then RUNNING OUT as the
    burn lasts (the spike ends then: CLEARED); a top-up ends RUNNING OUT (CLEARED)."""
    burning = ("acme-fullenrich", "globex-lemlist-1")
    for account in burning:
        seed_history(routes.world.stack, account, 20_000, 29, routes.clock.now)
    for hour in range(1, 5):
        routes.low(20_000 - 1000 * hour, *burning)
        routes.run()
    routes.low(1_000_000, *burning)  # a top-up
    routes.run()

    pagerduty = routes.receiver("acme-pagerduty")
    spike, balance = "credit-monitor/acme-fullenrich/spike", "credit-monitor/acme-fullenrich/balance"
    assert events(pagerduty) == [
        ("trigger", spike, "warning"),  # above every level, burning fast: warning
        ("trigger", balance, "warning"),  # above every level, running out: warning
        ("resolve", spike, None),
        ("resolve", balance, None),
    ]
    assert pagerduty.open_incidents() == []
    assert hooks(routes.receiver("globex-hook")) == [
        ("SPENDING FAST", ["globex-lemlist-1"]),
        ("RUNNING OUT", ["globex-lemlist-1"]),
        ("CLEARED", ["globex-lemlist-1"]),
        ("CLEARED", ["globex-lemlist-1"]),
    ]
    cleared = [body.get("clears") for body in routes.receiver("globex-hook").accepted[2:]]
    assert cleared == ["SPENDING FAST", "RUNNING OUT"]
    for entry in ("acme-slack", "globex-slack"):
        assert [kind for kind, _ in slack(routes.receiver(entry))] == ["SPENDING FAST", "RUNNING OUT"]
    assert sorted(kind for kind, _ in routes.topic()) == sorted(["SPENDING FAST", "RUNNING OUT"] * 2)


EU_ROUTE = """
[[account]]
id = "acme-lemlist-1"
provider = "lemlist"
url = "{lemlist}"
warning = 100
labels = { client = "acme" }

[[route]]
match = { client = "acme" }
pagerduty = "acme-pagerduty"
pagerduty_region = "eu"
"""


def test_a_route_in_pagerdutys_eu_region_sends_to_the_eu_endpoint_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with two_clients(caplog, EU_ROUTE) as routes:
        routes.low(42, "acme-lemlist-1")
        run = routes.run()
        routes.low(5000, "acme-lemlist-1")
        routes.run()
        eu, us = routes.world.pagerduty[PagerDutyRegion.EU], routes.world.pagerduty[PagerDutyRegion.US]

        assert run.error is None
        assert [action for action, _, _ in events(eu)] == ["trigger", "resolve"]
        assert us.posts == []
        assert eu.open_incidents() == []


# --- at least once, per receiver ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "replies", "said"),
    [
        ("acme-slack", [Reply(503, "service unavailable", TEXT)] * 2, "HTTP 503"),
        ("globex-slack", [Reply(429, "rate_limited", TEXT | {"Retry-After": "3600"})], "retry after 3600 s"),
        (
            "globex-slack",
            [Reply(200, {"ok": False, "error": "invalid_blocks"})],
            "the reply says invalid_blocks",
        ),
        (
            "acme-pagerduty",
            [Reply(429, {"status": "throttle event", "message": "Too many events"}, {"Retry-After": "60"})],
            "HTTP 429",
        ),
        ("globex-hook", [Reply(action="drop")] * 2, "not delivered"),
    ],
    ids=["slack-503", "slack-429", "slack-200-error", "pagerduty-429", "webhook-drop"],
)
def test_a_receiver_that_did_not_take_a_message_gets_it_at_the_next_run_and_no_other_receiver_again(
    entry: str, replies: list[Reply], said: str, routes: Routes
) -> None:
    routes.low(42, "acme-lemlist-1", "globex-lemlist-1")
    routes.receiver(entry).then(*replies)

    refused = routes.run()

    assert isinstance(refused.error, DeliveryError)
    assert RECEIVER_IDS[entry] in str(refused.error)
    assert said in str(refused.error)
    assert routes.receiver(entry).accepted == []
    for other in set(RECEIVER_IDS) - {entry}:
        assert len(routes.receiver(other).accepted) == 1, other
    assert len(routes.topic()) == 2
    assert (
        refused.summary()["acme-lemlist-1" if entry.startswith("acme") else "globex-lemlist-1"][
            "pending_notifications"
        ]
        == 1
    )
    before = routes.posts()
    routes.receiver(entry).script.clear()

    again = routes.run()
    quiet = routes.run()

    assert again.error is None
    assert quiet.error is None
    assert len(routes.receiver(entry).accepted) == 1
    assert routes.posts() == before | {entry: before[entry] + 1}, "the others got nothing again"
    assert all("pending_notifications" not in entry for entry in again.summary().values())


def test_the_stacks_topic_unreachable_gets_its_messages_at_the_next_run_and_the_routes_nothing_again(
    routes: Routes, monkeypatch: pytest.MonkeyPatch
) -> None:
    routes.low(42, "acme-lemlist-1", "globex-lemlist-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SNS", f"http://127.0.0.1:{closed_port()}")  # refuses connections
    app.runtime.cache_clear()  # a new sandbox, which reaches SNS there

    refused = routes.run()

    assert isinstance(refused.error, DeliveryError)
    assert "the stack's topic did not take (yet) the LOW message" in str(refused.error)
    assert routes.topic() == []
    assert {entry: len(routes.receiver(entry).accepted) for entry in RECEIVER_IDS} == dict.fromkeys(
        RECEIVER_IDS, 1
    )
    before = routes.posts()
    monkeypatch.delenv("AWS_ENDPOINT_URL_SNS")
    app.runtime.cache_clear()

    again = routes.run()

    assert again.error is None
    assert [kind for kind, _ in routes.topic()] == ["LOW", "LOW"]
    assert routes.posts() == before | {"topic": 2}, "the routes' receivers got nothing again"


def test_receivers_that_hang_drip_or_flood_fail_alone_and_the_run_ends_within_its_budget(
    routes: Routes,
) -> None:
    """A delivery ends by its own bound; the run, whatever its receivers do, by its budget's end."""
    routes.low(42, "acme-lemlist-1", "globex-lemlist-1")
    routes.receiver("acme-slack").then(*[Reply(action="hang")] * 2)
    routes.receiver("acme-pagerduty").then(
        *[Reply(202, {"status": "success", "pad": "x" * 200}, action="drip")] * 2
    )
    routes.receiver("globex-hook").then(*[Reply(200, action="flood", size=50 * 1024 * 1024)] * 2)
    budget = Budget.start(LAMBDA_TIMEOUT_SECONDS, 6)

    stuck = routes.run(budget=budget)

    assert budget.clock() < budget.run_end, "the run ended within its budget"
    assert isinstance(stuck.error, DeliveryError)
    said = {
        "acme-slack": "no answer before the read timeout",
        "acme-pagerduty": "the reply was still arriving at the deadline",
        "globex-hook": "the reply could not be read (reply larger than 64 KB)",
    }
    for entry, why in said.items():
        assert f"{RECEIVER_IDS[entry]} did not take (yet) the LOW message (not delivered: {why})" in str(
            stuck.error
        )
        assert routes.receiver(entry).accepted == []
    assert len(routes.receiver("globex-slack").accepted) == 1
    assert len(routes.topic()) == 2
    for entry in ("acme-slack", "acme-pagerduty", "globex-hook"):
        routes.receiver(entry).script.clear()

    again = routes.run()

    assert again.error is None
    assert {entry: len(routes.receiver(entry).accepted) for entry in RECEIVER_IDS} == dict.fromkeys(
        RECEIVER_IDS, 1
    )
    assert len(routes.topic()) == 2


def test_a_receiver_refusing_for_max_attempts_runs_is_given_up_visibly_and_not_told_of_the_recovery(
    routes: Routes,
) -> None:
    slack_channel = routes.receiver("acme-slack")
    slack_channel.answer = lambda post: Reply(404, "channel_not_found", TEXT)  # type: ignore[method-assign]
    routes.low(42, "acme-lemlist-1")

    runs = [routes.run(0.5) for _ in range(MAX_ATTEMPTS)]  # twelve hours: no reminder is due

    assert all(isinstance(run.error, DeliveryError) for run in runs)
    assert "acme/slack:acme-slack refused the LOW message" in str(runs[0].error)
    assert "channel_not_found" in str(runs[0].error)
    last = str(runs[-1].error)
    assert "acme-lemlist-1: gave up on the LOW notification" in last
    assert f"after {MAX_ATTEMPTS} refused attempts" in last
    assert "acme/slack:acme-slack never had it" in last
    assert len(slack_channel.posts) == MAX_ATTEMPTS
    pagerduty = routes.receiver("acme-pagerduty")
    assert events(pagerduty) == [("trigger", "credit-monitor/acme-lemlist-1/balance", "warning")]
    assert [kind for kind, _ in routes.topic()] == ["LOW"]
    assert "pending_notifications" not in runs[-1].summary()["acme-lemlist-1"]

    del slack_channel.answer  # the channel works again; the account recovers
    routes.low(5000, "acme-lemlist-1")
    recovered = routes.run()

    assert recovered.error is None
    assert slack_channel.accepted == [], "never told of the LOW: not told of its end"
    assert len(slack_channel.posts) == MAX_ATTEMPTS
    assert [action for action, _, _ in events(pagerduty)] == ["trigger", "resolve"]
    assert [kind for kind, _ in routes.topic()] == ["LOW", "RECOVERED"]


@pytest.mark.parametrize("entry", ["globex-hook", "acme-pagerduty"])
def test_a_kill_between_a_delivery_and_its_record_sends_again_to_that_receiver_alone_with_the_same_ids(
    entry: str, routes: Routes
) -> None:
    """The receiver refused once, the others took it and that was recorded; the next run delivers it
    to that receiver and is killed before recording it; the run after sends it there again."""
    target = routes.receiver(entry)
    routes.low(42, "acme-lemlist-1", "globex-lemlist-1")
    target.then(*[Reply(503, {"ok": False, "error": "unavailable"})] * 2)
    routes.run()
    assert target.accepted == []
    before = routes.posts()

    routes.clock.advance(1)
    run_killed(f"deliver:{RECEIVER_IDS[entry]}", 1, routes.clock)
    [by_killed_run] = target.accepted
    after = routes.run()

    assert after.error is None
    [again] = target.accepted[1:]
    assert routes.posts() == before | {entry: before[entry] + 2}, "the others got nothing again"
    if entry == "globex-hook":
        assert (again["id"], again["notification_ids"]) == (
            by_killed_run["id"],
            by_killed_run["notification_ids"],
        )
    else:
        assert again["dedup_key"] == by_killed_run["dedup_key"] == "credit-monitor/acme-lemlist-1/balance"
        ids = again["payload"]["custom_details"]["notification_ids"]
        assert ids == by_killed_run["payload"]["custom_details"]["notification_ids"]
    assert "pending_notifications" not in after.summary()["acme-lemlist-1"]


# --- a hostile URL in the secret ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "said"),
    [
        (
            f"http://127.0.0.1:{closed_port()}/services/T0HOSTILE/B0HOSTILE/{HOSTILE_TOKEN}",
            "is an http:// URL",
        ),
        (f"https://ops:{HOSTILE_TOKEN}@127.0.0.1:{closed_port()}/services/T0HOSTILE/B0", "has credentials"),
        (f"hooks.slack.com/services/T0HOSTILE/B0HOSTILE/{HOSTILE_TOKEN}", "is not an https:// URL"),
        (f"https://hooks.slack.com/services/T0HOSTILE {HOSTILE_TOKEN}", "is not a URL"),
        (f"file:///etc/{HOSTILE_TOKEN}", "is not an https:// URL"),
    ],
    ids=["http", "credentials", "no-scheme", "spaces", "file"],
)
def test_a_hostile_url_in_the_secret_fails_its_receiver_alone_clearly_and_is_never_repeated(
    url: str, said: str, caplog: pytest.LogCaptureFixture
) -> None:
    with two_clients(caplog, **{"globex-slack": url}) as routes:
        routes.low(42, "acme-lemlist-1", "globex-lemlist-1")
        run = routes.run()

        assert isinstance(run.error, DeliveryError)
        refused = (
            "globex/slack:globex-slack refused the LOW message (not sent: the secret entry 'globex-slack'"
        )
        assert f"{refused} {said}" in str(run.error)
        assert routes.receiver("globex-slack").posts == []
        for entry in ("acme-slack", "acme-pagerduty", "globex-hook"):
            assert len(routes.receiver(entry).accepted) == 1, entry
        assert len(routes.topic()) == 2


# --- the accounts file changed during an incident ------------------------------------------------


def test_an_account_moved_to_another_client_during_an_incident_has_it_ended_where_it_was_told(
    routes: Routes,
) -> None:
    """acme's channel and PagerDuty were told of the LOW: they hear its end, even though the account
    is globex's by then. globex's receivers were never told of it: they hear nothing of its end."""
    routes.low(42, "acme-lemlist-1")
    routes.run()
    routes.edit(  # acme-lemlist-1's labels: the account before acme-lemlist-2's
        'labels = { client = "acme" }\n\n[[account]]\nid = "acme-lemlist-2"',
        'labels = { client = "globex" }\n\n[[account]]\nid = "acme-lemlist-2"',
    )
    routes.low(5000, "acme-lemlist-1")
    recovered = routes.run()

    assert recovered.error is None
    assert [kind for kind, _ in slack(routes.receiver("acme-slack"))] == ["LOW", "RECOVERED"]
    assert routes.receiver("acme-pagerduty").open_incidents() == []
    assert routes.receiver("globex-slack").posts == [], "never told of the LOW: not of its end"
    assert routes.receiver("globex-hook").posts == []
    assert [kind for kind, _ in routes.topic()] == ["LOW", "RECOVERED"]


def test_a_stack_topic_told_of_an_incident_hears_its_end_after_stack_topic_changed(routes: Routes) -> None:
    routes.low(42, "acme-lemlist-1")
    routes.run()
    first = '[[account]]\nid = "acme-lemlist-1"'
    routes.edit(first, f'stack_topic = "unrouted"\n\n{first}')
    routes.low(5000, "acme-lemlist-1")
    routes.run()

    assert [kind for kind, _ in routes.topic()] == ["LOW", "RECOVERED"]
    assert [kind for kind, _ in slack(routes.receiver("acme-slack"))] == ["LOW", "RECOVERED"]


def test_a_route_renamed_during_an_incident_ends_it_at_its_receivers_once(routes: Routes) -> None:
    routes.low(42, "acme-lemlist-1")
    routes.run()
    routes.edit('name = "acme"', 'name = "acme-co"')
    routes.low(5000, "acme-lemlist-1")
    routes.run()

    assert [kind for kind, _ in slack(routes.receiver("acme-slack"))] == ["LOW", "RECOVERED"]
    assert routes.receiver("acme-pagerduty").open_incidents() == []


def test_pagerduty_pages_each_account_at_its_own_level_when_they_go_together(routes: Routes) -> None:
    """Two of acme's accounts low in one run, one message: the one below its critical level pages
    as critical, the other at warning; neither takes the other's severity."""
    routes.low(42, "acme-lemlist-1")  # below warning (100)
    routes.low(12, "acme-lemlist-2")  # below critical (20)
    routes.run()

    assert [kind for kind, _ in slack(routes.receiver("acme-slack"))] == ["LOW"], "one message"
    assert sorted(events(routes.receiver("acme-pagerduty"))) == [
        ("trigger", "credit-monitor/acme-lemlist-1/balance", "warning"),
        ("trigger", "credit-monitor/acme-lemlist-2/balance", "critical"),
    ]
