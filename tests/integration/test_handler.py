"""The real handler against loopback HTTPS simulators of both APIs and moto server."""

from __future__ import annotations

import json

import pytest

from credit_monitor.config import ConfigError
from credit_monitor.service import DeliveryError
from tests.support.aws import Stack
from tests.support.harness import Invoke
from tests.support.keys import FULLENRICH_KEY
from tests.support.simulators import ApiSimulator, Reply, refused_handshakes


def test_both_healthy_records_balances_and_sends_nothing(
    invoke: Invoke, stack: Stack, fullenrich_api: ApiSimulator, lemlist_api: ApiSimulator
) -> None:
    run = invoke()

    assert run.error is None
    assert run.metric("CreditsRemaining") == {"fullenrich": 5000, "lemlist": 800}
    assert run.check_failed() == {"fullenrich": 0, "lemlist": 0}
    assert run.aggregate("AccountsChecked") == 2
    assert run.aggregate("AccountsFailing") == 0
    assert run.aggregate("AccountsLow") == 0
    assert run.aggregate("NotificationsPending") == 0
    assert stack.inbox.messages() == []
    summary = run.summary()
    assert summary["fullenrich"]["status"] == "OK"
    assert summary["lemlist"]["pools"] == {"subscription": 640, "paid": 0, "gifted": 160, "freemium": 0}
    # The wire format is the documented one: Bearer for FullEnrich, Basic with an empty user for lemlist.
    assert fullenrich_api.credit_requests[0].headers["authorization"].startswith("Bearer ")
    assert lemlist_api.credit_requests[0].headers["authorization"].startswith("Basic ")
    assert fullenrich_api.credit_requests[0].headers["user-agent"].startswith("credit-monitor/")


def test_metrics_are_aggregates_without_dimensions_and_one_balance_per_account(invoke: Invoke) -> None:
    run = invoke()

    [aggregates, *balances] = [doc["_aws"]["CloudWatchMetrics"] for doc in run.emf]
    assert aggregates == [
        {
            "Namespace": "CreditMonitor",
            "Dimensions": [[]],
            "Metrics": [
                {"Name": name, "Unit": "Count"}
                for name in (
                    "AccountsChecked",
                    "AccountsFailing",
                    "AccountsNotChecked",
                    "AccountsLow",
                    "AccountsCritical",
                    "NotificationsPending",
                )
            ],
        }
    ]
    assert balances == 2 * [
        [
            {
                "Namespace": "CreditMonitor",
                "Dimensions": [["Account"]],
                "Metrics": [{"Name": "CreditsRemaining", "Unit": "Count"}],
            }
        ]
    ]


def test_one_below_threshold_sends_one_alert_naming_provider_balance_and_threshold(
    invoke: Invoke, stack: Stack, lemlist_api: ApiSimulator
) -> None:
    lemlist_api.balance = 42

    run = invoke()

    assert run.error is None
    assert run.aggregate("AccountsLow") == 1
    assert run.aggregate("AccountsCritical") == 0
    [message] = stack.inbox.messages()
    assert message["MessageAttributes"]["provider"]["Value"] == "lemlist"
    assert message["MessageAttributes"]["kind"]["Value"] == "LOW"
    assert message["Subject"] == "[credit-monitor] lemlist credits below warning: 42 left"
    assert "Balance:       42 credits" in message["Message"]
    assert "Level crossed: warning (100 credits)" in message["Message"]
    assert run.result is not None
    assert run.result["notifications"] == ["lemlist: LOW"]


def test_both_below_threshold_send_one_alert_each(
    invoke: Invoke, stack: Stack, fullenrich_api: ApiSimulator, lemlist_api: ApiSimulator
) -> None:
    fullenrich_api.balance = 999.5
    lemlist_api.balance = 0

    invoke()

    providers = sorted(m["MessageAttributes"]["provider"]["Value"] for m in stack.inbox.messages())
    assert providers == ["fullenrich", "lemlist"]


def test_rate_limited_with_retry_after_waits_and_succeeds(invoke: Invoke, lemlist_api: ApiSimulator) -> None:
    lemlist_api.then(Reply(429, "Too many requests", {"Retry-After": "1", "Content-Type": "text/plain"}))

    run = invoke()

    assert run.metric("CreditsRemaining")["lemlist"] == 800
    assert len(lemlist_api.credit_requests) == 2


