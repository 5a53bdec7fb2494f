"""CloudWatch metrics as EMF log lines through Powertools: no PutMetricData calls, no extra cost per call.

CloudWatch bills every metric name x dimension combination ($0.30 a month each), so the cost must not
grow with the number of accounts except where a user asks for it. Every run emits one document of
aggregates with no dimensions at all (seven metrics whatever the number of accounts, eight in a run
that gave notifications up: the alarms and the dashboard watch these), and one document per account
holding only its `CreditsRemaining`, for the accounts that keep `balance_metric` on. Failures,
levels and forecasts per account are in the summary log line and the notifications, where they
cost nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from credit_monitor.alerting import Level
from credit_monitor.service import AccountReport, RunReport

ACCOUNT_DIMENSION = "Account"

CREDITS_REMAINING = "CreditsRemaining"
"""Per account, dimension set exactly {Account}: the balance after a successful check."""

ACCOUNTS_CHECKED = "AccountsChecked"
ACCOUNTS_FAILING = "AccountsFailing"
ACCOUNTS_NOT_CHECKED = "AccountsNotChecked"
"""Not checked this run: waiting their turn on a shared key, or not started in time. Not failures."""
ACCOUNTS_LOW = "AccountsLow"
ACCOUNTS_CRITICAL = "AccountsCritical"
NOTIFICATIONS_PENDING = "NotificationsPending"
MIN_DAYS_UNTIL_EMPTY = "MinDaysUntilEmpty"
NOTIFICATIONS_DROPPED = "NotificationsDropped"
"""No dimensions, emitted only by a run that gave notifications up (each one also an ERROR line)."""
AGGREGATES = (
    ACCOUNTS_CHECKED,
    ACCOUNTS_FAILING,
    ACCOUNTS_NOT_CHECKED,
    ACCOUNTS_LOW,
    ACCOUNTS_CRITICAL,
    NOTIFICATIONS_PENDING,
    MIN_DAYS_UNTIL_EMPTY,
)
"""No dimensions: one metric each per stack, however many accounts there are."""


def emit_check_metrics(namespace: str, report: RunReport) -> None:
    """The aggregates document first (the heartbeat), then one `CreditsRemaining` document per account.

    `AccountsChecked` counts the accounts whose provider was asked this run; `AccountsNotChecked`
    the others (waiting their turn on a shared key, not started in time), which are not failures.
    A failed check emits no `CreditsRemaining` at all: never a zero, never a stale number, so a graph
    or a user's alarm on the balance cannot be fooled by an outage; it counts in `AccountsFailing`.
    `NotificationsPending` and `MinDaysUntilEmpty` are omitted when no account knows them: an
    unreadable state is not "0 pending", and "not enough history" is not a number of days.
    `NotificationsDropped` appears only in a run that gave notifications up.
    """
    _flush(namespace, {}, _aggregates(report.accounts))
    for item in report.accounts:
        balance = item.result.balance
        if balance is not None and item.account.balance_metric:
            _flush(
                namespace,
                {ACCOUNT_DIMENSION: item.account.id},
                [(CREDITS_REMAINING, MetricUnit.Count, balance.credits)],
            )


def level_of(item: AccountReport) -> Level | None:
    """The level the alert state decided; when the state was unreadable, the balance's own level
    (no recovery margin: there is no previous level to hold); None when nothing is known."""
    if item.level is not None:
        return item.level
    balance = item.result.balance
    return None if balance is None else item.account.levels.classify(balance.credits, Level.OK)


def _aggregates(items: list[AccountReport]) -> list[tuple[str, MetricUnit, float]]:
    levels = [level_of(item) for item in items]
    metrics: list[tuple[str, MetricUnit, float]] = [
        (ACCOUNTS_CHECKED, MetricUnit.Count, sum(item.result.checked for item in items)),
        (ACCOUNTS_FAILING, MetricUnit.Count, sum(item.result.failed for item in items)),
        (ACCOUNTS_NOT_CHECKED, MetricUnit.Count, sum(not item.result.checked for item in items)),
        (ACCOUNTS_LOW, MetricUnit.Count, sum(level in (Level.WARNING, Level.CRITICAL) for level in levels)),
        (ACCOUNTS_CRITICAL, MetricUnit.Count, sum(level is Level.CRITICAL for level in levels)),
    ]
    pending = [item.pending for item in items if item.pending is not None]
    if pending:
        metrics.append((NOTIFICATIONS_PENDING, MetricUnit.Count, sum(pending)))
    days = [  # a plan that lasts until its renewal is not running out
        item.forecast.days_left
        for item in items
        if item.forecast is not None
        and not item.lasts
        and item.forecast.days_left is not None
        and math.isfinite(item.forecast.days_left)
    ]
    if days:
        metrics.append((MIN_DAYS_UNTIL_EMPTY, MetricUnit.NoUnit, round(min(days), 2)))
    dropped = sum(item.dropped for item in items)
    if dropped:
        metrics.append((NOTIFICATIONS_DROPPED, MetricUnit.Count, dropped))
    return metrics


def _flush(
    namespace: str, dimensions: dict[str, str], metrics: Iterable[tuple[str, MetricUnit, float]]
) -> None:
    """One EMF document. service="" keeps Powertools from adding a `service` dimension: the alarms
    match exact dimension sets, and one more dimension would be one more billed metric."""
    document = EphemeralMetrics(namespace=namespace, service="")
    for name, value in dimensions.items():
        document.add_dimension(name=name, value=value)
    written = [(name, unit, number) for name, unit, number in metrics if math.isfinite(number)]
    if not written:
        return  # CloudWatch has no Infinity or NaN: a number that is not finite is left out, as unknown
    for name, unit, number in written:
        document.add_metric(name=name, unit=unit, value=number)
    document.flush_metrics()
