"""Configuration comes in here, once, validated; everything else receives these values.

Bad configuration fails the first (cold-start) invocation with a message naming the variable,
instead of producing checks that quietly use a wrong threshold.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from credit_monitor.account import MAX_THRESHOLD as MAX_THRESHOLD
from credit_monitor.account import TOPIC_ARN
from credit_monitor.account import Account as Account
from credit_monitor.account import ConfigError as ConfigError
from credit_monitor.account import base_url_problem as base_url_problem
from credit_monitor.accounts_file import MAX_SPIKE_FACTOR, AccountsConfig, load_accounts, load_config
from credit_monitor.alerting import AlertPolicy
from credit_monitor.budget import AWS_RESERVE_SECONDS, SAFETY_MARGIN_SECONDS
from credit_monitor.forecast import DEFAULT_SPIKE_RULE, SpikeRule
from credit_monitor.providers import PROVIDERS, Provider
from credit_monitor.routes import PagerDutyRegion, Routing, topic_arns
from credit_monitor.sizing import memory_size

DEFAULT_METRICS_NAMESPACE = "CreditMonitor"
DEFAULT_SERVICE_NAME = "credit-monitor"
DEFAULT_CHECK_DEADLINE_SECONDS = 10.0
DEFAULT_SCHEDULE_PERIOD_SECONDS = 3600.0
MAX_SCHEDULE_PERIOD_SECONDS = 31 * 86400.0
LAMBDA_TIMEOUT_SECONDS = 30.0
"""template.yaml's Timeout for the function."""
MAX_CHECK_DEADLINE_SECONDS = LAMBDA_TIMEOUT_SECONDS - SAFETY_MARGIN_SECONDS - AWS_RESERVE_SECONDS
"""14 s. A run has one budget (budget.py): the 30 s timeout less a 2 s safety margin less the 14 s
reserve for state writes and publishes. The checks run concurrently, so all of them finish within this."""

MAX_REMINDER_HOURS = 8760.0
"""A year. Past timedelta's range (about 2.4e10 hours) the next reminder's time raised OverflowError."""
MAX_FAILURES_BEFORE_ALERT = 1000
"""Over a month of hourly runs: more would mean an outage is never reported."""
MAX_MIN_DAYS_LEFT = 365.0
"""A year ahead; the forecast keeps 30 days of history, so further out says nothing."""
PAGERDUTY_EVENTS_URL_VARS = {region: f"PAGERDUTY_{region.upper()}_EVENTS_URL" for region in PagerDutyRegion}
"""For tests and local development only (`make demo`): PagerDuty's Events API endpoint of a service
region, pointed at a local simulator. template.yaml never sets them, so a deployed function always
sends to PagerDuty's own hosts."""


@dataclass(frozen=True)
class CheckSettings:
    """What both the Lambda and the local CLI need to run checks."""

    accounts: tuple[Account, ...]
    deadline_seconds: float
    schedule_period_seconds: float = 3600.0
    """SCHEDULE_PERIOD_SECONDS: the time between scheduled runs, so that a run's time gives its turn
    among accounts sharing a key (ratelimit.run_number). The template sets it to AlarmPeriodSeconds."""
    memory_mb: int | None = None
    """Lambda's MemorySize, which sets the CPU share and so the checks run at once (sizing.py)."""


@dataclass(frozen=True)
class LambdaConfig:
    checks: CheckSettings
    api_keys_secret_id: str
    alert_topic_arn: str
    state_table_name: str
    alert_policy: AlertPolicy
    metrics_namespace: str
    service_name: str
    dashboard_url: str = ""
    """DASHBOARD_URL: the stack's CloudWatch dashboard, linked from every message; empty: none."""
    routing: Routing = field(default_factory=Routing)
    """The accounts file's routes and stack_topic: who hears about which account."""
    pagerduty_urls: Mapping[PagerDutyRegion, str] = field(default_factory=dict)
    """PagerDuty endpoints set by PAGERDUTY_<REGION>_EVENTS_URL (tests, `make demo`); empty when
    deployed: PagerDuty's own."""


def threshold_var(provider: Provider) -> str:
    return f"{provider.env_prefix}_THRESHOLD"


def api_url_var(provider: Provider) -> str:
    return f"{provider.env_prefix}_API_URL"


def critical_threshold_var(provider: Provider) -> str:
    return f"{provider.env_prefix}_CRITICAL_THRESHOLD"


def api_key_var(provider: Provider) -> str:
    return f"{provider.env_prefix}_API_KEY"


