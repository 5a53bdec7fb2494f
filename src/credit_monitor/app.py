"""The Lambda entry point: wires config, keys, HTTP, metrics and SNS together. Logic lives elsewhere."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from credit_monitor.adapters.alerts import AlertDeliveryError, SnsAlertPublisher
from credit_monitor.adapters.http import HttpClient, build_pool_manager
from credit_monitor.adapters.metrics import emit_check_metrics
from credit_monitor.adapters.secrets import SecretsManagerKeySource
from credit_monitor.checks import run_checks
from credit_monitor.config import LambdaConfig, load_lambda_config
from credit_monitor.core import low_balance_alerts, summarize

logger = Logger()


@dataclass(frozen=True)
class Runtime:
    """Everything built once per sandbox and reused by warm invocations."""

    config: LambdaConfig
    keys: SecretsManagerKeySource
    http: HttpClient
    publisher: SnsAlertPublisher


@functools.cache
def runtime() -> Runtime:
    """Built on the first (cold) invocation; bad configuration fails here, naming the variable."""
    config = load_lambda_config()
    return Runtime(
        config=config,
        keys=SecretsManagerKeySource(config.api_keys_secret_id),
        http=HttpClient(build_pool_manager()),
        publisher=SnsAlertPublisher(config.alert_topic_arn),
    )


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    rt = runtime()
    providers = [item.provider for item in rt.config.checks.providers]
    results = run_checks(rt.config.checks, rt.keys, rt.http)

    for result in results:
        if result.error is not None:
            logger.error(
                f"{result.provider} check failed: {result.error.message}",
                extra={"provider": result.provider, "failure": result.error.kind.value},
            )
    emit_check_metrics(rt.config.metrics_namespace, results)
    summary = summarize(results)
    logger.info("credit check finished", extra={"providers": summary})

    alerts = low_balance_alerts(
        results,
        display_names={p.name: p.display_name for p in providers},
        top_up_urls={p.name: p.top_up_url for p in providers},
    )
    sent, undelivered = rt.publisher.publish_all(alerts)
    if sent:
        logger.info("low-balance alerts published", extra={"alerts_sent": sent})
    if undelivered:
        for error in undelivered:
            logger.error(str(error))
        raise AlertDeliveryError("; ".join(str(error) for error in undelivered))
    return {"providers": summary, "alerts_sent": sent}
