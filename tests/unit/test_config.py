from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from credit_monitor.alerting import Levels
from credit_monitor.config import (
    MAX_CHECK_DEADLINE_SECONDS,
    ConfigError,
    load_alert_policy,
    load_check_settings,
    load_lambda_config,
    read_local_api_keys,
)
from credit_monitor.routes import PagerDutyRegion

VALID = {
    "API_KEYS_SECRET_ID": "credit-monitor/api-keys",
    "ALERT_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:credit-monitor-AlertTopic-1A2B3C",
    "FULLENRICH_THRESHOLD": "1000",
    "LEMLIST_THRESHOLD": "100.5",
    "STATE_TABLE_NAME": "credit-monitor-AlertStateTable-1X2Y",
}


def test_valid_environment_gives_typed_values_and_documented_defaults() -> None:
    config = load_lambda_config(VALID)
    fullenrich, lemlist = config.checks.accounts
    assert (fullenrich.id, fullenrich.threshold) == ("fullenrich", 1000.0)
    assert fullenrich.api_url == "https://app.fullenrich.com/api/v2"
    assert (lemlist.api_url, lemlist.threshold) == ("https://api.lemlist.com/api", 100.5)
    assert config.metrics_namespace == "CreditMonitor"
    assert config.checks.deadline_seconds == 10.0
    assert (config.alert_policy.reminder_hours, config.alert_policy.failures_before_alert) == (24, 3)
    assert config.alert_policy.min_days_left == 7
    assert fullenrich.critical_threshold is None  # empty means no critical level


def test_defaults_load_on_the_python_floor() -> None:
    """On 3.11 an int default broke `failures.is_integer()` (int has it only from 3.12)."""
    policy = load_alert_policy({})
    assert (policy.reminder_hours, policy.failures_before_alert, policy.min_days_left) == (24, 3, 7)
    assert type(policy.failures_before_alert) is int


def test_a_vendor_without_a_threshold_is_off_and_the_other_is_watched_alone() -> None:
    settings = load_check_settings({"LEMLIST_THRESHOLD": "100", "FULLENRICH_THRESHOLD": " "})

    assert [(a.id, a.threshold) for a in settings.accounts] == [("lemlist", 100.0)]


