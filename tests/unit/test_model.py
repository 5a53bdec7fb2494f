from __future__ import annotations

import http.client
import json
import math

import pytest

from credit_monitor.alerting import Level, Levels, Status, status_of
from credit_monitor.amounts import format_balance
from credit_monitor.keys import NotAString, clean_key, key_forms, parse_api_keys, redact
from credit_monitor.model import (
    Balance,
    CheckError,
    CheckResult,
    FailureKind,
    Pool,
    decode_json_object,
    json_type_name,
    require_number,
)
from credit_monitor.providers import lemlist


def ok(provider: str, credits: float, threshold: float) -> CheckResult:
    return CheckResult(provider, threshold, balance=Balance(credits))


def failed(provider: str, threshold: float = 10) -> CheckResult:
    return CheckResult(provider, threshold, error=CheckError(FailureKind.TIMEOUT, "no answer"))


@pytest.mark.parametrize(
    ("credits", "threshold", "status"),
    [(99, 100, "LOW"), (100, 100, "OK"), (0, 0, "OK"), (0, 1, "LOW"), (100.5, 100, "OK")],
)
def test_low_means_strictly_below_the_threshold(credits: float, threshold: float, status: str) -> None:
    assert status_of(ok("lemlist", credits, threshold), Levels(warning=threshold)) == status


def test_a_failed_check_is_neither_low_nor_ok() -> None:
    assert status_of(failed("fullenrich"), Levels(warning=10)) is Status.FAILED


def test_the_alert_states_level_wins_inside_the_recovery_margin() -> None:
    """102 is above a warning level of 100, but within 5 % of it after a LOW: still LOW."""
    result = ok("lemlist", 102, 100)
    assert status_of(result, Levels(warning=100)) is Status.OK
    assert status_of(result, Levels(warning=100), Level.WARNING) is Status.LOW
    assert status_of(ok("lemlist", 5, 100), Levels(warning=100, critical=10)) is Status.CRITICAL


def test_a_result_has_one_of_a_balance_an_error_and_a_not_checked_reason() -> None:
    with pytest.raises(
        ValueError, match=r"^a CheckResult has exactly one of a balance, an error and a not_checked reason$"
    ):
        CheckResult("x", 1)
    with pytest.raises(
        ValueError, match=r"^a CheckResult has exactly one of a balance, an error and a not_checked reason$"
    ):
        CheckResult("x", 1, balance=Balance(1), error=CheckError(FailureKind.HTTP, "x"))
    with pytest.raises(ValueError, match="exactly one"):
        CheckResult("x", 1, error=CheckError(FailureKind.HTTP, "x"), not_checked="waiting its turn")
    waiting = CheckResult("x", 1, not_checked="waiting its turn")
    assert not waiting.failed
    assert not waiting.checked


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


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"balance": ' + b"9" * 5000 + b"}", "a number with too many digits"),
        (b"[" * 30_000 + b"]" * 30_000, "nested too deeply"),
    ],
)
def test_json_that_python_cannot_read_is_a_bad_response(body: bytes, expected: str) -> None:
    with pytest.raises(CheckError) as caught:
        decode_json_object(body, "application/json")
    assert caught.value.kind is FailureKind.BAD_RESPONSE
    assert expected in caught.value.message


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"<p>hi</p>", "text/html", "response is not JSON (text/html, 9 bytes)"),
        (b"<p>hi</p>", None, "response is not JSON (no content type, 9 bytes)"),
        (b"[1]", None, "response must be a JSON object, got array"),
        (b"1", None, "response must be a JSON object, got number"),
        (b"9" * 5000, None, "response has a number with too many digits"),
        (b"[" * 30_000 + b"]" * 30_000, None, "response is nested too deeply to be a balance"),
    ],
)
def test_every_undecodable_reply_is_a_bad_response_with_its_whole_reason(
    body: bytes, content_type: str | None, message: str
) -> None:
    with pytest.raises(CheckError) as caught:
        decode_json_object(body, content_type)
    assert caught.value.kind is FailureKind.BAD_RESPONSE
    assert caught.value.message == message


@pytest.mark.parametrize(
    ("value", "name"),
    [
        (None, "null"),
        (True, "boolean"),
        ("5", "string"),
        ([], "array"),
        ({}, "object"),
        (5, "number"),
        (5.5, "number"),
        (b"5", "bytes"),
    ],
)
def test_json_type_name_uses_jsons_names_and_pythons_for_anything_else(value: object, name: str) -> None:
    assert json_type_name(value) == name


def test_an_integer_too_large_for_a_float_is_not_a_finite_number() -> None:
    with pytest.raises(CheckError, match="must be a finite number") as caught:
        require_number(10**400, "'balance'")
    assert caught.value.kind is FailureKind.BAD_RESPONSE


def test_secret_keys_are_parsed_stripped_and_blank_values_dropped() -> None:
    keys = parse_api_keys('{"fullenrich": " a\\n", "lemlist": "  ", "other": 3}')
    assert keys == {"fullenrich": "a", "other": ""}  # "other" is kept, to be named as not a string
    assert isinstance(keys["other"], NotAString)
    assert keys["other"].json_type == "number"


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


