"""What an SNS topic receiver makes of each way a publish fails, and a receiver built from a wrong
secret entry, without any socket (the receivers over HTTP are tested against their simulators)."""

from __future__ import annotations

import pytest
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from credit_monitor.adapters.receivers import TopicReceiver, _sns_outcome, build_receiver
from credit_monitor.delivery import Outcome
from credit_monitor.providers import HttpReply, Request, RetryPolicy
from credit_monitor.routes import PagerDutyRegion, ReceiverKind, ReceiverSpec
from tests.support.notices import message


def client_error(code: str, status: int) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": "m"},
            "ResponseMetadata": {
                "HTTPStatusCode": status,
                "HTTPHeaders": {},
                "HostId": "",
                "RequestId": "r",
                "RetryAttempts": 0,
            },
        },
        "Publish",
    )


@pytest.mark.parametrize(
    ("cause", "outcome"),
    [
        (client_error("NotFound", 404), Outcome.REFUSED),
        (client_error("AuthorizationError", 403), Outcome.REFUSED),
        (client_error("InvalidParameter", 400), Outcome.REFUSED),
        (client_error("KMSAccessDenied", 400), Outcome.REFUSED),
        (client_error("Throttled", 429), Outcome.RETRY_LATER),
        (client_error("KMSThrottling", 400), Outcome.RETRY_LATER),
        (client_error("InternalError", 500), Outcome.RETRY_LATER),
        (EndpointConnectionError(endpoint_url="https://sns.eu-west-1.amazonaws.com"), Outcome.RETRY_LATER),
        (BotoCoreError(), Outcome.RETRY_LATER),
    ],
)
def test_a_failed_publish_is_refused_or_retried_later_as_http_receivers_are(
    cause: BaseException, outcome: Outcome
) -> None:
    assert _sns_outcome(cause, TopicReceiver.RETRY_CODES) is outcome


class RecordingHttp:
    def __init__(self) -> None:
        self.requests: list[Request] = []

    def send(self, request: Request, policy: RetryPolicy, deadline: float, pace: object = None) -> HttpReply:
        self.requests.append(request)
        return HttpReply(202, b"", None)


def test_a_misconfigured_receiver_sends_nothing_and_says_which_entry() -> None:
    http = RecordingHttp()
    spec = ReceiverSpec(ReceiverKind.PAGERDUTY, "acme-pagerduty", region=PagerDutyRegion.EU)

    delivery = build_receiver(spec, {"acme-pagerduty": "changeme"}, http).deliver(message(), 0.0)

    assert delivery.outcome is Outcome.REFUSED
    assert delivery.detail == (
        "not sent: the secret entry 'acme-pagerduty' is a placeholder, not a routing key; store the"
        " integration key PagerDuty shows"
    )
    assert http.requests == []
