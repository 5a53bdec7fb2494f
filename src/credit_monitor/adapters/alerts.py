"""Low-balance alerts to the stack's SNS topic."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from credit_monitor.core import LowBalanceAlert, alert_body, alert_subject

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

_BOTO_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 4})


class AlertDeliveryError(RuntimeError):
    """Raised after metrics are flushed, so Lambda's Errors metric and retries see an unsent alert."""


class SnsAlertPublisher:
    def __init__(self, topic_arn: str, client: SNSClient | None = None) -> None:
        self._topic_arn = topic_arn
        self._client: SNSClient = client or boto3.client("sns", config=_BOTO_CONFIG)

    def publish(self, alert: LowBalanceAlert) -> str:
        try:
            response = self._client.publish(
                TopicArn=self._topic_arn,
                Subject=alert_subject(alert),
                Message=alert_body(alert),
                MessageAttributes={"provider": {"DataType": "String", "StringValue": alert.provider}},
            )
        except (ClientError, BotoCoreError) as exc:
            raise AlertDeliveryError(f"could not publish the {alert.provider} alert: {exc}") from exc
        return response["MessageId"]

    def publish_all(self, alerts: Iterable[LowBalanceAlert]) -> tuple[list[str], list[AlertDeliveryError]]:
        """Try every alert even when one fails; return what was sent and what was not."""
        sent: list[str] = []
        failed: list[AlertDeliveryError] = []
        for alert in alerts:
            try:
                self.publish(alert)
                sent.append(alert.provider)
            except AlertDeliveryError as exc:
                failed.append(exc)
        return sent, failed