def load_check_settings(
    environ: Mapping[str, str] | None = None, accounts: tuple[Account, ...] | None = None
) -> CheckSettings:
    """The accounts (given, or): from ACCOUNTS_FILE when set, else a zero-config account for each
    vendor whose <PROVIDER>_THRESHOLD is set."""
    env = os.environ if environ is None else environ
    accounts = load_accounts_setting(env) if accounts is None else accounts
    deadline = _number(
        env,
        "CHECK_DEADLINE_SECONDS",
        default=DEFAULT_CHECK_DEADLINE_SECONDS,
        above_low=True,
        high=MAX_CHECK_DEADLINE_SECONDS,
        unit="seconds",
        why=(
            f" (the {LAMBDA_TIMEOUT_SECONDS:g} s timeout less {SAFETY_MARGIN_SECONDS:g} s of margin"
            f" and {AWS_RESERVE_SECONDS:g} s kept for state writes and publishes)"
        ),
    )
    period = _number(
        env,
        "SCHEDULE_PERIOD_SECONDS",
        default=DEFAULT_SCHEDULE_PERIOD_SECONDS,
        above_low=True,
        high=MAX_SCHEDULE_PERIOD_SECONDS,
        unit="seconds",
        why=" (the time between scheduled runs, e.g. 3600 for rate(1 hour))",
    )
    return CheckSettings(
        accounts=accounts,
        deadline_seconds=deadline,
        schedule_period_seconds=period,
        memory_mb=memory_size(env),
    )


def accounts_file_setting(env: Mapping[str, str]) -> str:
    """ACCOUNTS_FILE as set; empty for the zero-config accounts."""
    return env.get("ACCOUNTS_FILE", "").strip()


def load_accounts_config(env: Mapping[str, str]) -> AccountsConfig:
    """ACCOUNTS_FILE's accounts and routes; the zero-config accounts (and no routes) without one."""
    path = accounts_file_setting(env)
    if not path:
        return AccountsConfig(zero_config_accounts(env))
    return load_config(resolve_accounts_file(path, env))


def load_accounts_setting(env: Mapping[str, str]) -> tuple[Account, ...]:
    path = accounts_file_setting(env)
    if not path:
        return zero_config_accounts(env)
    return load_accounts(resolve_accounts_file(path, env))


def resolve_accounts_file(path: str, env: Mapping[str, str]) -> Path:
    """A relative path is relative to the deployed package (LAMBDA_TASK_ROOT), else to here."""
    candidate = Path(path)
    root = env.get("LAMBDA_TASK_ROOT", "").strip()
    return candidate if candidate.is_absolute() or not root else Path(root) / candidate


def zero_config_accounts(env: Mapping[str, str]) -> tuple[Account, ...]:
    """One account per zero-config vendor whose <PROVIDER>_THRESHOLD is set; a vendor without one is
    off (its other variables, such as the URL the template always sets, are ignored). At least one."""
    accounts = tuple(
        _provider_settings(env, provider)
        for provider in PROVIDERS
        if env.get(threshold_var(provider), "").strip() or _critical_without_warning(env, provider)
    )
    if not accounts:
        either = " or ".join(threshold_var(provider) for provider in PROVIDERS)
        raise ConfigError(
            f"no vendor is watched: set {either}, or ACCOUNTS_FILE (a vendor without a threshold is off)"
        )
    return accounts


def every_zero_config_account(env: Mapping[str, str]) -> tuple[Account, ...]:
    """Every zero-config vendor's account, on or off, for the `keys` commands: the entries the
    function reads without an accounts file. Levels are not read (0); the URL is <P>_API_URL's."""
    return tuple(
        Account(
            id=provider.name,
            provider=provider,
            api_url=_https_url(env, api_url_var(provider), provider.default_api_url),
            threshold=0.0,
        )
        for provider in PROVIDERS
    )


def _critical_without_warning(env: Mapping[str, str], provider: Provider) -> bool:
    if env.get(critical_threshold_var(provider), "").strip():
        raise ConfigError(
            f"{critical_threshold_var(provider)} is set but {threshold_var(provider)} is not: set the warning"
            f" level too, or unset both to turn {provider.name} off"
        )
    return False


def _provider_settings(env: Mapping[str, str], provider: Provider) -> Account:
    warning = _credits(env, threshold_var(provider))
    critical = None
    if env.get(critical_threshold_var(provider), "").strip():  # empty: no critical level
        critical = _credits(env, critical_threshold_var(provider))
        if critical >= warning:
            raise ConfigError(
                f"{critical_threshold_var(provider)} ({critical:g}) must be below "
                f"{threshold_var(provider)} ({warning:g}): critical is the more urgent, lower level"
            )
    return Account(
        id=provider.name,
        provider=provider,
        api_url=_https_url(env, api_url_var(provider), provider.default_api_url),
        threshold=warning,
        critical_threshold=critical,
    )


