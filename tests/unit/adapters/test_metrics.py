"""emit_check_metrics over hand-built reports: the exact EMF documents CloudWatch would receive."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from credit_monitor.adapters.metrics import emit_check_metrics
from credit_monitor.alerting import Level
from credit_monitor.config import Account
from credit_monitor.forecast import Forecast, ForecastStatus
from credit_monitor.model import Balance, CheckError, CheckResult, FailureKind
from credit_monitor.providers import PROVIDERS
from credit_monitor.service import AccountReport, RunReport, StateError

FULLENRICH, LEMLIST = PROVIDERS


def account(
    id: str, threshold: float = 100, *, critical: float | None = None, metric: bool = True
) -> Account:
    provider = FULLENRICH if "fullenrich" in id else LEMLIST
    return Account(
        id=id,
        provider=provider,
        api_url=provider.default_api_url,
        threshold=threshold,
        critical_threshold=critical,
        balance_metric=metric,
    )


def ok(item: Account, credits: float) -> CheckResult:
    return CheckResult(item.id, item.threshold, balance=Balance(credits))


def failed(item: Account) -> CheckResult:
    return CheckResult(item.id, item.threshold, error=CheckError(FailureKind.TIMEOUT, "no answer"))


def emitted(capsys: pytest.CaptureFixture[str], namespace: str, report: RunReport) -> list[dict[str, Any]]:
    """The EMF lines printed, each with its wall-clock Timestamp checked and removed."""
    emit_check_metrics(namespace, report)
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    for document in documents:
        assert isinstance(document["_aws"].pop("Timestamp"), int)
    return documents


def aggregates(metrics: dict[str, tuple[str, float]], namespace: str = "CreditMonitor") -> dict[str, Any]:
    return {
        "_aws": {
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace,
                    "Dimensions": [[]],
                    "Metrics": [{"Name": name, "Unit": unit} for name, (unit, _) in metrics.items()],
                }
            ]
        },
        **{name: [value] for name, (_, value) in metrics.items()},
    }


def balance(account_id: str, credits: float, namespace: str = "CreditMonitor") -> dict[str, Any]:
    return {
        "_aws": {
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace,
                    "Dimensions": [["Account"]],
                    "Metrics": [{"Name": "CreditsRemaining", "Unit": "Count"}],
                }
            ]
        },
        "Account": account_id,
        "CreditsRemaining": [credits],
    }


def test_failed_low_and_opted_out_accounts(capsys: pytest.CaptureFixture[str]) -> None:
    """acme-fullenrich fails (its balance metric is on: still no number); acme-lemlist is low and
    forecast to run out; beta-lemlist is low too but opted out of its own metric: counted, not emitted."""
    down, low, quiet = (
        account("acme-fullenrich", 1000),
        account("acme-lemlist"),
        account("beta-lemlist", metric=False),
    )
    report = RunReport(
        [
            AccountReport(down, failed(down), level=Level.OK, pending=0),
            AccountReport(
                low,
                ok(low, 42),
                level=Level.WARNING,
                forecast=Forecast(ForecastStatus.DEPLETING, burn_per_day=10, days_left=4.2049),
                pending=1,
            ),
            AccountReport(
                quiet,
                ok(quiet, 7),
                level=Level.CRITICAL,
                forecast=Forecast(ForecastStatus.NOT_ENOUGH_HISTORY),
                pending=0,
            ),
        ]
    )

    assert emitted(capsys, "CreditMonitor", report) == [
        aggregates(
            {
                "AccountsChecked": ("Count", 3.0),
                "AccountsFailing": ("Count", 1.0),
                "AccountsNotChecked": ("Count", 0.0),
                "AccountsLow": ("Count", 2.0),
                "AccountsCritical": ("Count", 1.0),
                "NotificationsPending": ("Count", 1.0),
                "MinDaysUntilEmpty": ("None", 4.2),
            }
        ),
        balance("acme-lemlist", 42.0),
    ]


def test_two_healthy_accounts_give_the_aggregates_and_one_balance_each(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fullenrich, lemlist = account("fullenrich", 1000), account("lemlist")
    report = RunReport(
        [
            AccountReport(fullenrich, ok(fullenrich, 5000), level=Level.OK, pending=0),
            AccountReport(lemlist, ok(lemlist, 800), level=Level.OK, pending=0),
        ]
    )

    assert emitted(capsys, "Elsewhere", report) == [
        aggregates(
            {
                "AccountsChecked": ("Count", 2.0),
                "AccountsFailing": ("Count", 0.0),
                "AccountsNotChecked": ("Count", 0.0),
                "AccountsLow": ("Count", 0.0),
                "AccountsCritical": ("Count", 0.0),
                "NotificationsPending": ("Count", 0.0),
            },
            namespace="Elsewhere",
        ),
        balance("fullenrich", 5000.0, namespace="Elsewhere"),
        balance("lemlist", 800.0, namespace="Elsewhere"),
    ]


def test_unreadable_state_classifies_from_the_balance_and_omits_what_it_cannot_know(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """No level, no pending count, no forecast: the state could not be read (the run then fails, so
    FunctionErrorsAlarm speaks). Lowness still counts, from the balance against the account's levels."""
    problem: list[Exception] = [StateError("alert state unreadable")]
    warning, critical = account("acme-lemlist", 100, critical=10), account("beta-lemlist", 100, critical=10)
    fine, down = account("gamma-lemlist", 100), account("delta-lemlist", 100)
    report = RunReport(
        [
            AccountReport(warning, ok(warning, 99.5), problems=problem),
            AccountReport(critical, ok(critical, 9), problems=problem),
            AccountReport(fine, ok(fine, 101), problems=problem),  # inside the recovery margin: OK here
            AccountReport(down, failed(down), problems=problem),  # unknown: neither low nor fine
        ]
    )

    [summary, *balances] = emitted(capsys, "CreditMonitor", report)

    assert summary == aggregates(
        {
            "AccountsChecked": ("Count", 4.0),
            "AccountsFailing": ("Count", 1.0),
            "AccountsNotChecked": ("Count", 0.0),
            "AccountsLow": ("Count", 2.0),
            "AccountsCritical": ("Count", 1.0),
        }
    )
    assert [(doc["Account"], doc["CreditsRemaining"]) for doc in balances] == [
        ("acme-lemlist", [99.5]),
        ("beta-lemlist", [9.0]),
        ("gamma-lemlist", [101.0]),
    ]