def test_a_vendor_off_ignores_its_api_url_as_the_template_always_sets_it() -> None:
    settings = load_check_settings(
        {"FULLENRICH_THRESHOLD": "1000", "LEMLIST_API_URL": "https://api.lemlist.com/api"}
    )

    assert [a.id for a in settings.accounts] == ["fullenrich"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "no vendor is watched: set FULLENRICH_THRESHOLD or LEMLIST_THRESHOLD, or ACCOUNTS_FILE"),
        (
            {"LEMLIST_THRESHOLD": "100", "FULLENRICH_CRITICAL_THRESHOLD": "10"},
            "FULLENRICH_CRITICAL_THRESHOLD is set but FULLENRICH_THRESHOLD is not",
        ),
    ],
)
def test_no_vendor_at_all_or_a_critical_level_without_a_warning_is_refused(
    env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_check_settings(env)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("FULLENRICH_THRESHOLD", "lots", "FULLENRICH_THRESHOLD must be a number, got 'lots'"),
        ("LEMLIST_THRESHOLD", "-1", "LEMLIST_THRESHOLD must be a number from 0 to 1,000,000,000,000 credits"),
        (
            "LEMLIST_THRESHOLD",
            "inf",
            "LEMLIST_THRESHOLD must be a number from 0 to 1,000,000,000,000 credits",
        ),
        ("ALERT_TOPIC_ARN", "", "ALERT_TOPIC_ARN is not set"),
        ("ALERT_TOPIC_ARN", "my-topic", "ALERT_TOPIC_ARN must be an SNS topic ARN"),
        ("API_KEYS_SECRET_ID", " ", "API_KEYS_SECRET_ID is not set"),
        (
            "FULLENRICH_API_URL",
            "http://app.fullenrich.com/api/v2",
            "FULLENRICH_API_URL must be an https:// URL",
        ),
        (
            "LEMLIST_API_URL",
            "https://user:pw@api.lemlist.com/api",
            "LEMLIST_API_URL must be a plain base URL",
        ),
        (
            "CHECK_DEADLINE_SECONDS",
            "29",
            "CHECK_DEADLINE_SECONDS must be a number more than 0 and at most 14",
        ),
        ("CHECK_DEADLINE_SECONDS", "0", "CHECK_DEADLINE_SECONDS must be a number more than 0"),
        ("STATE_TABLE_NAME", "", "STATE_TABLE_NAME is not set"),
        ("REMINDER_HOURS", "0.5", "REMINDER_HOURS must be a number from 1 to 8,760 hours, got '0.5'"),
        ("FAILURES_BEFORE_ALERT", "2.5", "FAILURES_BEFORE_ALERT must be a whole number from 1 to 1,000"),
        ("MIN_DAYS_LEFT", "soon", "MIN_DAYS_LEFT must be a number"),
        ("FULLENRICH_CRITICAL_THRESHOLD", "abc", "FULLENRICH_CRITICAL_THRESHOLD must be a number"),
        (
            "FULLENRICH_CRITICAL_THRESHOLD",
            "1000",
            "FULLENRICH_CRITICAL_THRESHOLD (1000) must be below FULLENRICH_THRESHOLD",
        ),
    ],
)
def test_bad_configuration_names_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_lambda_config({**VALID, name: value})
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        # 1e11 hours passed before, then overflowed timedelta on every run after a LOW.
        ("REMINDER_HOURS", "1e11", "REMINDER_HOURS must be a number from 1 to 8,760 hours, got '1e11'"),
        ("REMINDER_HOURS", "8761", "REMINDER_HOURS must be a number from 1 to 8,760 hours"),
        ("FAILURES_BEFORE_ALERT", "1001", "FAILURES_BEFORE_ALERT must be a whole number from 1 to 1,000"),
        ("FAILURES_BEFORE_ALERT", "1e400", "FAILURES_BEFORE_ALERT must be a whole number from 1 to 1,000"),
        ("MIN_DAYS_LEFT", "366", "MIN_DAYS_LEFT must be a number from 0 to 365 days, got '366'"),
        ("MIN_DAYS_LEFT", "nan", "MIN_DAYS_LEFT must be a number from 0 to 365 days"),
        ("FULLENRICH_THRESHOLD", "1e13", "FULLENRICH_THRESHOLD must be a number from 0 to 1,000,000,000,000"),
        (
            "LEMLIST_CRITICAL_THRESHOLD",
            "2e12",
            "LEMLIST_CRITICAL_THRESHOLD must be a number from 0 to 1,000,000,000,000",
        ),
        # 25 was the old maximum: it left no time for the state writes and publishes.
        (
            "CHECK_DEADLINE_SECONDS",
            "25",
            "CHECK_DEADLINE_SECONDS must be a number more than 0 and at most 14 seconds (the 30 s timeout",
        ),
        (
            "CHECK_DEADLINE_SECONDS",
            "14.01",
            "CHECK_DEADLINE_SECONDS must be a number more than 0 and at most 14",
        ),
    ],
)
def test_numbers_beyond_their_upper_bound_are_refused_with_the_range(
    name: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_lambda_config({**VALID, name: value})
    assert message in str(caught.value)


def test_the_bounds_themselves_are_accepted() -> None:
    config = load_lambda_config(
        {
            **VALID,
            "REMINDER_HOURS": "8760",
            "FAILURES_BEFORE_ALERT": "1000",
            "MIN_DAYS_LEFT": "365",
            "FULLENRICH_THRESHOLD": "1e12",
            "FULLENRICH_CRITICAL_THRESHOLD": "0",
            "CHECK_DEADLINE_SECONDS": "14",
        }
    )
    policy = config.alert_policy
    assert (policy.reminder_hours, policy.failures_before_alert, policy.min_days_left) == (8760, 1000, 365)
    assert config.checks.accounts[0].levels == Levels(warning=1e12, critical=0)
    assert config.checks.deadline_seconds == MAX_CHECK_DEADLINE_SECONDS == 14.0
    assert load_alert_policy({"MIN_DAYS_LEFT": "0", "REMINDER_HOURS": "1"}).min_days_left == 0


def test_longest_reminder_interval_is_a_usable_timedelta() -> None:
    """What alerting does with it: the next reminder is the last one plus this many hours."""
    last = datetime(2099, 12, 31, tzinfo=UTC)
    policy = load_alert_policy({"REMINDER_HOURS": "8760"})
    assert last + timedelta(hours=policy.reminder_hours) == datetime(2100, 12, 31, tzinfo=UTC)


def test_fifo_topic_is_refused_at_start_up_since_every_publish_to_it_would_fail() -> None:
    fifo = "arn:aws:sns:eu-west-1:123456789012:credit-monitor-alerts.fifo"
    with pytest.raises(ConfigError) as caught:
        load_lambda_config({**VALID, "ALERT_TOPIC_ARN": fifo})
    message = str(caught.value)
    assert message.startswith(f"ALERT_TOPIC_ARN must be a standard SNS topic, got the FIFO topic '{fifo}'")
    assert "MessageGroupId" in message


def test_critical_level_is_read_when_set() -> None:
    config = load_lambda_config({**VALID, "LEMLIST_CRITICAL_THRESHOLD": "20"})
    assert config.checks.accounts[1].levels.critical == 20


def test_trailing_slash_in_api_url_is_dropped() -> None:
    settings = load_check_settings({**VALID, "LEMLIST_API_URL": "https://lemlist.internal/api/"})
    assert settings.accounts[1].api_url == "https://lemlist.internal/api"


def test_local_keys_come_from_provider_named_variables() -> None:
    accounts = load_check_settings(VALID).accounts
    keys = {"FULLENRICH_API_KEY": " fe ", "LEMLIST_API_KEY": ""}
    assert read_local_api_keys(accounts, keys) == {"fullenrich": "fe"}


def test_the_schedule_timezone_reaches_the_alert_policy() -> None:
    from zoneinfo import ZoneInfo

    assert load_alert_policy({}).schedule_timezone.utcoffset(datetime(2026, 7, 1)) == timedelta(0)
    assert load_alert_policy({"SCHEDULE_TIMEZONE": " Europe/Paris "}).schedule_timezone == ZoneInfo(
        "Europe/Paris"
    )


@pytest.mark.parametrize(
    "value", ["Europe/Pariss", "not a zone", "../etc/passwd", "/etc/localtime", "+02:00"]
)
def test_an_unknown_schedule_timezone_is_refused_naming_the_variable(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_alert_policy({"SCHEDULE_TIMEZONE": value})
    message = str(caught.value)
    assert message.startswith("SCHEDULE_TIMEZONE must be an IANA time zone")
    assert "Europe/Paris" in message  # an example of what it takes


def test_group_by_names_the_routing_labels_and_defaults_to_every_label() -> None:
    assert load_alert_policy({}).group_by is None
    assert load_alert_policy({"GROUP_BY": " client , owner "}).group_by == frozenset({"client", "owner"})
    with pytest.raises(ConfigError, match=r"GROUP_BY must be label names .* got 'Client!'"):
        load_alert_policy({"GROUP_BY": "Client!"})


def test_the_dashboard_url_is_an_https_address_or_nothing() -> None:
    env = {
        "ALERT_TOPIC_ARN": "arn:aws:sns:eu-west-3:123456789012:alerts",
        "API_KEYS_SECRET_ID": "credit-monitor/api-keys",
        "STATE_TABLE_NAME": "state",
        "FULLENRICH_THRESHOLD": "1000",
        "LEMLIST_THRESHOLD": "100",
    }
    assert load_lambda_config(env).dashboard_url == ""
    url = (
        "https://eu-west-3.console.aws.amazon.com/cloudwatch/home?region=eu-west-3#dashboards:name=x-credits"
    )
    assert load_lambda_config(env | {"DASHBOARD_URL": url}).dashboard_url == url
    with pytest.raises(ConfigError, match="DASHBOARD_URL must be an https:// URL"):
        load_lambda_config(env | {"DASHBOARD_URL": "javascript:alert(1)"})


ROUTED = """
[[account]]
id = "acme-lemlist"
provider = "lemlist"
warning = 100
labels = { client = "acme" }

[[route]]
name = "acme"
match = { client = "acme" }
topic = ["arn:aws:sns:eu-west-1:123456789012:acme-alerts", "arn:aws:sns:us-east-1:123456789012:acme-ops"]

[[route]]
topic = "arn:aws:sns:us-east-1:123456789012:acme-ops"
"""
ACME_ALERTS = "arn:aws:sns:eu-west-1:123456789012:acme-alerts"
ACME_OPS = "arn:aws:sns:us-east-1:123456789012:acme-ops"


def test_route_topics_the_role_may_publish_to_start_the_function(tmp_path: Path) -> None:
    (tmp_path / "accounts.toml").write_text(ROUTED)
    env = {**VALID, "ACCOUNTS_FILE": str(tmp_path / "accounts.toml")}

    config = load_lambda_config({**env, "ROUTE_TOPIC_ARNS": f"{ACME_OPS},{ACME_ALERTS}"})

    assert [route.name for route in config.routing.routes] == ["acme", "all"]


@pytest.mark.parametrize("granted", [None, "", ACME_ALERTS], ids=["unset", "empty", "one-of-two"])
def test_a_route_topic_the_role_may_not_publish_to_is_refused_at_start_up_naming_route_and_topic(
    tmp_path: Path, granted: str | None
) -> None:
    """Caught once at the cold start, not as AccessDenied at every publish to the client's topic."""
    path = tmp_path / "accounts.toml"
    path.write_text(ROUTED)
    env = {**VALID, "ACCOUNTS_FILE": str(path)}
    if granted is not None:
        env["ROUTE_TOPIC_ARNS"] = granted

    with pytest.raises(ConfigError) as caught:
        load_lambda_config(env)

    why = (
        "is not granted to the function: the stack's RouteTopicArns parameter (ROUTE_TOPIC_ARNS) does not"
        " list it, so every publish would be denied; deploy with `make deploy`, which sets RouteTopicArns"
        " from the accounts file it packages"
    )
    ops = [f"{path}: route 'acme': topic: {ACME_OPS} {why}", f"{path}: route 'all': topic: {ACME_OPS} {why}"]
    alerts = [f"{path}: route 'acme': topic: {ACME_ALERTS} {why}"]
    assert list(caught.value.problems) == (ops if granted == ACME_ALERTS else alerts + ops)
    assert str(caught.value) == "\n".join(caught.value.problems)


def test_pagerduty_is_pointed_elsewhere_only_by_its_test_variables_and_only_over_https() -> None:
    assert load_lambda_config(VALID).pagerduty_urls == {}
    local = "https://127.0.0.1:8443/v2/enqueue"
    config = load_lambda_config({**VALID, "PAGERDUTY_EU_EVENTS_URL": local})
    assert config.pagerduty_urls == {PagerDutyRegion.EU: local}
    for bad in ("http://127.0.0.1:8080/v2/enqueue", "https://user:pw@127.0.0.1/v2/enqueue", "file:///x"):
        with pytest.raises(ConfigError, match="PAGERDUTY_US_EVENTS_URL must be") as caught:
            load_lambda_config({**VALID, "PAGERDUTY_US_EVENTS_URL": bad})
        assert bad not in str(caught.value)
