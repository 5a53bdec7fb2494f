from __future__ import annotations

import pytest

from credit_monitor.config import ConfigError, load_check_settings, load_lambda_config, read_local_api_keys

VALID = {
    "API_KEYS_SECRET_ID": "credit-monitor/api-keys",
    "ALERT_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:credit-monitor-AlertTopic-1A2B3C",
    "FULLENRICH_THRESHOLD": "1000",
    "LEMLIST_THRESHOLD": "100.5",
}


def test_valid_environment_gives_typed_values_and_documented_defaults() -> None:
    config = load_lambda_config(VALID)
    fullenrich, lemlist = config.checks.providers
    assert (fullenrich.name, fullenrich.threshold) == ("fullenrich", 1000.0)
    assert fullenrich.api_url == "https://app.fullenrich.com/api/v2"
    assert (lemlist.api_url, lemlist.threshold) == ("https://api.lemlist.com/api", 100.5)
    assert config.metrics_namespace == "CreditMonitor"
    assert config.checks.deadline_seconds == 10.0


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("FULLENRICH_THRESHOLD", "lots", "FULLENRICH_THRESHOLD must be a number, got 'lots'"),
        ("LEMLIST_THRESHOLD", "-1", "LEMLIST_THRESHOLD must be a finite number >= 0"),
        ("LEMLIST_THRESHOLD", "inf", "LEMLIST_THRESHOLD must be a finite number >= 0"),
        ("LEMLIST_THRESHOLD", "", "LEMLIST_THRESHOLD is not set"),
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
        ("CHECK_DEADLINE_SECONDS", "29", "CHECK_DEADLINE_SECONDS must be more than 0 and at most 25"),
        ("CHECK_DEADLINE_SECONDS", "0", "CHECK_DEADLINE_SECONDS must be more than 0"),
    ],
)
def test_bad_configuration_names_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_lambda_config({**VALID, name: value})
    assert message in str(caught.value)


def test_trailing_slash_in_api_url_is_dropped() -> None:
    settings = load_check_settings({**VALID, "LEMLIST_API_URL": "https://lemlist.internal/api/"})
    assert settings.providers[1].api_url == "https://lemlist.internal/api"


def test_local_keys_come_from_provider_named_variables() -> None:
    assert read_local_api_keys({"FULLENRICH_API_KEY": " fe ", "LEMLIST_API_KEY": ""}) == {"fullenrich": "fe"}
