"""Accounts through the real handler: many per provider, routing by label, and an upgrade from the
previous release's state table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from credit_monitor import app
from credit_monitor.adapters.state import decode
from tests.support.aws import Stack, state_text
from tests.support.harness import Invoke, SimClock
from tests.support.keys import FULLENRICH_KEY, LEMLIST_KEY
from tests.support.simulators import ApiSimulator

ACCOUNTS = """
[[account]]
id = "acme-lemlist"
provider = "lemlist"
warning = 500
url = "{lemlist}"
labels = {{ client = "acme" }}

[[account]]
id = "globex-lemlist"
provider = "lemlist"
warning = 100
url = "{lemlist}"
labels = {{ client = "globex" }}

[[account]]
id = "acme-fullenrich"
provider = "fullenrich"
warning = 6000
url = "{fullenrich}"
labels = {{ client = "acme" }}
"""
KEYS = {
    "acme-lemlist": "lm-acme-0001",
    "globex-lemlist": "lm-globex-0002",
    "acme-fullenrich": "fe-acme-0003",
    "fullenrich": FULLENRICH_KEY,  # the zero-config pair, for the upgrade test
    "lemlist": LEMLIST_KEY,
} | {f"{client}-{n}": f"lm-{client}-{n}-key" for client in ("acme", "globex") for n in range(5)}
TEN_ACCOUNTS = "".join(
    f'[[account]]\nid = "{client}-{n}"\nprovider = "lemlist"\nwarning = 100\nurl = "{{lemlist}}"\n'
    f'labels = {{{{ client = "{client}" }}}}\n\n'
    for client in ("acme", "globex")
    for n in range(5)
)


@pytest.fixture
def secret_string() -> str:
    return json.dumps(KEYS)


@pytest.fixture
def three_accounts(
    function_env: dict[str, str],
    fullenrich_api: ApiSimulator,
    lemlist_api: ApiSimulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "accounts.toml"
    path.write_text(ACCOUNTS.format(lemlist=lemlist_api.base_url, fullenrich=fullenrich_api.base_url))
    monkeypatch.setenv("ACCOUNTS_FILE", str(path))
    lemlist_api.valid_keys = {KEYS["acme-lemlist"], KEYS["globex-lemlist"]}
    fullenrich_api.valid_keys = {KEYS["acme-fullenrich"]}
    app.runtime.cache_clear()


@pytest.fixture
def ten_accounts(
    function_env: dict[str, str], lemlist_api: ApiSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Five lemlist accounts of client acme, five of client globex."""
    path = tmp_path / "accounts.toml"
    path.write_text(TEN_ACCOUNTS.format(lemlist=lemlist_api.base_url))
    monkeypatch.setenv("ACCOUNTS_FILE", str(path))
    lemlist_api.valid_keys = {key for name, key in KEYS.items() if name.startswith(("acme-", "globex-"))}
    app.runtime.cache_clear()


def client_queue(stack: Stack, client: str) -> str:
    """An SQS queue subscribed with the filter policy docs/accounts.md shows for one client."""
    url = stack.inbox.sqs.create_queue(QueueName=f"alerts-{client}")["QueueUrl"]
    arn = stack.inbox.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    stack.sns.subscribe(
        TopicArn=stack.topic_arn,
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"FilterPolicy": json.dumps({"client": [client]}), "RawMessageDelivery": "false"},
    )
    return url


def received(stack: Stack, queue_url: str) -> list[dict[str, Any]]:
    messages = stack.inbox.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


def test_each_account_is_checked_with_its_own_key_and_threshold_and_alerts_once(
    three_accounts: None, invoke: Invoke, stack: Stack, lemlist_api: ApiSimulator
) -> None:
    lemlist_api.balance = 300  # below acme's 500, above globex's 100; fullenrich's 5000 < 6000

    run = invoke(SimClock())

    assert run.error is None
    assert sorted(run.summary()) == ["acme-fullenrich", "acme-lemlist", "globex-lemlist"]
    alerts = sorted(
        (m["MessageAttributes"]["account"]["Value"], m["MessageAttributes"]["kind"]["Value"])
        for m in stack.inbox.messages()
    )
    assert alerts == [("acme-fullenrich", "LOW"), ("acme-lemlist", "LOW")]
    assert run.metric("CreditsRemaining") == {
        "acme-lemlist": 300,
        "globex-lemlist": 300,
        "acme-fullenrich": 5000,
    }