KEY = "lm_7d2e5b9c1a3f4e8b6c0d"


@pytest.mark.parametrize("raw", [KEY, f"{KEY}\n", f"  {KEY}\t", f"\r\n{KEY}\r\n"])
def test_clean_key_strips_surrounding_whitespace(raw: str) -> None:
    assert clean_key("lemlist", raw, "hint") == KEY


@pytest.mark.parametrize("raw", [None, "", "  \n"])
def test_clean_key_says_a_missing_key_is_missing(raw: str | None) -> None:
    with pytest.raises(CheckError) as caught:
        clean_key("lemlist", raw, "add it to the secret")
    assert caught.value.kind is FailureKind.SECRET
    assert caught.value.message == "no API key for 'lemlist' (add it to the secret)"


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("lm_7d2e5b9c\n1a3f4e8b6c0d", "a line break"),
        ("lm_7d2e5b9c\r1a3f4e8b6c0d", "a line break"),
        ("lm_7d2e5b9c\u20281a3f4e8b6c0d", "a line break"),
        ("lm_7d2e5b9c\x001a3f4e8b6c0d", "a control character"),
        ("lm_7d2e5b9c\t1a3f4e8b6c0d", "a control character"),
        ("lm_7d2e5b9c\x7f1a3f4e8b6c0d", "a control character"),
        ("lm_7d2e5b9c\u200b1a3f4e8b6c0d", "a non-ASCII character"),
        ("lm_7d2e5b9c\u20191a3f4e8b6c0d", "a non-ASCII character"),
        ("lm_7d2e5b9c\xe91a3f4e8b6c0d", "a non-ASCII character"),
    ],
)
def test_clean_key_refuses_a_key_with_a_stray_character_inside_without_showing_it(
    raw: str, problem: str
) -> None:
    with pytest.raises(CheckError) as caught:
        clean_key("lemlist", raw, "hint")
    assert caught.value.kind is FailureKind.SECRET
    assert f"the lemlist API key contains {problem}" in caught.value.message
    assert not any(form in caught.value.message for form in key_forms(raw))


def header_validation_error(value: str) -> str:
    """The message http.client raises for a header value with a line break, as the Lambda saw it."""
    connection = http.client.HTTPConnection("api.example")
    connection.putrequest("GET", "/")  # builds the request in memory; nothing connects
    with pytest.raises(ValueError, match="Invalid header value") as caught:
        connection.putheader("Authorization", value)
    return str(caught.value)


@pytest.mark.parametrize(
    "output",
    [
        pytest.param(header_validation_error(f"Bearer {KEY}\n"), id="http.client-error-trailing"),
        pytest.param(header_validation_error("Bearer lm_7d2e\n5b9c1a3f4e8b"), id="http.client-error-inner"),
        pytest.param(lemlist.auth_headers(KEY)["Authorization"], id="basic-token"),
        pytest.param(json.dumps({"message": f"bad key {KEY}\x01"}), id="json-escaped"),
        pytest.param(f"https://api.example/?key={KEY}%2B", id="url"),
    ],
)
def test_redact_removes_every_form_a_key_takes_in_output(output: str) -> None:
    secrets = [KEY, "lm_7d2e\n5b9c1a3f4e8b", f"{KEY}\x01", f"{KEY}+"]
    redacted = redact(output, secrets)
    assert "***" in redacted
    for secret in secrets:
        assert not any(form in redacted for form in key_forms(secret)), redacted


def test_key_forms_include_the_http_basic_tokens_and_url_encodings() -> None:
    forms = key_forms("a b+c")
    assert {"OmEgYitj", "YSBiK2M6", "YSBiK2M", "a%20b%2Bc", "a+b%2Bc"} <= forms


@pytest.mark.parametrize(
    ("credits", "pools", "quota", "named"),
    [
        (math.inf, (), None, "the balance"),
        (-math.inf, (), None, "the balance"),
        (math.nan, (), None, "the balance"),
        (5.0, (Pool("paid", math.inf), Pool("free", 5.0)), None, "'paid' in the balance's pools"),
        (5.0, (Pool("free", math.nan),), None, "'free' in the balance's pools"),
        (5.0, (), math.inf, "the quota"),
    ],
)
def test_a_computed_balance_that_is_not_finite_is_a_bad_response(
    credits: float, pools: tuple[Pool, ...], quota: float | None, named: str
) -> None:
    """Every provider builds a Balance: a sum of finite parts that overflows is caught here."""
    with pytest.raises(CheckError) as caught:
        Balance(credits, pools, quota)
    assert caught.value.kind is FailureKind.BAD_RESPONSE
    assert caught.value.message == f"{named} must be a finite number"


def test_a_long_pool_name_is_quoted_cut_to_40_characters() -> None:
    with pytest.raises(CheckError) as caught:
        Balance(5.0, (Pool("p" * 60, math.inf),))
    assert caught.value.message == f"{'p' * 40!r} in the balance's pools must be a finite number"
