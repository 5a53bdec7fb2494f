"""Configuration comes in here, once, validated; everything else receives these values.

Bad configuration fails the first (cold-start) invocation with a message naming the variable,
instead of producing checks that quietly use a wrong threshold.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from credit_monitor.alerting import AlertPolicy, Levels
from credit_monitor.providers import PROVIDERS, Provider

DEFAULT_METRICS_NAMESPACE = "CreditMonitor"
DEFAULT_SERVICE_NAME = "credit-monitor"
DEFAULT_CHECK_DEADLINE_SECONDS = 10.0
MAX_CHECK_DEADLINE_SECONDS = 25.0
"""The function times out at 30 s; checks run in parallel, each within this, leaving room to publish."""

_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$")


class ConfigError(ValueError):
    """Raised at start-up; its message names the variable at fault."""


@dataclass(frozen=True)
class ProviderSettings:
    provider: Provider
    api_url: str
    threshold: float
    """The warning level."""
    critical_threshold: float | None = None

    @property
    def name(self) -> str:
        return self.provider.name

    @property
    def levels(self) -> Levels:
        return Levels(warning=self.threshold, critical=self.critical_threshold)


@dataclass(frozen=True)
class CheckSettings:
    """What both the Lambda and the local CLI need to run checks."""

    providers: tuple[ProviderSettings, ...]
    deadline_seconds: float


@dataclass(frozen=True)
class LambdaConfig:
    checks: CheckSettings
    api_keys_secret_id: str
    alert_topic_arn: str
    state_table_name: str
    alert_policy: AlertPolicy
    metrics_namespace: str
    service_name: str


def threshold_var(provider: Provider) -> str:
    return f"{provider.env_prefix}_THRESHOLD"


def api_url_var(provider: Provider) -> str:
    return f"{provider.env_prefix}_API_URL"


def critical_threshold_var(provider: Provider) -> str:
    return f"{provider.env_prefix}_CRITICAL_THRESHOLD"


def api_key_var(provider: Provider) -> str:
    return f"{provider.env_prefix}_API_KEY"


def load_check_settings(environ: Mapping[str, str] | None = None) -> CheckSettings:
    env = os.environ if environ is None else environ
    providers = tuple(_provider_settings(env, provider) for provider in PROVIDERS)
    deadline = _non_negative_number(env, "CHECK_DEADLINE_SECONDS", DEFAULT_CHECK_DEADLINE_SECONDS)
    if not 0 < deadline <= MAX_CHECK_DEADLINE_SECONDS:
        raise ConfigError(
            f"CHECK_DEADLINE_SECONDS must be more than 0 and at most {MAX_CHECK_DEADLINE_SECONDS:g}"
            f" (the function times out at 30 s), got {deadline:g}"
        )
    return CheckSettings(providers=providers, deadline_seconds=deadline)


def _provider_settings(env: Mapping[str, str], provider: Provider) -> ProviderSettings:
    warning = _non_negative_number(env, threshold_var(provider))
    critical = None
    if env.get(critical_threshold_var(provider), "").strip():  # empty: no critical level
        critical = _non_negative_number(env, critical_threshold_var(provider))
        if critical >= warning:
            raise ConfigError(
                f"{critical_threshold_var(provider)} ({critical:g}) must be below "
                f"{threshold_var(provider)} ({warning:g}): critical is the more urgent, lower level"
            )
    return ProviderSettings(
        provider=provider,
        api_url=_https_url(env, api_url_var(provider), provider.default_api_url),
        threshold=warning,
        critical_threshold=critical,
    )


def load_alert_policy(env: Mapping[str, str]) -> AlertPolicy:
    reminder_hours = _non_negative_number(env, "REMINDER_HOURS", 24)
    if reminder_hours < 1:
        raise ConfigError(f"REMINDER_HOURS must be at least 1, got {reminder_hours:g}")
    failures = _non_negative_number(env, "FAILURES_BEFORE_ALERT", 3)
    if not failures.is_integer() or failures < 1:
        raise ConfigError(f"FAILURES_BEFORE_ALERT must be a whole number >= 1, got {failures:g}")
    return AlertPolicy(
        reminder_hours=reminder_hours,
        failures_before_alert=int(failures),
        min_days_left=_non_negative_number(env, "MIN_DAYS_LEFT", 7),
    )


def load_lambda_config(environ: Mapping[str, str] | None = None) -> LambdaConfig:
    env = os.environ if environ is None else environ
    topic_arn = _required(env, "ALERT_TOPIC_ARN")
    if not _TOPIC_ARN.match(topic_arn):
        raise ConfigError(f"ALERT_TOPIC_ARN must be an SNS topic ARN, got {topic_arn!r}")
    return LambdaConfig(
        checks=load_check_settings(env),
        api_keys_secret_id=_required(env, "API_KEYS_SECRET_ID"),
        alert_topic_arn=topic_arn,
        state_table_name=_required(env, "STATE_TABLE_NAME"),
        alert_policy=load_alert_policy(env),
        metrics_namespace=env.get("POWERTOOLS_METRICS_NAMESPACE", "").strip() or DEFAULT_METRICS_NAMESPACE,
        service_name=env.get("POWERTOOLS_SERVICE_NAME", "").strip() or DEFAULT_SERVICE_NAME,
    )


def read_local_api_keys(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """For the CLI: keys from FULLENRICH_API_KEY / LEMLIST_API_KEY; a missing one fails only its check."""
    env = os.environ if environ is None else environ
    keys = {provider.name: env.get(api_key_var(provider), "").strip() for provider in PROVIDERS}
    return {name: key for name, key in keys.items() if key}


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is not set")
    return value


def _non_negative_number(env: Mapping[str, str], name: str, default: float | None = None) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        if default is None:
            raise ConfigError(f"{name} is not set; it must be a number of credits, e.g. {name}=500")
        return float(default)  # an int default would lack float's methods (int.is_integer is 3.12+)
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"{name} must be a finite number >= 0, got {raw!r}")
    return value


def _https_url(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name, "").strip() or default
    parts = urlsplit(raw)
    if parts.scheme != "https" or not parts.hostname:
        raise ConfigError(f"{name} must be an https:// URL (keys are never sent in clear), got {raw!r}")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ConfigError(f"{name} must be a plain base URL without credentials, query or fragment")
    return raw.rstrip("/")
