"""The Lambda entry point: wires config and adapters to the service, then reports."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from credit_monitor.adapters.http import HttpClient, build_pool_manager
from credit_monitor.adapters.logs import encodable_json, quiet_sdk_loggers
from credit_monitor.adapters.metrics import emit_check_metrics
from credit_monitor.adapters.receivers import PAGERDUTY_URLS, StackAndRoutes
from credit_monitor.adapters.secrets import SecretsManagerKeySource
from credit_monitor.adapters.state import DynamoStateStore
from credit_monitor.budget import Budget
from credit_monitor.config import LAMBDA_TIMEOUT_SECONDS, CheckSettings, LambdaConfig, load_lambda_config
from credit_monitor.delivery import Receiver
from credit_monitor.log_parts import summary_parts
from credit_monitor.messages import MessageContext
from credit_monitor.routes import TOPIC, route_of
from credit_monitor.service import TEST_ALERT, Ports, run_once, send_digest, send_test_alert
from credit_monitor.sizing import capacity_warning

logger = Logger(json_serializer=encodable_json)
quiet_sdk_loggers()  # before any AWS client exists: at DEBUG, botocore would log the secret


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Runtime:
    """Everything built once per sandbox and reused by warm invocations."""

    config: LambdaConfig
    ports: Ports
    clock: Callable[[], datetime] = field(default=utc_now)


@functools.cache
def runtime() -> Runtime:
    """Built on the first (cold) invocation; bad configuration fails here, naming the variable."""
    config = load_lambda_config()
    warn_if_undersized(config.checks)
    return build_runtime(config)


def warn_if_undersized(checks: CheckSettings) -> None:
    """A WARNING line at the cold start when the accounts are more than the bench saw this
    MemorySize check inside the deadline (sizing.py)."""
    if checks.memory_mb is not None and (warning := capacity_warning(len(checks.accounts), checks.memory_mb)):
        logger.warning(warning)


def build_runtime(config: LambdaConfig) -> Runtime:
    keys = SecretsManagerKeySource(config.api_keys_secret_id)
    http = HttpClient(build_pool_manager())
    return Runtime(
        config=config,
        ports=Ports(
            keys=keys,
            http=http,
            state=DynamoStateStore(config.state_table_name),
            receivers=StackAndRoutes(
                config.alert_topic_arn, keys, http, pagerduty_urls={**PAGERDUTY_URLS, **config.pagerduty_urls}
            ),
        ),
    )


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    rt = runtime()
    seconds_left = context.get_remaining_time_in_millis() / 1000
    budget = Budget.start(seconds_left, rt.config.checks.deadline_seconds)
    if isinstance(event, dict) and event.get("trigger") == "digest":  # template.yaml's DigestSchedule
        return handle_digest(rt, budget, scheduled_time(event))
    if isinstance(event, dict) and event.get("trigger") == TEST_ALERT:  # credit-monitor test-alert
        route = event.get("route")
        return handle_test_alert(rt, budget, route if isinstance(route, str) else None)
    return handle(rt, budget, scheduled_time(event))


def receivers(rt: Runtime, route: str | None = None, *, fresh: bool = False) -> Mapping[str, Receiver]:
    """Every place the function's messages go, by receiver id (never a secret): the stack's topic
    and each route's receivers; with `route`, that route's alone; `fresh`: their entries read anew."""
    found = rt.ports.receivers.receivers(rt.config.routing, fresh=fresh)
    if route is None:
        return found
    return {rid: receiver for rid, receiver in found.items() if route_of(rid) == route}


def receiver_name(rt: Runtime, receiver: str) -> str:
    """What people call a receiver (never a secret): "SNS topic credit-monitor-alerts" for the stack's
    topic, "route acme: slack acme-slack" for a route's."""
    if receiver == TOPIC:
        return f"SNS topic {rt.config.alert_topic_arn.rsplit(':', 1)[-1]}"
    spec = rt.config.routing.specs().get(receiver)
    return f"route {route_of(receiver)}: {spec.describe()}" if spec else receiver


def handle_test_alert(rt: Runtime, budget: Budget, route: str | None = None) -> dict[str, Any]:
    """A message marked as a test to each receiver (of `route`, when given), and what each did with
    it. Returned, not raised, when one refused it: the caller (the CLI) prints each answer."""
    context = MessageContext(rt.config.alert_policy.schedule_timezone, rt.config.dashboard_url)
    if route is not None and rt.config.routing.route(route) is None:
        names = ", ".join(r.name for r in rt.config.routing.routes) or "none"
        return {TEST_ALERT: [], "problem": f"no route named {route!r} in the accounts file (routes: {names})"}
    found = receivers(rt, route, fresh=True)  # an entry just fixed with `keys set` is the one tested
    named = {receiver_name(rt, receiver): found[receiver] for receiver in found}
    answers = [a.as_json() for a in send_test_alert(named, rt.clock, budget, context)]
    logger.info("test alert sent", extra={"test_alert": answers})
    for answer in answers:
        if "refused" in answer:
            logger.error(f"test alert refused by {answer['receiver']}: {answer['refused']}")
    return {TEST_ALERT: answers}


def handle_digest(rt: Runtime, budget: Budget, scheduled_at: datetime | None = None) -> dict[str, Any]:
    """The weekly digest, read from the alert state: no provider is asked, no metric emitted."""
    report = send_digest(
        rt.config.checks,
        rt.config.alert_policy,
        rt.ports,
        rt.clock,
        budget,
        scheduled_at=scheduled_at,
        dashboard_url=rt.config.dashboard_url,
    )
    logger.info("digest finished", extra={"digest": report.sent})
    for problem in report.problems:
        logger.error(str(problem))
    if (incomplete := report.incomplete()) is not None:
        raise incomplete
    return {"digest": report.sent}


def scheduled_time(event: object) -> datetime | None:
    """The schedule's own time for this run (template.yaml's Input carries EventBridge Scheduler's
    <aws.scheduler.scheduled-time>): exact, the same for a retry. None for any other event."""
    value = event.get("scheduled_time") if isinstance(event, dict) else None
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return moment if moment is not None and moment.tzinfo is not None else None


def handle(rt: Runtime, budget: Budget | None = None, scheduled_at: datetime | None = None) -> dict[str, Any]:
    """One scheduled run. What could not be done is raised at the end, after metrics and summary."""
    # Without a Lambda context (tests, demo), as if the whole timeout were left.
    budget = budget or Budget.start(LAMBDA_TIMEOUT_SECONDS, rt.config.checks.deadline_seconds)
    report = run_once(
        rt.config.checks,
        rt.config.alert_policy,
        rt.ports,
        rt.clock,
        budget,
        scheduled_at=scheduled_at,
        dashboard_url=rt.config.dashboard_url,
        routing=rt.config.routing,
    )
    for message, fields in report.failed_checks():
        logger.error(message, extra=fields)
    for message, fields in report.warnings():
        logger.warning(message, extra=fields)
    emit_check_metrics(rt.config.metrics_namespace, report)
    summary = report.summary()
    parts = summary_parts(summary)  # one line of 1,000 accounts would pass CloudWatch's 256 KB
    for number, part in enumerate(parts, 1):
        logger.info("credit check finished", extra={"part": number, "parts": len(parts), "accounts": part})
    if report.sent:
        logger.info("notifications published", extra={"notifications": report.sent})
    for problem in report.problems:
        logger.error(str(problem))
    if (incomplete := report.incomplete()) is not None:
        raise incomplete
    return {"accounts": summary, "notifications": report.sent}
