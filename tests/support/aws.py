"""AWS for tests and the demo: moto in server mode over HTTP, reached through AWS_ENDPOINT_URL."""

from __future__ import annotations

import base64
import copy
import functools
import json
import logging
import os
import tempfile
import threading
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

# moto's recorder reads its file location once, at import: keep recordings out of the work tree.
os.environ.setdefault(
    "MOTO_RECORDER_FILEPATH", str(Path(tempfile.mkdtemp(prefix="moto-")) / "recording.jsonl")
)

import boto3
import urllib3
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.server import ThreadedMotoServer

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

REGION = "us-east-1"
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


class _TableCopies:
    """Stands for the `copy` module in moto's DynamoDB models: a deepcopy made by a thread inside
    quick_transactions' wrapper returns the table itself; any other is a real deepcopy."""

    def __init__(self) -> None:
        self.inside = threading.local()

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        return value if getattr(self.inside, "transaction", False) else copy.deepcopy(value, memo)


_ONE_TRANSACTION = threading.RLock()
"""Held by a transaction, and by each single-item write: DynamoDB never lets a write land inside a
transaction (it refuses it, TransactionConflict), so a rollback never undoes an acknowledged write."""


def quick_transactions() -> None:
    """moto's TransactWriteItems deep-copies the whole table once per action, for its rollback: a
    100-action transaction on a 1,000-item table copies 100,000 items, seconds DynamoDB never takes,
    which made the function's batched state writes run out of time under moto alone. This keeps
    moto's code and semantics (each condition checked, all or nothing, the same errors) with a
    rollback of the items the transaction touches only, one transaction at a time, and no other
    write in the middle of one."""
    backend = dynamodb_models.DynamoDBBackend
    original = backend.transact_write_items
    if getattr(original, "quick", False):
        return
    copies = _TableCopies()
    setattr(dynamodb_models, "copy", copies)  # noqa: B010 (moto does not export it)

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        with _ONE_TRANSACTION:
            saved = []
            for action in transact_items:
                request = next(iter(action.values()))
                table = self.tables.get(request.get("TableName"))
                attributes = request.get("Item") or request.get("Key") or {}
                if table is None or table.range_key_attr or table.hash_key_attr not in attributes:
                    return original(self, transact_items)  # not this project's table: moto's way
                key = DynamoType(attributes[table.hash_key_attr])
                # a copy: moto's Update changes the stored item in place
                saved.append((table, key, copy.deepcopy(table.items.get(key))))
            copies.inside.transaction = True
            try:
                return original(self, transact_items)
            except BaseException:
                for table, key, item in reversed(saved):
                    if item is None:
                        table.items.pop(key, None)
                    else:
                        table.items[key] = item
                raise
            finally:
                copies.inside.transaction = False

    transact_write_items.quick = True  # type: ignore[attr-defined]
    backend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    for name in ("put_item", "update_item", "delete_item"):
        setattr(backend, name, _outside_transactions(getattr(backend, name)))


def _outside_transactions(write: Callable[..., Any]) -> Callable[..., Any]:
    """`write`, waiting for a transaction in progress to end (a transaction's own writes re-enter)."""

    @functools.wraps(write)
    def serialized(*args: Any, **kwargs: Any) -> Any:
        with _ONE_TRANSACTION:
            return write(*args, **kwargs)

    return serialized


class MotoServer:
    def __init__(self) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)

    def start(self) -> MotoServer:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log per AWS call
        quick_transactions()
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    @property
    def endpoint_url(self) -> str:
        host, port = self._server.get_host_and_port()
        return f"http://{host}:{port}"

    def reset(self) -> None:
        urllib3.request("POST", f"{self.endpoint_url}/moto-api/reset")

    @contextmanager
    def recording(self) -> Iterator[list[dict[str, Any]]]:
        """Record every AWS request made inside the block; the list is filled when it ends.

        Read leniently: requests recorded concurrently can share a line of moto's file."""
        recorded: list[dict[str, Any]] = []
        api = f"{self.endpoint_url}/moto-api/recorder"
        urllib3.request("POST", f"{api}/reset-recording")
        urllib3.request("POST", f"{api}/start-recording")
        try:
            yield recorded
        finally:
            urllib3.request("POST", f"{api}/stop-recording")
            text = urllib3.request("GET", f"{api}/download-recording").data.decode()
            decoder, position = json.JSONDecoder(), 0
            while (start := text.find("{", position)) >= 0:
                try:
                    entry, position = decoder.raw_decode(text, start)
                except json.JSONDecodeError:
                    position = start + 1
                    continue
                if isinstance(entry, dict) and "headers" in entry:
                    recorded.append(entry)

    @contextmanager
    def stand_in_function(self, name: str, *replies: str) -> Iterator[str]:
        """A Lambda function moto answers without running it (moto runs real code only in Docker,
        which this machine lacks): each Invoke returns the next of `replies` as its payload, in
        moto's own Lambda API. The function's name is yielded; moto runs code again after."""
        urllib3.request(
            "POST", f"{self.endpoint_url}/moto-api/config", json={"lambda": {"use_docker": False}}
        )
        try:
            kwargs: dict[str, Any] = {"endpoint_url": self.endpoint_url, "region_name": REGION}
            role = boto3.client("iam", **kwargs).create_role(
                RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"})
            )["Role"]["Arn"]
            boto3.client("lambda", **kwargs).create_function(
                FunctionName=name,
                Runtime="python3.13",
                Role=role,
                Handler="credit_monitor.app.lambda_handler",
                Code={"ZipFile": _EMPTY_ZIP},
            )
            urllib3.request(
                "POST",
                f"{self.endpoint_url}/moto-api/static/lambda-simple/response",
                json={"results": list(replies), "region": REGION},
            )
            yield name
        finally:
            urllib3.request(
                "POST", f"{self.endpoint_url}/moto-api/config", json={"lambda": {"use_docker": True}}
            )


