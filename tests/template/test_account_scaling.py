"""The template does not grow with the accounts: 2 accounts or 500, the same resources, the same alarms
on the same dimensionless metrics, the same widgets. Adding an account costs at most its one
CreditsRemaining metric ($0.30 a month), never an alarm, a widget or a template edit."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from typing import Any

import pytest

from credit_monitor.adapters.metrics import emit_check_metrics
from credit_monitor.alerting import Level
from credit_monitor.config import Account
from credit_monitor.forecast import Forecast, ForecastStatus
from credit_monitor.model import Balance, CheckError, CheckResult, FailureKind
from credit_monitor.providers import PROVIDERS
from credit_monitor.service import AccountReport, RunReport
from tests.support.cfn import Deployment, load_template, translate
from tests.support.contract import (
    Metric,
    Search,
    alarm_drift,
    alarm_metrics,
    dashboard_drift,
    dashboard_metrics,
    emitted_metrics,
)

ACCOUNT_COUNTS = (2, 20, 200, 500)
PROVIDER_NAMES = sorted({p.name for p in PROVIDERS} | {p.display_name for p in PROVIDERS})


@pytest.fixture(scope="module")
def deployment() -> Deployment:
    return Deployment(translate(load_template()), refs={"CreditMonitorFunction": "fn"})


def accounts_file(count: int) -> list[Account]:
    """`count` accounts across the providers, as an accounts file would declare them."""
    return [
        Account(
            id=f"client-{n:03}-{provider.name}",
            provider=provider,
            api_url=provider.default_api_url,
            threshold=100,
            critical_threshold=10,
            balance_metric=not opted_out(n),
        )
        for n in range(count)
        for provider in [PROVIDERS[n % len(PROVIDERS)]]
    ]


def opted_out(n: int) -> bool:
    return n % 11 == 5


def failing(n: int) -> bool:
    return n % 7 == 3


def balances_of(count: int) -> int:
    """How many CreditsRemaining metrics a run of `count` emits: failed checks and opted-out accounts
    emit none."""
    return sum(not failing(n) and not opted_out(n) for n in range(count))


def emitted_by_a_run_of(count: int) -> set[Metric]:
    """What emit_check_metrics writes for `count` accounts: some failing, low, critical, forecast."""
    reports = []
    for n, account in enumerate(accounts_file(count)):
        if failing(n):
            error = CheckError(FailureKind.TIMEOUT, "no answer")
            reports.append(
                AccountReport(account, CheckResult(account.id, 100, error=error), Level.OK, pending=0)
            )
            continue
        credits = (5, 50, 5000)[n % 3]
        level = account.levels.classify(credits, Level.OK)
        outlook = Forecast(ForecastStatus.DEPLETING, burn_per_day=10, days_left=credits / 10)
        result = CheckResult(account.id, 100, balance=Balance(credits))
        reports.append(AccountReport(account, result, level, forecast=outlook, pending=n % 2))
    out = io.StringIO()
    with redirect_stdout(out):
        emit_check_metrics("CreditMonitor", RunReport(reports))
    return emitted_metrics(json.loads(line) for line in out.getvalue().splitlines())


def watched(deployment: Deployment) -> tuple[list[tuple[str, Metric]], list[Metric | Search | str]]:
    return alarm_metrics(deployment), [row.watched for row in dashboard_metrics(deployment)]


@pytest.mark.parametrize("count", ACCOUNT_COUNTS)
def test_alarms_and_widgets_watch_what_any_number_of_accounts_emits(
    deployment: Deployment, count: int
) -> None:
    emitted = emitted_by_a_run_of(count)

    assert alarm_drift(deployment, emitted) == []
    assert dashboard_drift(deployment, emitted, "CreditMonitor") == []
    per_account = {m for m in emitted if m.dimensions}
    assert {m.name for m in per_account} == {"CreditsRemaining"}
    assert len(per_account) == balances_of(count), "one billed metric per account at most"
    assert len(emitted - per_account) == 7, "the aggregates do not grow with the accounts"


def test_the_same_template_serves_2_and_500_accounts(deployment: Deployment) -> None:
    """Everything the stack bills for (alarms, composite, dashboard, its resources) is a constant."""
    template = deployment.template
    kinds = sorted(resource["Type"] for resource in template["Resources"].values())
    assert kinds.count("AWS::CloudWatch::Alarm") == 5
    assert kinds.count("AWS::CloudWatch::CompositeAlarm") == 1
    assert kinds.count("AWS::CloudWatch::Dashboard") == 1
    assert sorted(logical_id for logical_id, _ in alarm_metrics(deployment)) == [
        "CheckFailingAlarm",
        "FunctionErrorsAlarm",
        "LowBalanceAlarm",
        "RunningOutAlarm",
        "SilentAlarm",
    ]
    # Nothing in the template reads the accounts, so it is one fixed set of watchers; it covers any
    # number of them: fixed aggregates, and one SEARCH that takes in every account's balance.
    alarms, rows = watched(deployment)
    fixed = {
        m for m in [m for _, m in alarms] + rows if isinstance(m, Metric) and m.namespace == "CreditMonitor"
    }
    [search] = [row for row in rows if isinstance(row, Search)]
    assert all(metric.dimensions == () for metric in fixed)
    for count in ACCOUNT_COUNTS:
        emitted = emitted_by_a_run_of(count)
        assert fixed <= emitted
        assert len([metric for metric in emitted if search.matches(metric)]) == balances_of(count)


def test_no_resource_alarm_or_widget_names_an_account_or_a_provider(deployment: Deployment) -> None:
    """Per-provider parameters stay (they configure the zero-config accounts through the function's
    environment); what the stack creates and watches names neither a provider nor an account."""
    template = deployment.template
    for logical_id in template["Resources"]:
        assert not any(name.lower() in logical_id.lower() for name in PROVIDER_NAMES), logical_id
    alarms, rows = watched(deployment)
    for logical_id, metric in alarms:
        if metric.namespace == "CreditMonitor":
            assert metric.dimensions == (), f"alarm {logical_id} watches one slice: {metric}"
    for row in rows:
        assert not isinstance(row, str), row
        if isinstance(row, Metric) and row.namespace == "CreditMonitor":
            assert row.dimensions == (), f"a widget plots one account or provider: {row}"
        if isinstance(row, Search):
            assert row.pinned == (), f"a SEARCH widget is pinned to one account: {row}"
    text = json.dumps(
        [
            [deployment.resolve(r["Properties"]) for r in template["Resources"].values() if _watches(r)],
        ]
    ).lower()
    for name in PROVIDER_NAMES:
        assert name.lower() not in text, f"an alarm or the dashboard names {name}"


def _watches(resource: dict[str, Any]) -> bool:
    return resource["Type"] in {
        "AWS::CloudWatch::Alarm",
        "AWS::CloudWatch::CompositeAlarm",
        "AWS::CloudWatch::Dashboard",
    }