def test_a_subscription_filter_policy_sends_one_clients_accounts_to_its_own_queue(
    three_accounts: None, invoke: Invoke, stack: Stack, lemlist_api: ApiSimulator
) -> None:
    acme, globex = client_queue(stack, "acme"), client_queue(stack, "globex")
    lemlist_api.balance = 50  # every account is low now

    invoke(SimClock())

    acme_got = sorted(m["MessageAttributes"]["account"]["Value"] for m in received(stack, acme))
    globex_got = [m["MessageAttributes"]["account"]["Value"] for m in received(stack, globex)]
    assert acme_got == ["acme-fullenrich", "acme-lemlist"]
    assert globex_got == ["globex-lemlist"]


def test_ten_accounts_low_in_one_run_in_two_routing_groups_are_two_messages_one_per_client_queue(
    ten_accounts: None, invoke: Invoke, stack: Stack, lemlist_api: ApiSimulator
) -> None:
    acme, globex = client_queue(stack, "acme"), client_queue(stack, "globex")
    lemlist_api.balance = 50  # all ten cross their warning level (100) in this run

    run = invoke(SimClock())

    assert run.error is None
    everything = stack.inbox.messages()
    assert len(everything) == 2
    acme_got, globex_got = received(stack, acme), received(stack, globex)
    assert len(acme_got) == len(globex_got) == 1
    for [message], client in ((acme_got, "acme"), (globex_got, "globex")):
        attributes = {name: value["Value"] for name, value in message["MessageAttributes"].items()}
        assert attributes["client"] == client
        assert (attributes["provider"], attributes["kind"], attributes["level"]) == (
            "lemlist",
            "LOW",
            "WARNING",
        )
        assert "account" not in attributes  # not what the group has in common
        assert len(attributes["notification_id"].split(",")) == 5
        assert message["Subject"] == "[credit-monitor] 5 lemlist accounts low, lowest 50 left"
        listed = [line for line in message["Message"].splitlines() if line.startswith("  - ")]
        assert [line.split(":")[0] for line in listed[:5]] == [f"  - {client}-{n}" for n in range(5)]
        assert all("50 credits, warning (below 100), top up at https://" in line for line in listed[:5])


V1_WARNING_ITEM = (
    '{{"level":"WARNING","notified_at":"{at}","consecutive_failures":0,'
    '"failing_notified":false,"running_out_notified":false,"samples":[[{ts},90.0]]}}'
)


def test_an_upgraded_deployment_keeps_its_state_and_does_not_alert_again(
    invoke: Invoke, stack: Stack, lemlist_api: ApiSimulator
) -> None:
    """The previous release left lemlist at WARNING (its LOW sent an hour ago). After the upgrade,
    with no accounts file, the same item is read under the same key: no second LOW."""
    clock = SimClock()
    an_hour_ago = clock.now.replace(hour=clock.now.hour - 1)
    stack.dynamodb.put_item(
        TableName=stack.table_name,
        Item={
            "provider": {"S": "lemlist"},
            "version": {"N": "12"},
            "state": {
                "S": V1_WARNING_ITEM.format(at=an_hour_ago.isoformat(), ts=int(an_hour_ago.timestamp()))
            },
        },
    )
    lemlist_api.balance = 80

    run = invoke(clock)

    assert run.error is None
    assert stack.inbox.messages() == []
    assert run.summary()["lemlist"]["level"] == "WARNING"
    item = stack.dynamodb.get_item(TableName=stack.table_name, Key={"provider": {"S": "lemlist"}})["Item"]
    assert item["version"]["N"] == "13"
    assert [sample.balance for sample in decode(state_text(item), 13).samples] == [90.0, 80.0]