def load_alert_policy(env: Mapping[str, str]) -> AlertPolicy:
    """Each setting is bounded: an absurd value fails here, not as an overflow on every later run."""
    reminder_hours = _number(env, "REMINDER_HOURS", default=24, low=1, high=MAX_REMINDER_HOURS, unit="hours")
    failures = _number(
        env, "FAILURES_BEFORE_ALERT", default=3, low=1, high=MAX_FAILURES_BEFORE_ALERT, whole=True
    )
    return AlertPolicy(
        reminder_hours=reminder_hours,
        failures_before_alert=int(failures),
        min_days_left=_number(env, "MIN_DAYS_LEFT", default=7, high=MAX_MIN_DAYS_LEFT, unit="days"),
        schedule_timezone=_timezone(env, "SCHEDULE_TIMEZONE"),
        group_by=_group_by(env, "GROUP_BY"),
        spike=_spike_rule(env),
    )


def _spike_rule(env: Mapping[str, str]) -> SpikeRule | None:
    """SPIKE_FACTOR (0: spikes are not watched, unless an account says `spike = true`) and
    SPIKE_MIN_SHARE (template.yaml's SpikeFactor and SpikeMinShare)."""
    factor = _number(
        env,
        "SPIKE_FACTOR",
        default=DEFAULT_SPIKE_RULE.factor,
        high=MAX_SPIKE_FACTOR,
        why=" (0 turns spike alerts off; else above 1, times the usual use)",
    )
    share = _number(env, "SPIKE_MIN_SHARE", default=DEFAULT_SPIKE_RULE.min_share, high=1.0)
    if factor == 0:
        return None
    if factor <= 1:
        raise ConfigError(
            f"SPIKE_FACTOR must be 0 (off) or above 1, times the usual use, got {env.get('SPIKE_FACTOR')!r}"
        )
    return SpikeRule(factor=factor, min_share=share)


def _group_by(env: Mapping[str, str], name: str) -> frozenset[str] | None:
    """Label names, comma-separated (template.yaml's GroupBy); unset or empty: None, every label."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    names = [part.strip() for part in raw.split(",")]
    for label in names:
        if not re.fullmatch(r"[a-z][a-z0-9_-]{0,31}", label):
            raise ConfigError(
                f"{name} must be label names separated by commas, such as client,owner, got {label[:40]!r}"
            )
    return frozenset(names)


def _timezone(env: Mapping[str, str], name: str) -> ZoneInfo:
    """The schedule's IANA zone (template.yaml sets it from ScheduleTimezone); UTC when unset."""
    raw = env.get(name, "").strip() or "UTC"
    try:
        return ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # unknown, a path, a directory of zones
        raise ConfigError(
            f"{name} must be an IANA time zone such as Europe/Paris or UTC (the stack's ScheduleTimezone),"
            f" got {raw[:60]!r}"
        ) from None


def load_lambda_config(environ: Mapping[str, str] | None = None) -> LambdaConfig:
    env = os.environ if environ is None else environ
    topic_arn = _required(env, "ALERT_TOPIC_ARN")
    if not TOPIC_ARN.fullmatch(topic_arn):
        raise ConfigError(f"ALERT_TOPIC_ARN must be an SNS topic ARN, got {topic_arn!r}")
    if topic_arn.endswith(".fifo"):
        raise ConfigError(
            f"ALERT_TOPIC_ARN must be a standard SNS topic, got the FIFO topic {topic_arn!r}: a FIFO topic"
            " rejects every publish without a MessageGroupId, which alerts do not carry"
        )
    accounts = load_accounts_config(env)
    ungranted_route_topics(accounts, env)
    return LambdaConfig(
        checks=load_check_settings(env, accounts.accounts),
        routing=accounts.routing,
        api_keys_secret_id=_required(env, "API_KEYS_SECRET_ID"),
        alert_topic_arn=topic_arn,
        state_table_name=_required(env, "STATE_TABLE_NAME"),
        alert_policy=load_alert_policy(env),
        metrics_namespace=env.get("POWERTOOLS_METRICS_NAMESPACE", "").strip() or DEFAULT_METRICS_NAMESPACE,
        service_name=env.get("POWERTOOLS_SERVICE_NAME", "").strip() or DEFAULT_SERVICE_NAME,
        dashboard_url=_dashboard_url(env, "DASHBOARD_URL"),
        pagerduty_urls=_pagerduty_urls(env),
    )


