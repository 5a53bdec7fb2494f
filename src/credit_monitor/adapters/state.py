"""Alert state per provider in DynamoDB, changed only by conditional writes.

Two invocations can overlap (a retry and the next schedule). Each write is conditional on the
version it read; the loser re-reads, decides again on the winner's state, and so never sends the
notification the winner already claimed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from credit_monitor.alerting import Decision, Level, ProviderState
from credit_monitor.forecast import Sample

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_BOTO_CONFIG = Config(connect_timeout=2, read_timeout=3, retries={"mode": "standard", "max_attempts": 3})
WRITE_ATTEMPTS = 3


class StateError(RuntimeError):
    """The state table could not be read or written: decisions cannot be made safely."""


def encode(state: ProviderState) -> str:
    return json.dumps(
        {
            "level": state.level.name,
            "notified_at": state.notified_at.isoformat() if state.notified_at else None,
            "consecutive_failures": state.consecutive_failures,
            "failing_notified": state.failing_notified,
            "running_out_notified": state.running_out_notified,
            "samples": [[int(s.at.timestamp()), s.balance] for s in state.samples],
        },
        separators=(",", ":"),
    )


def decode(text: str, version: int) -> ProviderState:
    data: dict[str, Any] = json.loads(text)
    notified_at = data.get("notified_at")
    return ProviderState(
        level=Level[data["level"]],
        notified_at=datetime.fromisoformat(notified_at) if notified_at else None,
        consecutive_failures=int(data["consecutive_failures"]),
        failing_notified=bool(data["failing_notified"]),
        running_out_notified=bool(data.get("running_out_notified", False)),
        samples=tuple(
            Sample(datetime.fromtimestamp(at, UTC), float(balance)) for at, balance in data["samples"]
        ),
        version=version,
    )


class DynamoStateStore:
    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self._table = table_name
        self._client: DynamoDBClient = client or boto3.client("dynamodb", config=_BOTO_CONFIG)

    def load(self, providers: Iterable[str]) -> dict[str, ProviderState]:
        names = list(providers)
        try:
            response = self._client.batch_get_item(
                RequestItems={
                    self._table: {"Keys": [{"provider": {"S": n}} for n in names], "ConsistentRead": True}
                }
            )
        except (ClientError, BotoCoreError) as exc:
            raise StateError(f"could not read alert state from table {self._table!r}: {exc}") from exc
        found = {
            item["provider"]["S"]: decode(item["state"]["S"], int(item["version"]["N"]))
            for item in response["Responses"].get(self._table, [])
        }
        return {name: found.get(name, ProviderState()) for name in names}

    def _put(self, provider: str, state: ProviderState, expected_version: int) -> bool:
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    "provider": {"S": provider},
                    "version": {"N": str(state.version)},
                    "state": {"S": encode(state)},
                },
                ConditionExpression="attribute_not_exists(provider) OR version = :expected",
                ExpressionAttributeValues={":expected": {"N": str(expected_version)}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise StateError(f"could not write alert state for {provider}: {exc}") from exc
        except BotoCoreError as exc:
            raise StateError(f"could not write alert state for {provider}: {exc}") from exc
        return True

    def transition(
        self, provider: str, current: ProviderState, decide: Callable[[ProviderState], Decision]
    ) -> tuple[ProviderState, Decision]:
        """Decide and claim the result atomically. Returns (state before, decision as written)."""
        state = current
        for _ in range(WRITE_ATTEMPTS):
            decision = decide(state)
            written = replace(decision.state, version=state.version + 1)
            if self._put(provider, written, expected_version=state.version):
                return state, replace(decision, state=written)
            state = self.load([provider])[provider]  # someone else won: decide again on their state
        raise StateError(f"alert state for {provider} kept changing under us ({WRITE_ATTEMPTS} attempts)")

    def restore(self, provider: str, before: ProviderState, written: ProviderState) -> bool:
        """Undo a claimed transition whose notification could not be sent, so a retry sends it."""
        return self._put(
            provider, replace(before, version=written.version + 1), expected_version=written.version
        )
