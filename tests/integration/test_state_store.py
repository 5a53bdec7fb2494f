"""The state store's batched write (put_many) against moto server: all or nothing per call, each
write conditional on its own version, and the stored form the rest of the tools read."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.dynamodb import models as dynamodb_models

from credit_monitor.adapters.state import TRANSACT_LIMIT, DynamoStateStore, encode
from credit_monitor.alerting import AccountState
from credit_monitor.forecast import Sample
from credit_monitor.service import StateWrite
from tests.support.aws import Stack, state_text

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def state(balance: float, version: int) -> AccountState:
    return AccountState(samples=(Sample(T0, balance),), checked_at=T0, version=version)


def test_put_many_writes_each_batch_in_one_call_compressed(stack: Stack) -> None:
    store = DynamoStateStore(stack.table_name, client=stack.dynamodb)
    names = [f"account-{n:03d}" for n in range(TRANSACT_LIMIT * 2 + 50)]

    written = store.put_many([StateWrite(name, state(float(n), 1), 0) for n, name in enumerate(names)])

    assert written == dict.fromkeys(names, True)
    loaded = store.load(names)
    assert [loaded[name] for name in names] == [state(float(n), 1) for n in range(len(names))]
    item = stack.dynamodb.get_item(TableName=stack.table_name, Key={"provider": {"S": names[7]}})["Item"]
    assert "B" in item["state"], "stored compressed"
    assert json.loads(state_text(item)) == json.loads(encode(state(7.0, 1)))


def test_one_lost_race_leaves_its_whole_batch_unwritten_for_the_run_to_write_alone(stack: Stack) -> None:
    """A transaction is all or nothing: the batch with the account another writer moved on writes
    nothing and reports each account False; the other batch is written."""
    store = DynamoStateStore(stack.table_name, client=stack.dynamodb)
    names = [f"account-{n:03d}" for n in range(TRANSACT_LIMIT + 10)]
    assert all(store.put_many([StateWrite(name, state(1.0, 1), 0) for name in names]).values())
    assert store.put(names[3], state(2.0, 2), expected_version=1)  # the other writer

    written = store.put_many([StateWrite(name, state(3.0, 2), 1) for name in names])

    first, second = names[:TRANSACT_LIMIT], names[TRANSACT_LIMIT:]
    assert written == dict.fromkeys(first, False) | dict.fromkeys(second, True)
    loaded = store.load(names)
    assert loaded[names[3]] == state(2.0, 2), "the other writer's state stands"
    assert all(loaded[name] == state(1.0, 1) for name in first if name != names[3])
    assert all(loaded[name] == state(3.0, 2) for name in second)
    assert store.put(names[0], state(3.0, 2), expected_version=1), "alone, each is written as before"


def test_a_state_that_cannot_be_encoded_is_left_out_and_the_rest_written(stack: Stack) -> None:
    store = DynamoStateStore(stack.table_name, client=stack.dynamodb)
    bad = AccountState(samples=(Sample(T0, float("inf")),), version=1)

    written = store.put_many([StateWrite("bad", bad, 0), StateWrite("good", state(5.0, 1), 0)])

    assert written == {"bad": False, "good": True}
    assert store.load(["bad", "good"]) == {"bad": AccountState(), "good": state(5.0, 1)}


def test_an_item_written_as_text_by_an_older_release_is_read_and_rewritten_compressed(stack: Stack) -> None:
    store = DynamoStateStore(stack.table_name, client=stack.dynamodb)
    stack.dynamodb.put_item(
        TableName=stack.table_name,
        Item={"provider": {"S": "old"}, "version": {"N": "4"}, "state": {"S": encode(state(9.0, 4))}},
    )

    assert store.load(["old"]) == {"old": state(9.0, 4)}
    assert store.put_many([StateWrite("old", state(8.0, 5), 4)]) == {"old": True}
    item = stack.dynamodb.get_item(TableName=stack.table_name, Key={"provider": {"S": "old"}})["Item"]
    assert "B" in item["state"]
    assert store.load(["old"]) == {"old": state(8.0, 5)}


def test_moto_rolls_back_an_update_of_a_cancelled_transaction_as_dynamodb_does(stack: Stack) -> None:
    """tests/support/aws.py's quick_transactions keeps moto's all-or-nothing for every action, not
    only Puts: an Update applied before another action's condition failed is undone."""
    key = {"provider": {"S": "counted"}}
    stack.dynamodb.put_item(TableName=stack.table_name, Item=key | {"version": {"N": "1"}})

    with pytest.raises(ClientError) as cancelled:
        stack.dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": stack.table_name,
                        "Key": key,
                        "UpdateExpression": "SET version = version + :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
                {
                    "Put": {
                        "TableName": stack.table_name,
                        "Item": {"provider": {"S": "absent"}, "version": {"N": "1"}},
                        "ConditionExpression": "attribute_exists(provider)",
                    }
                },
            ]
        )

    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    reasons = [reason["Code"] for reason in cancelled.value.response["CancellationReasons"]]
    assert reasons == ["None", "ConditionalCheckFailed"]
    item = stack.dynamodb.get_item(TableName=stack.table_name, Key=key, ConsistentRead=True)["Item"]
    assert item["version"] == {"N": "1"}, "the cancelled transaction's Update was not rolled back"


def test_a_put_item_while_a_transaction_runs_is_never_undone_by_its_rollback(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DynamoDB refuses a PutItem on an item a transaction holds (TransactionConflict) or applies it
    after: a PutItem it acknowledged stays. moto's rollback restored the touched items over it, so
    a snooze racing a run's cancelled transaction could vanish in the tests."""
    key = {"provider": {"S": "raced"}}
    stack.dynamodb.put_item(TableName=stack.table_name, Item=key | {"version": {"N": "1"}})
    original_get_item = dynamodb_models.DynamoDBBackend.get_item
    outcome: list[str] = []
    put_done = threading.Event()

    def concurrent_put() -> None:
        try:
            stack.dynamodb.put_item(TableName=stack.table_name, Item=key | {"version": {"N": "7"}})
            outcome.append("ok")
        except ClientError as exc:
            outcome.append(exc.response["Error"]["Code"])
        put_done.set()

    def get_item(self: Any, table_name: str, keys: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        if keys.get("provider", {}).get("S") == "absent" and not outcome and not put_done.is_set():
            threading.Thread(target=concurrent_put, daemon=True).start()  # between two actions
            put_done.wait(1.0)
        return original_get_item(self, table_name, keys, *args, **kwargs)

    monkeypatch.setattr(dynamodb_models.DynamoDBBackend, "get_item", get_item)
    with pytest.raises(ClientError):
        stack.dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": stack.table_name, "Item": key | {"version": {"N": "2"}}}},
                {
                    "Put": {
                        "TableName": stack.table_name,
                        "Item": {"provider": {"S": "absent"}, "version": {"N": "1"}},
                        "ConditionExpression": "attribute_exists(provider)",
                    }
                },
            ]
        )
    assert put_done.wait(10)

    item = stack.dynamodb.get_item(TableName=stack.table_name, Key=key, ConsistentRead=True)["Item"]
    if outcome == ["ok"]:
        assert item["version"] == {"N": "7"}, "an acknowledged PutItem was undone"
    else:
        assert outcome == ["TransactionConflictException"]
        assert item["version"] == {"N": "1"}