def _pagerduty_urls(env: Mapping[str, str]) -> dict[PagerDutyRegion, str]:
    """The PagerDuty endpoints a test or `make demo` points elsewhere (PAGERDUTY_EVENTS_URL_VARS):
    https only, as every receiver."""
    urls = {}
    for region, name in PAGERDUTY_EVENTS_URL_VARS.items():
        raw = env.get(name, "").strip()
        if raw:
            if problem := base_url_problem(raw):
                raise ConfigError(f"{name} {problem}")
            urls[region] = raw
    return urls


ROUTE_TOPIC_ARNS = "ROUTE_TOPIC_ARNS"
"""The SNS topics the function's role may publish to besides its own: template.yaml sets it from the
RouteTopicArns parameter, which `make deploy` computes from the accounts file."""


def ungranted_route_topics(accounts: AccountsConfig, env: Mapping[str, str]) -> None:
    """ConfigError, naming each route and topic, when a route publishes to an SNS topic the role is
    not granted (ROUTE_TOPIC_ARNS does not list it): said once at the cold start, instead of an
    AccessDenied at every publish that leaves the route's readers waiting."""
    granted = {arn.strip() for arn in env.get(ROUTE_TOPIC_ARNS, "").split(",")} - {""}
    source = accounts_file_setting(env)
    problems = [
        f"{source}: route {route!r}: topic: {arn} is not granted to the function: the stack's RouteTopicArns"
        f" parameter ({ROUTE_TOPIC_ARNS}) does not list it, so every publish would be denied; deploy with"
        " `make deploy`, which sets RouteTopicArns from the accounts file it packages"
        for arn, routes in topic_arns(accounts.routes).items()
        if arn not in granted
        for route in routes
    ]
    if problems:
        raise ConfigError("\n".join(problems), problems)


def _dashboard_url(env: Mapping[str, str], name: str) -> str:
    """An https:// address of printable characters (template.yaml sets the dashboard's), or empty."""
    raw = env.get(name, "").strip()
    if raw and not re.fullmatch(r"https://[!-~]{1,2000}", raw):
        raise ConfigError(f"{name} must be an https:// URL without spaces, or empty")
    return raw


def read_local_api_keys(
    accounts: Iterable[Account], environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """For the CLI: each account's key from <ID>_API_KEY (FULLENRICH_API_KEY for the zero-config
    `fullenrich`, ACME_LEMLIST_API_KEY for `acme-lemlist`; <KEY>_API_KEY for an account that names
    a shared `key`), by secret entry as in the secret; a missing one fails only its check."""
    env = os.environ if environ is None else environ
    entries = {account.secret_entry for account in accounts}
    keys = {entry: env.get(account_key_var(entry), "").strip() for entry in entries}
    return {name: key for name, key in keys.items() if key}


def account_key_var(account_id: str) -> str:
    return re.sub(r"[^A-Z0-9]", "_", account_id.upper()) + "_API_KEY"


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is not set")
    return value


def _credits(env: Mapping[str, str], name: str) -> float:
    """A threshold: required, since no default fits every account."""
    return _number(env, name, default=None, high=MAX_THRESHOLD, unit="credits")


def _number(
    env: Mapping[str, str],
    name: str,
    *,
    default: float | None,
    high: float,
    low: float = 0.0,
    above_low: bool = False,
    whole: bool = False,
    unit: str = "",
    why: str = "",
) -> float:
    """`default` when unset (None: required); else a finite number within [low, high] (or (low, high]
    when `above_low`), or a ConfigError naming the variable and the range it must be in."""
    raw = env.get(name, "").strip()
    if not raw:
        if default is None:
            raise ConfigError(f"{name} is not set; it must be a number of {unit}, e.g. {name}=500")
        return float(default)  # an int default would lack float's methods (int.is_integer is 3.12+)
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    in_range = math.isfinite(value) and (low < value if above_low else low <= value) and value <= high
    if not in_range or (whole and not value.is_integer()):
        kind = "a whole number" if whole else "a number"
        bounds = (
            f"more than {_plain(low)} and at most {_plain(high)}"
            if above_low
            else f"from {_plain(low)} to {_plain(high)}"
        )
        raise ConfigError(f"{name} must be {kind} {bounds}{' ' + unit if unit else ''}{why}, got {raw!r}")
    return value


def _plain(value: float) -> str:
    """1e12 as 1,000,000,000,000: the limit in the message should read like the setting."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:g}"  # float(): an int may come in


def _https_url(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name, "").strip() or default
    problem = base_url_problem(raw)
    if problem:
        raise ConfigError(f"{name} {problem}")
    return raw.rstrip("/")
