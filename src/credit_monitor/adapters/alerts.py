"""Notifications to the stack's SNS topic, one publish with a body per protocol."""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from credit_monitor.alerting import Notification
from credit_monitor.messages import RenderedMessage

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

_BOTO_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 4})


class AlertDeliveryError(RuntimeError):
    """Raised after metrics are flushed, so Lambda's Errors metric and retries see an unsent alert."""


class SnsNotifier:
    def __init__(self, topic_arn: str, client: SNSClient | None = None) -> None:
        self._topic_arn = topic_arn
        self._client: SNSClient = client or boto3.client("sns", config=_BOTO_CONFIG)

    def publish(self, note: Notification, message: RenderedMessage) -> str:
        try:
            response = self._client.publish(
                TopicArn=self._topic_arn,
                Subject=message.subject,
                Message=message.sns_message(),
                MessageStructure="json",
                MessageAttributes={
                    "provider": {"DataType": "String", "StringValue": note.provider},
                    "kind": {"DataType": "String", "StringValue": note.kind.value},
                    "level": {"DataType": "String", "StringValue": note.level.name},
                },
            )
        except (ClientError, BotoCoreError) as exc:
            raise AlertDeliveryError(
                f"could not publish the {note.provider} {note.kind.value} notification: {exc}"
            ) from exc
        return response["MessageId"]