def test_rate_limited_beyond_the_deadline_fails_that_check_only(
    invoke: Invoke, fullenrich_api: ApiSimulator, lemlist_api: ApiSimulator
) -> None:
    # FullEnrich's 429 carries no Retry-After: one patient retry, then a visible failure.
    fullenrich_api.then(*[Reply(429, {"code": "error.rate_limit", "message": "Too many requests"})] * 5)

    run = invoke()

    assert run.check_failed() == {"fullenrich": 1, "lemlist": 0}
    assert "fullenrich" not in run.metric("CreditsRemaining")
    assert run.summary()["fullenrich"]["failure"] == "rate_limited"
    assert len(fullenrich_api.credit_requests) == 2


def test_server_error_then_success_is_retried(invoke: Invoke, fullenrich_api: ApiSimulator) -> None:
    fullenrich_api.then(
        Reply(503, "<html><body>Service Unavailable</body></html>", {"Content-Type": "text/html"})
    )

    run = invoke()

    assert run.metric("CreditsRemaining")["fullenrich"] == 5000
    assert len(fullenrich_api.credit_requests) == 2


def test_dropped_connection_is_retried(invoke: Invoke, lemlist_api: ApiSimulator) -> None:
    lemlist_api.then(Reply(action="drop"))

    run = invoke()

    assert run.metric("CreditsRemaining")["lemlist"] == 800
    assert len(lemlist_api.credit_requests) == 2


def test_server_that_never_answers_fails_within_the_deadline_and_spares_the_other(
    invoke: Invoke, fullenrich_api: ApiSimulator
) -> None:
    fullenrich_api.then(*[Reply(action="hang")] * 5)

    run = invoke()

    assert run.error is None
    assert run.check_failed() == {"fullenrich": 1, "lemlist": 0}
    assert run.aggregate("AccountsFailing") == 1
    assert run.aggregate("AccountsChecked") == 2
    assert run.metric("CreditsRemaining") == {"lemlist": 800}
    assert run.summary()["fullenrich"]["failure"] == "timeout"


def test_html_instead_of_json_is_a_failed_check_not_a_crash(
    invoke: Invoke, fullenrich_api: ApiSimulator
) -> None:
    fullenrich_api.then(Reply(200, "<!doctype html><title>Login</title>", {"Content-Type": "text/html"}))

    run = invoke()

    summary = run.summary()["fullenrich"]
    assert summary["failure"] == "bad_response"
    assert "not JSON" in summary["reason"]
    assert "fullenrich" not in run.metric("CreditsRemaining")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"balance": "5000"}, "'balance' must be a number, got string"),
        ({"balance": None}, "'balance' must be a number, got null"),
        ({"balance": True}, "'balance' must be a number, got boolean"),
        ({"credits": 5000}, "response has no 'balance' field"),
        ([5000], "must be a JSON object, got array"),
    ],
)
def test_schema_violations_fail_the_check_with_the_reason(
    invoke: Invoke, fullenrich_api: ApiSimulator, body: object, reason: str
) -> None:
    fullenrich_api.then(Reply(200, body))

    run = invoke()

    assert reason in run.summary()["fullenrich"]["reason"]
    assert run.check_failed()["fullenrich"] == 1
    error_lines = [log for log in run.logs if log["level"] == "ERROR"]
    assert any(reason in line["message"] for line in error_lines)


def test_lemlist_pools_with_a_string_is_a_schema_violation(invoke: Invoke, lemlist_api: ApiSimulator) -> None:
    lemlist_api.then(Reply(200, {"credits": 10, "details": {"remaining": {"paid": "10"}}}))

    run = invoke()

    assert "'details.remaining.paid' must be a number" in run.summary()["lemlist"]["reason"]


def test_wrong_key_fails_with_the_providers_error_after_one_secret_reread(
    invoke: Invoke, stack: Stack, fullenrich_api: ApiSimulator, lemlist_api: ApiSimulator
) -> None:
    lemlist_api.valid_keys = {"a-different-key"}

    run = invoke()

    summary = run.summary()["lemlist"]
    assert summary["failure"] == "auth"
    assert "The authentication you supplied is incorrect" in summary["reason"]
    assert run.check_failed() == {"fullenrich": 0, "lemlist": 1}
    assert len(lemlist_api.credit_requests) == 1  # the re-read found the same key: no second try


