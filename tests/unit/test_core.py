from __future__ import annotations

import pytest

from credit_monitor.core import (
    SUBJECT_MAX_LENGTH,
    Balance,
    CheckError,
    CheckResult,
    FailureKind,
    LowBalanceAlert,
    alert_body,
    alert_subject,
    decode_json_object,
    format_balance,
    low_balance_alerts,
    parse_api_keys,
    redact,
    summarize,
)

NAMES = {"fullenrich": "FullEnrich", "lemlist": "lemlist"}
URLS = {"fullenrich": "https://example.test/billing"}


def ok(provider: str, credits: float, threshold: float) -> CheckResult:
    return CheckResult(provider, threshold, balance=Balance(credits))


def failed(provider: str, threshold: float = 10) -> CheckResult:
    return CheckResult(provider, threshold, error=CheckError(FailureKind.TIMEOUT, "no answer"))


@pytest.mark.parametrize(
    ("credits", "threshold", "status"),
    [(99, 100, "LOW"), (100, 100, "OK"), (0, 0, "OK"), (0, 1, "LOW"), (100.5, 100, "OK")],
)
def test_low_means_strictly_below_the_threshold(credits: float, threshold: float, status: str) -> None:
    assert ok("lemlist", credits, threshold).status == status


def test_a_failed_check_is_never_a_low_balance_alert() -> None:
    results = [failed("fullenrich"), ok("lemlist", 5, 100)]
    alerts = low_balance_alerts(results, NAMES, URLS)
    assert [a.provider for a in alerts] == ["lemlist"]
    assert results[0].status == "FAILED"


def test_a_result_has_a_balance_or_an_error_never_both() -> None:
    with pytest.raises(ValueError, match="either"):
        CheckResult("x", 1)
    with pytest.raises(ValueError, match="either"):
        CheckResult("x", 1, balance=Balance(1), error=CheckError(FailureKind.HTTP, "x"))


def test_alert_text_names_provider_balance_threshold_and_where_to_top_up() -> None:
    alert = low_balance_alerts([ok("fullenrich", 1234.5, 5000)], NAMES, URLS)[0]
    subject, body = alert_subject(alert), alert_body(alert)
    assert subject == "[credit-monitor] FullEnrich credits low: 1,234.50 (threshold 5,000)"
    assert "Balance:    1,234.50 credits" in body
    assert "Threshold:  5,000 credits" in body
    assert "Top up: https://example.test/billing" in body


def test_subject_never_exceeds_the_sns_limit() -> None:
    alert = LowBalanceAlert("x", "A provider with a very long display name " * 3, 1e15, 1e16, "")
    assert len(alert_subject(alert)) == SUBJECT_MAX_LENGTH


def test_format_balance_shows_cents_only_when_there_are_some() -> None:
    assert format_balance(5000) == "5,000"
    assert format_balance(0.25) == "0.25"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"<!doctype html><p>hi</p>", "not JSON (text/html"),
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "must be a JSON object, got array"),
        (b'"5000"', "got string"),
    ],
)
def test_decode_rejects_what_is_not_a_json_object(body: bytes, expected: str) -> None:
    with pytest.raises(CheckError, match=expected.replace("(", r"\(")):
        decode_json_object(body, "text/html")


def test_secret_keys_are_parsed_and_blank_values_dropped() -> None:
    keys = parse_api_keys('{"fullenrich": "a", "lemlist": "  ", "other": 3}')
    assert keys == {"fullenrich": "a"}


@pytest.mark.parametrize(
    ("secret", "expected"),
    [
        ("fullenrich=abc", "secret is not JSON"),
        ('["abc"]', "must be a JSON object, got array"),
        (None, "no SecretString"),
    ],
)
def test_bad_secrets_are_described_without_their_content(secret: str | None, expected: str) -> None:
    with pytest.raises(CheckError) as caught:
        parse_api_keys(secret)
    assert expected in caught.value.message
    assert "abc" not in caught.value.message
    assert caught.value.kind is FailureKind.SECRET


def test_redact_removes_every_known_key() -> None:
    assert redact("echo k1 and k2", ["k1", "k2", ""]) == "echo *** and ***"


def test_summary_carries_balance_breakdown_and_failure_reason() -> None:
    results = [
        CheckResult("lemlist", 10, balance=Balance(5, {"paid": 5})),
        failed("fullenrich"),
    ]
    assert summarize(results) == {
        "lemlist": {"status": "LOW", "threshold": 10, "balance": 5, "breakdown": {"paid": 5}},
        "fullenrich": {"status": "FAILED", "threshold": 10, "failure": "timeout", "reason": "no answer"},
    }