_EMPTY_ZIP = base64.b64decode("UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==")
"""A zip archive with nothing in it: the stand-in function's code is never run."""


def state_text(item: dict[str, Any]) -> str:
    """An item's state as JSON text: the function writes it zlib-compressed (a binary attribute);
    older releases, and tests seeding legacy items, wrote the text itself."""
    attribute = item["state"]
    return zlib.decompress(attribute["B"]).decode() if "B" in attribute else str(attribute["S"])


def request_body(entry: dict[str, Any]) -> str:
    """The body of one request moto recorded, as sent (moto base64-encodes some)."""
    body = str(entry.get("body") or "")
    return base64.b64decode(body).decode() if entry.get("body_encoded") else body


def api_calls(recorded: list[dict[str, Any]], arns: dict[str, str]) -> set[tuple[str, str]]:
    """(IAM action, resource ARN) for each recorded request; `arns` maps names (a secret's) to ARNs."""
    calls = set()
    for entry in recorded:
        headers = {k.lower(): v for k, v in entry["headers"].items()}
        service = headers["authorization"].split("Credential=")[1].split("/")[3]
        body = request_body(entry)
        if "x-amz-target" in headers:
            operation = headers["x-amz-target"].split(".")[-1]
            params: dict[str, Any] = json.loads(body or "{}")
        else:
            params = {k: v[0] for k, v in parse_qs(body).items()}
            operation = params.pop("Action")
        if operation == "TransactWriteItems":
            # IAM authorizes each action of a transaction as its own operation (a Put as PutItem);
            # there is no TransactWriteItems permission to grant.
            for action in params.get("TransactItems", []):
                for kind, request in action.items():
                    table = request.get("TableName", "*")
                    calls.add((f"{service}:{kind}Item", arns.get(table, table)))
            continue
        tables = list(params.get("RequestItems", {}))  # batch operations name their tables here
        identifier = (
            params.get("SecretId")
            or params.get("TopicArn")
            or params.get("TableName")
            or (tables[0] if len(tables) == 1 else "*")
        )
        calls.add((f"{service}:{operation}", arns.get(identifier, identifier)))
    return calls


@dataclass
class AlertInbox:
    """An SQS queue subscribed to the alert topic: what an e-mail subscriber would receive."""

    sqs: SQSClient
    queue_url: str
    received: list[dict[str, Any]] = field(default_factory=list)

    def messages(self) -> list[dict[str, Any]]:
        """Everything delivered so far, as SNS envelopes (Subject, Message, MessageAttributes)."""
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            )
            if not batch.get("Messages"):
                return list(self.received)
            for message in batch["Messages"]:
                self.received.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


@dataclass
class Stack:
    """The resources the deployed stack would give the function."""

    secret_id: str
    secret_arn: str | None
    topic_arn: str
    inbox: AlertInbox
    secrets: SecretsManagerClient
    sns: SNSClient
    table_name: str
    table_arn: str
    dynamodb: DynamoDBClient

    def subscribe_inbox(self) -> None:
        """(Re)create the topic and its SQS subscription, e.g. after a test deleted the topic."""
        self.sns.create_topic(Name=self.topic_arn.rsplit(":", 1)[1])
        queue_arn = self.inbox.sqs.get_queue_attributes(
            QueueUrl=self.inbox.queue_url, AttributeNames=["QueueArn"]
        )
        self.sns.subscribe(
            TopicArn=self.topic_arn, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"]
        )


def create_state_table(dynamodb: DynamoDBClient, table_name: str) -> str:
    """The table exactly as template.yaml defines it, so test and infrastructure cannot drift."""
    from tests.support.cfn import load_template

    props = load_template()["Resources"]["AlertStateTable"]["Properties"]
    arn = dynamodb.create_table(
        TableName=table_name,
        BillingMode=props["BillingMode"],
        AttributeDefinitions=props["AttributeDefinitions"],
        KeySchema=props["KeySchema"],
    )["TableDescription"]["TableArn"]
    dynamodb.update_continuous_backups(
        TableName=table_name,
        PointInTimeRecoverySpecification={
            "PointInTimeRecoveryEnabled": props["PointInTimeRecoverySpecification"][
                "PointInTimeRecoveryEnabled"
            ]
        },
    )
    return arn


def create_stack(
    endpoint_url: str, secret_string: str | None, secret_id: str = "credit-monitor/api-keys"
) -> Stack:
    kwargs: dict[str, Any] = {"endpoint_url": endpoint_url, "region_name": REGION}
    secrets = boto3.client("secretsmanager", **kwargs)
    sns = boto3.client("sns", **kwargs)
    sqs = boto3.client("sqs", **kwargs)
    dynamodb = boto3.client("dynamodb", **kwargs)
    table_name = "credit-monitor-AlertStateTable"
    table_arn = create_state_table(dynamodb, table_name)
    secret_arn = None
    if secret_string is not None:
        secret_arn = secrets.create_secret(Name=secret_id, SecretString=secret_string)["ARN"]
    stack = Stack(
        secret_id,
        secret_arn,
        sns.create_topic(Name="credit-monitor-alerts")["TopicArn"],
        AlertInbox(sqs, sqs.create_queue(QueueName="alert-inbox")["QueueUrl"]),
        secrets,
        sns,
        table_name,
        table_arn,
        dynamodb,
    )
    stack.subscribe_inbox()  # its create_topic is a no-op here: SNS returns the same topic
    return stack