def test_the_decided_level_wins_over_the_balance(capsys: pytest.CaptureFixture[str]) -> None:
    """Above the warning level but inside the recovery margin the state still says WARNING; a failed
    check keeps the level it had. Both are what the notifications say, so both count as low."""
    margin, down = account("acme-lemlist", 100), account("beta-lemlist", 100)
    report = RunReport(
        [
            AccountReport(margin, ok(margin, 102), level=Level.WARNING, pending=0),
            AccountReport(down, failed(down), level=Level.CRITICAL, pending=2),
        ]
    )

    [summary, _] = emitted(capsys, "CreditMonitor", report)

    assert summary["AccountsLow"] == [2.0]
    assert summary["AccountsCritical"] == [1.0]
    assert summary["NotificationsPending"] == [2.0]


def test_500_accounts_half_opted_out_are_251_documents_and_still_seven_aggregates(
    capsys: pytest.CaptureFixture[str],
) -> None:
    accounts = [account(f"client-{n:03}-lemlist", metric=n % 2 == 0) for n in range(500)]
    report = RunReport(
        [
            AccountReport(
                item,
                ok(item, 1000 + n),
                level=Level.OK,
                forecast=Forecast(ForecastStatus.DEPLETING, burn_per_day=1, days_left=1000.0 + n),
                pending=0,
            )
            for n, item in enumerate(accounts)
        ]
    )

    [summary, *balances] = emitted(capsys, "CreditMonitor", report)

    assert [m["Name"] for m in summary["_aws"]["CloudWatchMetrics"][0]["Metrics"]] == [
        "AccountsChecked",
        "AccountsFailing",
        "AccountsNotChecked",
        "AccountsLow",
        "AccountsCritical",
        "NotificationsPending",
        "MinDaysUntilEmpty",
    ]
    assert summary["AccountsChecked"] == [500.0]
    assert summary["MinDaysUntilEmpty"] == [1000.0]
    assert len(balances) == 250  # the opted-out half emits nothing of its own
    assert {doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0][0] for doc in balances} == {"Account"}


def test_a_number_that_is_not_finite_is_never_emitted(capsys: pytest.CaptureFixture[str]) -> None:
    """Balance refuses Infinity, and a forecast of a balance near float's limit can still reach it:
    CloudWatch would get "Infinity". The number is left out, as an unknown one is."""
    huge, slow = account("huge-lemlist"), account("slow-lemlist")
    forced = ok(huge, 1.0)
    assert forced.balance is not None
    object.__setattr__(forced.balance, "credits", math.inf)  # past Balance's own check
    report = RunReport(
        [
            AccountReport(huge, forced, level=Level.OK, pending=0),
            AccountReport(
                slow,
                ok(slow, 1e308),
                level=Level.OK,
                forecast=Forecast(ForecastStatus.DEPLETING, burn_per_day=1e-10, days_left=math.inf),
                pending=0,
            ),
        ]
    )

    documents = emitted(capsys, "CreditMonitor", report)

    assert documents == [
        aggregates(
            {
                "AccountsChecked": ("Count", 2.0),
                "AccountsFailing": ("Count", 0.0),
                "AccountsNotChecked": ("Count", 0.0),
                "AccountsLow": ("Count", 0.0),
                "AccountsCritical": ("Count", 0.0),
                "NotificationsPending": ("Count", 0.0),
            }
        ),
        balance("slow-lemlist", 1e308),
    ]


def test_notifications_given_up_are_counted_in_the_run_that_dropped_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    poisoned = account("acme-lemlist")
    report = RunReport([AccountReport(poisoned, ok(poisoned, 500), level=Level.OK, pending=0, dropped=2)])

    document, _balance = emitted(capsys, "CreditMonitor", report)

    assert document["NotificationsDropped"] == [2.0]
    assert {"Name": "NotificationsDropped", "Unit": "Count"} in document["_aws"]["CloudWatchMetrics"][0][
        "Metrics"
    ]
