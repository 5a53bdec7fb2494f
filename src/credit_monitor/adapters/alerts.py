"""Notifications to the stack's SNS topic, one publish with a body per protocol."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, cast

from botocore.exceptions import BotoCoreError, ClientError

from credit_monitor.adapters import aws
from credit_monitor.adapters.aws import PUBLISH_CONFIG
from credit_monitor.messages import RenderedMessage
from credit_monitor.service import DeliveryError

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient


class AlertDeliveryError(DeliveryError):
    """SNS did not accept a notification; it stays pending, and the run fails after its metrics so
    Lambda's Errors metric and retry see it."""


class SnsNotifier:
    """The Notifier port on SNS. The `notification_id` attribute carries the id of every
    notification the message delivers (comma-separated): the same id on two deliveries is the one
    duplicate the outbox allows (see outbox.py), easy to drop."""

    def __init__(self, topic_arn: str, client: SNSClient | None = None) -> None:
        self._topic_arn = topic_arn
        self._given: SNSClient | None = client

    @functools.cached_property
    def _client(self) -> SNSClient:
        """Made at the first publish: most runs publish nothing, and a client costs a cold start
        about 30 ms of CPU (half a second at 128 MB)."""
        return self._given or cast("SNSClient", aws.client("sns", PUBLISH_CONFIG))

    def publish(self, message: RenderedMessage) -> str:
        try:
            response = self._client.publish(
                TopicArn=self._topic_arn,
                Subject=message.subject,
                Message=message.sns_message(),
                MessageStructure="json",
                MessageAttributes={
                    name: {"DataType": "String", "StringValue": value}
                    for name, value in message.attributes.items()
                },
            )
        except (ClientError, BotoCoreError) as exc:
            accounts = list(dict.fromkeys(account for account, _ in message.notifications))
            about = (
                ""  # a test alert is about no account
                if not accounts
                else f"{accounts[0]} "
                if len(accounts) == 1
                else f"{len(accounts)} {message.attributes['provider']} accounts' "
            )
            raise AlertDeliveryError(
                f"could not publish the {about}{message.attributes['kind']} notification: {exc}"
            ) from exc
        return response["MessageId"]
