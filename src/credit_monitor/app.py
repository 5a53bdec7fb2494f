"""The Lambda entry point: wires config, keys, HTTP, state, metrics and SNS together."""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from credit_monitor.adapters.alerts import AlertDeliveryError, SnsNotifier
from credit_monitor.adapters.http import HttpClient, build_pool_manager
from credit_monitor.adapters.metrics import emit_check_metrics
from credit_monitor.adapters.secrets import SecretsManagerKeySource
from credit_monitor.adapters.state import DynamoStateStore, StateError
from credit_monitor.alerting import Decision, ProviderState, decide
from credit_monitor.checks import run_checks
from credit_monitor.config import LambdaConfig, load_lambda_config
from credit_monitor.core import summarize
from credit_monitor.messages import render
from credit_monitor.providers import Provider

logger = Logger()


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Runtime:
    """Everything built once per sandbox and reused by warm invocations."""

    config: LambdaConfig
    keys: SecretsManagerKeySource
    http: HttpClient
    notifier: SnsNotifier
    state: DynamoStateStore
    clock: Callable[[], datetime] = field(default=utc_now)


@functools.cache
def runtime() -> Runtime:
    """Built on the first (cold) invocation; bad configuration fails here, naming the variable."""
    return build_runtime(load_lambda_config())


def build_runtime(config: LambdaConfig) -> Runtime:
    return Runtime(
        config=config,
        keys=SecretsManagerKeySource(config.api_keys_secret_id),
        http=HttpClient(build_pool_manager()),
        notifier=SnsNotifier(config.alert_topic_arn),
        state=DynamoStateStore(config.state_table_name),
    )


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(runtime())


def handle(rt: Runtime) -> dict[str, Any]:
    """One scheduled run. Failures are collected and raised at the end, after metrics are flushed."""
    now = rt.clock()
    settings = {item.name: item for item in rt.config.checks.providers}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="state") as pool:
        state_read = pool.submit(rt.state.load, settings)  # concurrent with the HTTP fetches
        results = run_checks(rt.config.checks, rt.keys, rt.http)
        errors: list[Exception] = []
        try:
            states = state_read.result()
        except StateError as exc:
            errors.append(exc)
            states = {}

    for result in results:
        if result.error is not None:
            logger.error(
                f"{result.provider} check failed: {result.error.message}",
                extra={"provider": result.provider, "failure": result.error.kind.value},
            )

    claimed: dict[str, tuple[ProviderState, Decision]] = {}
    for result in results:
        if result.provider not in states:
            continue
        try:
            decide_for = functools.partial(
                decide,
                result=result,
                now=now,
                levels=settings[result.provider].levels,
                policy=rt.config.alert_policy,
            )
            claimed[result.provider] = rt.state.transition(
                result.provider, states[result.provider], decide_for
            )
        except StateError as exc:
            errors.append(exc)

    emit_check_metrics(
        rt.config.metrics_namespace,
        results,
        {name: decision.forecast for name, (_, decision) in claimed.items() if decision.forecast},
    )
    summary = summarize(results)
    for name, (_, decision) in claimed.items():
        summary[name]["level"] = decision.state.level.name
        if decision.forecast is not None:
            summary[name]["forecast"] = decision.forecast.describe()
    logger.info("credit check finished", extra={"providers": summary})

    sent = _publish(rt, {name: item.provider for name, item in settings.items()}, claimed, errors)
    if errors:
        for error in errors:
            logger.error(str(error))
        failure = AlertDeliveryError if all(isinstance(e, AlertDeliveryError) for e in errors) else StateError
        raise failure("; ".join(str(error) for error in errors))
    return {"providers": summary, "notifications": sent}


def _publish(
    rt: Runtime,
    providers: dict[str, Provider],
    claimed: dict[str, tuple[ProviderState, Decision]],
    errors: list[Exception],
) -> list[str]:
    """Send what each transition claimed; if a send fails, give the transition back for the retry."""
    sent: list[str] = []
    for name, (before, decision) in claimed.items():
        for note in decision.notifications:
            try:
                rt.notifier.publish(note, render(note, providers[name]))
            except AlertDeliveryError as exc:
                errors.append(exc)
                if not rt.state.restore(name, before, decision.state):
                    logger.warning(
                        f"{name} state moved on before it could be restored; a notification may be lost"
                    )
                break
            sent.append(f"{name}: {note.kind.value}")
    if sent:
        logger.info("notifications published", extra={"notifications": sent})
    return sent