def test_rotated_key_is_picked_up_by_a_forced_reread_after_401(
    invoke: Invoke, stack: Stack, lemlist_api: ApiSimulator
) -> None:
    assert invoke().check_failed()["lemlist"] == 0  # warm: the old key is now cached
    rotated = json.dumps({"fullenrich": FULLENRICH_KEY, "lemlist": "lm_rotated_93b1c"})
    stack.secrets.put_secret_value(SecretId=stack.secret_id, SecretString=rotated)
    lemlist_api.valid_keys = {"lm_rotated_93b1c"}

    run = invoke()

    assert run.metric("CreditsRemaining")["lemlist"] == 800
    assert len(lemlist_api.credit_requests) == 3  # ok, 401 with the cached key, ok with the new one


@pytest.mark.parametrize("secret_string", [json.dumps({"fullenrich": FULLENRICH_KEY})])
def test_key_missing_from_secret_fails_that_provider_only(invoke: Invoke, lemlist_api: ApiSimulator) -> None:
    run = invoke()

    assert run.check_failed() == {"fullenrich": 0, "lemlist": 1}
    assert "no API key for 'lemlist'" in run.summary()["lemlist"]["reason"]
    assert lemlist_api.requests == []


@pytest.mark.parametrize("secret_string", ["fullenrich=abc;lemlist=def"])
def test_secret_that_is_not_json_fails_both_checks_without_echoing_it(invoke: Invoke) -> None:
    run = invoke()

    assert run.check_failed() == {"fullenrich": 1, "lemlist": 1}
    assert run.aggregate("AccountsFailing") == 2
    assert run.metric("CreditsRemaining") == {}
    reason = run.summary()["lemlist"]["reason"]
    assert "secret is not JSON" in reason
    assert "abc" not in run.output


@pytest.mark.parametrize("secret_string", [None])
def test_missing_secret_fails_both_checks_visibly(invoke: Invoke) -> None:
    run = invoke()

    assert run.check_failed() == {"fullenrich": 1, "lemlist": 1}
    assert run.summary()["fullenrich"]["failure"] == "secret"


def test_untrusted_certificate_is_refused_before_any_request(
    invoke: Invoke,
    fullenrich_api: ApiSimulator,
    lemlist_api: ApiSimulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: pytest.TempPathFactory,
) -> None:
    import trustme

    other_ca = trustme.CA()
    other_file = f"{tmp_path}/other-ca.pem"
    other_ca.cert_pem.write_to_path(other_file)
    monkeypatch.setenv("SSL_CERT_FILE", other_file)

    run = invoke()

    assert run.check_failed() == {"fullenrich": 1, "lemlist": 1}
    assert run.summary()["fullenrich"]["failure"] == "tls"
    assert fullenrich_api.requests == []
    assert lemlist_api.requests == []
    assert refused_handshakes(fullenrich_api) >= 1


def test_warm_invocations_read_the_secret_once(invoke: Invoke, stack: Stack) -> None:
    invoke()
    invoke()
    run = invoke()

    assert run.check_failed() == {"fullenrich": 0, "lemlist": 0}
    # moto records nothing per call, so count through the secret's LastAccessedDate is too coarse;
    # instead, delete the secret: a warm invocation that still succeeds never went back to it.
    stack.secrets.delete_secret(SecretId=stack.secret_id, ForceDeleteWithoutRecovery=True)
    assert invoke().check_failed() == {"fullenrich": 0, "lemlist": 0}


def test_unpublishable_alert_fails_the_invocation_after_metrics_and_is_sent_by_the_retry(
    invoke: Invoke, stack: Stack, lemlist_api: ApiSimulator
) -> None:
    lemlist_api.balance = 1
    stack.sns.delete_topic(TopicArn=stack.topic_arn)

    run = invoke()

    assert isinstance(run.error, DeliveryError)
    assert "lemlist" in str(run.error)
    assert run.metric("CreditsRemaining")["lemlist"] == 1  # flushed before the failure
    assert run.aggregate("NotificationsPending") == 1
    assert run.summary()["lemlist"]["status"] == "LOW"
    # The LOW stayed pending in the outbox: Lambda's retry sends it, nothing is lost.
    stack.subscribe_inbox()
    retry = invoke()
    assert retry.error is None
    assert [m["MessageAttributes"]["kind"]["Value"] for m in stack.inbox.messages()] == ["LOW"]


def test_bad_configuration_fails_the_cold_start_naming_the_variable(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, fullenrich_api: ApiSimulator
) -> None:
    monkeypatch.setenv("FULLENRICH_THRESHOLD", "a thousand")

    run = invoke()

    assert isinstance(run.error, ConfigError)
    assert "FULLENRICH_THRESHOLD must be a number, got 'a thousand'" in str(run.error)
    assert fullenrich_api.requests == []  # nothing is checked with a configuration it cannot trust
