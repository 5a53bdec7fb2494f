"""The handler's output as CloudWatch Logs receives it: bytes, line by line."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import replace
from datetime import UTC, datetime

from credit_monitor import app
from credit_monitor.alerting import AlertPolicy
from credit_monitor.budget import Budget
from credit_monitor.config import Account, CheckSettings, LambdaConfig
from credit_monitor.log_parts import PART_BYTES
from credit_monitor.providers import lemlist
from credit_monitor.routes import TOPIC, PagerDutyRegion, ReceiverKind, ReceiverSpec, Route, Routing
from credit_monitor.sizing import ACCOUNTS_PER_SIZE
from tests.support.fakes import FakeHttp, MemoryNotifier, MemoryReceivers, MemoryState, ports

CLOUDWATCH_EVENT_BYTES = 256 * 1024
T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def fleet_runtime(count: int) -> app.Runtime:
    """`count` lemlist accounts whose keys are not in the secret: each check fails with a reason,
    the longest summary entry an account can have."""
    accounts = tuple(
        Account(f"lemlist-{n:04d}", lemlist.PROVIDER, "https://lemlist.test", threshold=100)
        for n in range(count)
    )
    config = LambdaConfig(
        checks=CheckSettings(accounts, deadline_seconds=5),
        api_keys_secret_id="credit-monitor/api-keys",
        alert_topic_arn="arn:aws:sns:us-east-1:123456789012:alerts",
        state_table_name="table",
        alert_policy=AlertPolicy(),
        metrics_namespace="CreditMonitor",
        service_name="credit-monitor",
    )
    return app.Runtime(config, ports(FakeHttp(lemlist=50), MemoryState(), MemoryNotifier()), clock=lambda: T0)


@contextmanager
def logging_to(stream: io.TextIOWrapper) -> Iterator[None]:
    """The function's log lines go to `stream` for the block. The handler's stream is swapped, not
    set with setStream, which flushes the old one: a pytest run in the same process (mutmut runs
    the suite twice) leaves the handler holding the previous run's closed capture."""
    handler = app.logger.registered_handler
    previous = handler.stream  # type: ignore[attr-defined]
    handler.stream = stream  # type: ignore[attr-defined]
    try:
        yield
    finally:
        handler.stream = previous  # type: ignore[attr-defined]


def test_every_line_of_a_thousand_account_run_fits_a_cloudwatch_event_and_the_summary_loses_nothing() -> None:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="utf-8", errors="strict", write_through=True)
    with logging_to(stream), redirect_stdout(stream):
        result = app.handle(fleet_runtime(1000))

    lines = raw.getvalue().splitlines()
    assert max(len(line) for line in lines) < CLOUDWATCH_EVENT_BYTES
    summaries = [doc for doc in map(json.loads, lines) if doc.get("message") == "credit check finished"]
    assert all(len(json.dumps(doc["accounts"]).encode()) <= PART_BYTES for doc in summaries)
    assert len(summaries) > 1
    assert [(doc["part"], doc["parts"]) for doc in summaries] == [
        (n, len(summaries)) for n in range(1, len(summaries) + 1)
    ]
    merged = {name: entry for doc in summaries for name, entry in doc["accounts"].items()}
    assert list(merged) == [f"lemlist-{n:04d}" for n in range(1000)]
    assert merged == result["accounts"]


def test_the_cold_start_warns_when_the_accounts_are_more_than_the_memory_size_handles() -> None:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="utf-8", errors="strict", write_through=True)
    checks = fleet_runtime(ACCOUNTS_PER_SIZE[128] + 1).config.checks
    with logging_to(stream):
        app.warn_if_undersized(replace(checks, memory_mb=128))
        app.warn_if_undersized(replace(checks, memory_mb=1024))
        app.warn_if_undersized(checks)  # outside Lambda: no size, no warning

    [line] = [json.loads(line) for line in raw.getvalue().splitlines()]
    assert line["level"] == "WARNING"
    assert line["message"].startswith(f"{ACCOUNTS_PER_SIZE[128] + 1} accounts is more than the")
    assert "set the MemorySize parameter to 256 or more" in line["message"]


def test_a_test_alert_names_each_receiver_as_people_call_it_and_never_by_a_secret() -> None:
    rt = fleet_runtime(1)
    acme = Route(
        "acme",
        {"client": "acme"},
        (
            ReceiverSpec(ReceiverKind.SLACK, "acme-slack"),
            ReceiverSpec(ReceiverKind.PAGERDUTY, "acme-pd", region=PagerDutyRegion.EU),
        ),
    )
    rt = replace(rt, config=replace(rt.config, routing=Routing((acme,))))

    assert app.receiver_name(rt, TOPIC) == "SNS topic alerts"
    assert app.receiver_name(rt, "acme/slack:acme-slack") == "route acme: slack acme-slack"
    assert app.receiver_name(rt, "acme/pagerduty:acme-pd") == "route acme: pagerduty acme-pd (EU region)"


def test_a_test_alert_reads_the_receivers_entries_afresh_and_a_run_from_the_cache() -> None:
    """An entry just fixed with `keys set` is what the test uses, even in a warm sandbox."""
    low = Account("lemlist", lemlist.PROVIDER, "https://lemlist.test", threshold=100)  # FakeKeys has its key
    rt = fleet_runtime(1)
    rt = replace(rt, config=replace(rt.config, checks=CheckSettings((low,), deadline_seconds=5)))
    source = rt.ports.receivers
    assert isinstance(source, MemoryReceivers)

    app.handle_test_alert(rt, Budget.start(30, 5))
    assert source.fresh == [True]
    app.handle(rt)  # 50 left, below 100: a LOW to deliver
    assert source.fresh == [True, False]


def test_a_test_alert_finds_and_names_the_receivers_of_a_route_whose_name_holds_a_slash() -> None:
    """A route named by its match (team = "eu/sales" gives "team=eu/sales") is found by that name."""
    rt = fleet_runtime(1)
    route = Route("team=eu/sales", {"team": "eu/sales"}, (ReceiverSpec(ReceiverKind.SLACK, "eu-slack"),))
    slack = MemoryNotifier(id="team=eu/sales/slack:eu-slack")
    receivers = MemoryReceivers(MemoryNotifier(), {slack.id: slack})
    rt = replace(
        rt,
        config=replace(rt.config, routing=Routing((route,))),
        ports=replace(rt.ports, receivers=receivers),
    )

    assert list(app.receivers(rt, "team=eu/sales")) == ["team=eu/sales/slack:eu-slack"]
    assert app.receiver_name(rt, "team=eu/sales/slack:eu-slack") == "route team=eu/sales: slack eu-slack"
