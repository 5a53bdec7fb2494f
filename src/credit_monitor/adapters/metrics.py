"""CloudWatch metrics as EMF log lines through Powertools: no PutMetricData calls, no extra cost per call."""

from __future__ import annotations

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from credit_monitor.service import RunReport

PROVIDER_DIMENSION = "Provider"
CREDITS_REMAINING = "CreditsRemaining"
CHECK_FAILED = "CheckFailed"
DAYS_UNTIL_EMPTY = "DaysUntilEmpty"
NOTIFICATIONS_PENDING = "NotificationsPending"


def emit_check_metrics(namespace: str, report: RunReport) -> None:
    """One EMF document per provider, dimension set exactly {Provider} so alarms can match it.

    A failed check emits CheckFailed=1 and no CreditsRemaining at all: never a zero, never a
    stale number, so an alarm on the balance cannot be fooled by an outage. DaysUntilEmpty is
    emitted only when the forecast defines it: "not enough history" is not a number.
    NotificationsPending counts what SNS has not accepted yet (emitted when the state is known).
    """
    for item in report.accounts:
        result = item.result
        # service="" keeps Powertools from adding a `service` dimension the alarms would not match.
        metrics = EphemeralMetrics(namespace=namespace, service="")
        metrics.add_dimension(name=PROVIDER_DIMENSION, value=result.account)
        metrics.add_metric(name=CHECK_FAILED, unit=MetricUnit.Count, value=1 if result.failed else 0)
        if result.balance is not None:
            metrics.add_metric(name=CREDITS_REMAINING, unit=MetricUnit.Count, value=result.balance.credits)
        outlook = item.forecast
        if outlook is not None and outlook.days_left is not None:
            metrics.add_metric(
                name=DAYS_UNTIL_EMPTY, unit=MetricUnit.NoUnit, value=round(outlook.days_left, 2)
            )
        if item.pending is not None:
            metrics.add_metric(name=NOTIFICATIONS_PENDING, unit=MetricUnit.Count, value=item.pending)
        metrics.flush_metrics()
