"""The README's first screen is true: its alert is what the code renders, and its links lead somewhere."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from credit_monitor.alerting import Kind, Level, Notification
from credit_monitor.config import Account
from credit_monitor.forecast import Forecast, ForecastStatus
from credit_monitor.messages import MessageContext, render
from credit_monitor.providers import lemlist
from tests.support.harness import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
DASHBOARD = (
    "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1"
    "#dashboards:name=credit-monitor-credits"
)


def test_the_alert_shown_is_the_one_the_code_renders() -> None:
    account = Account(
        "acme-lemlist",
        lemlist.PROVIDER,
        lemlist.PROVIDER.default_api_url,
        threshold=500,
        labels={"client": "acme"},
    )
    note = Notification(
        Kind.LOW,
        "acme-lemlist",
        Level.WARNING,
        balance=420,
        threshold=500,
        forecast=Forecast(ForecastStatus.DEPLETING, burn_per_day=120.0, days_left=3.5),
    )
    message = render(
        note,
        account,
        datetime(2026, 11, 2, 8, 0, tzinfo=UTC),
        MessageContext(ZoneInfo("Europe/Paris"), DASHBOARD),
    )

    assert f"```\nSubject: {message.subject}\n\n{message.text.rstrip()}\n```\n" in README


def test_every_relative_link_leads_to_a_file() -> None:
    targets = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README)
    local = [target for target in targets if "://" not in target]
    assert local, "the README links onward into docs/"
    assert [target for target in local if not (REPO / target).exists()] == []


def test_the_test_command_stays_discoverable() -> None:
    """.ci/run calls `make test`, "the README's test command"."""
    assert "make test" in README.split("## Development", 1)[1]
