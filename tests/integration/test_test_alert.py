"""`credit-monitor test-alert`: the real handler, given the test event, publishes one message
marked as a test to its SNS topic (moto SNS -> SQS, what a subscriber receives) and returns what
each receiver accepted; the CLI prints that per receiver, with exit 0 only when all accepted."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path

import boto3
import pytest
import trustme

from credit_monitor import app, cli
from credit_monitor.adapters.function import InvokeError
from credit_monitor.adapters.receivers import StackAndRoutes
from credit_monitor.budget import Budget
from credit_monitor.cli import EXIT_FAILED, EXIT_OK
from credit_monitor.routes import PagerDutyRegion
from tests.integration.conftest import KEYS_JSON
from tests.support.aws import REGION, MotoServer, Stack, request_body
from tests.support.harness import invoke_handler
from tests.support.keys import PAGERDUTY_ROUTING_KEY, RECEIVER_SECRETS, assert_no_key_leaked
from tests.support.receivers import ReceiverSimulator
from tests.support.simulators import ApiSimulator, Reply

TEST_EVENT = {"trigger": "test-alert"}


@pytest.mark.usefixtures("function_env")
def test_the_function_sends_a_message_marked_as_a_test_and_returns_its_id(
    stack: Stack, fullenrich_api: ApiSimulator, lemlist_api: ApiSimulator
) -> None:
    run = invoke_handler(TEST_EVENT)

    assert run.error is None, run.error
    assert run.result is not None
    [delivery] = run.result["test-alert"]
    [received] = stack.inbox.messages()
    assert delivery == {"receiver": "SNS topic credit-monitor-alerts", "accepted": received["MessageId"]}
    assert received["Subject"].startswith("[credit-monitor] TEST:")
    assert received["MessageAttributes"]["kind"]["Value"] == "TEST"
    assert "This is a test message" in received["Message"]
    assert "Nothing needs doing" in received["Message"]
    assert fullenrich_api.requests == lemlist_api.requests == [], "no vendor is asked"
    assert stack.dynamodb.scan(TableName=stack.table_name)["Items"] == [], "no state is written"


@pytest.mark.usefixtures("function_env")
def test_a_receiver_that_refuses_is_reported_with_why_and_the_function_does_not_fail(stack: Stack) -> None:
    stack.sns.delete_topic(TopicArn=stack.topic_arn)

    run = invoke_handler(TEST_EVENT)

    assert run.error is None, run.error
    assert run.result is not None
    [delivery] = run.result["test-alert"]
    assert delivery["receiver"] == "SNS topic credit-monitor-alerts"
    assert delivery["refused"].startswith(
        "could not publish the TEST notification: An error occurred (NotFound)"
    )
    assert "accepted" not in delivery
    errors = [log["message"] for log in run.logs if log["level"] == "ERROR"]
    assert errors == [f"test alert refused by SNS topic credit-monitor-alerts: {delivery['refused']}"]


class FakeInvoker:
    """Stands in for Lambda's Invoke: what the real handler returned, or the error the adapter raises."""

    def __init__(self, reply: object = None, error: Exception | None = None) -> None:
        self.reply, self.error = reply, error
        self.events: list[Mapping[str, object]] = []

    def invoke(self, event: Mapping[str, object]) -> object:
        self.events.append(event)
        if self.error is not None:
            raise self.error
        return self.reply


def run_cli(
    invoker: FakeInvoker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> tuple[int, bytes, str]:
    """`credit-monitor test-alert --function F` writing to a real file on a strict UTF-8 stream."""
    monkeypatch.setattr(cli, "lambda_invoker", lambda args, env: invoker)
    path = tmp_path / "stdout"
    with path.open("w", encoding="utf-8", errors="strict") as out:
        status = cli.main(["test-alert", "--function", "credit-monitor-fn"], out=out)
    return status, path.read_bytes(), capfd.readouterr().err


@pytest.mark.usefixtures("function_env")
def test_the_command_prints_each_receivers_answer_from_the_functions_real_reply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    reply = invoke_handler(TEST_EVENT).result
    invoker = FakeInvoker(reply)

    status, out, err = run_cli(invoker, tmp_path, monkeypatch, capfd)

    assert status == EXIT_OK, err
    assert invoker.events == [TEST_EVENT]
    assert reply is not None
    [delivery] = reply["test-alert"]
    assert (
        out
        == (
            f"SNS topic credit-monitor-alerts: accepted (message id {delivery['accepted']})\n"
            "A receiver that accepted it delivers it now. Nothing arrived? An e-mail subscription must be"
            " confirmed first, and a subscription's filter policy may leave out kind TEST.\n"
        ).encode()
    )


@pytest.mark.usefixtures("function_env")
def test_a_receiver_that_refused_is_printed_with_why_and_exits_three(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    stack.sns.delete_topic(TopicArn=stack.topic_arn)
    reply = invoke_handler(TEST_EVENT).result

    status, out, _ = run_cli(FakeInvoker(reply), tmp_path, monkeypatch, capfd)

    assert status == EXIT_FAILED
    assert out.decode("utf-8").startswith(
        "SNS topic credit-monitor-alerts: REFUSED: could not publish the TEST notification: An error occurred"
        " (NotFound)"
    )
    assert b"accepted" not in out


@pytest.mark.parametrize(
    ("invoker", "message"),
    [
        (
            FakeInvoker(error=InvokeError("function 'credit-monitor-fn' in us-east-1 failed: StateError: x")),
            "credit-monitor: function 'credit-monitor-fn' in us-east-1 failed: StateError: x\n",
        ),
        (
            FakeInvoker({"accounts": {}, "notifications": []}),
            "credit-monitor: the deployed function ran a scheduled check instead: it predates test-alert;"
            " deploy this version\n",
        ),
        (
            FakeInvoker({"test-alert": [{"receiver": "\x1b[2J"}]}),
            "credit-monitor: the function's reply is not a test-alert report; deploy this version\n",
        ),
    ],
    ids=["function-error", "older-function", "not-a-report"],
)
def test_a_function_that_failed_or_does_not_know_the_event_exits_three_saying_so(
    invoker: FakeInvoker,
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    status, out, err = run_cli(invoker, tmp_path, monkeypatch, capfd)

    assert status == EXIT_FAILED
    assert out == b""
    assert err == message


def test_receiver_text_from_the_reply_is_printed_escaped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    reply = {"test-alert": [{"receiver": "hook\x1b[2J", "refused": "bad\u202egateway"}]}

    status, out, _ = run_cli(FakeInvoker(reply), tmp_path, monkeypatch, capfd)

    assert status == EXIT_FAILED
    assert out == b"hook\\x1b[2J: REFUSED: bad\\u202egateway\n"


@pytest.mark.usefixtures("function_env")
def test_the_command_finds_the_stacks_function_and_invokes_it_over_lambdas_api(
    stack: Stack, aws: str, moto_server: MotoServer
) -> None:
    """End to end but for the run itself: the stack's FunctionName output, Lambda's Invoke in
    moto, a stand-in function answering with what the real handler returned."""
    reply = invoke_handler(TEST_EVENT).result
    with moto_server.stand_in_function("credit-monitor-fn", json.dumps(reply)) as function:
        boto3.client("cloudformation", endpoint_url=aws, region_name=REGION).create_stack(
            StackName="credit-monitor",
            TemplateBody=json.dumps(
                {
                    "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
                    "Outputs": {"FunctionName": {"Value": function}},
                }
            ),
        )
        with moto_server.recording() as calls:
            completed = subprocess.run(
                [sys.executable, "-m", "credit_monitor", "test-alert", "--stack", "credit-monitor"],
                env={**os.environ, "PYTHONIOENCODING": "utf-8"},
                capture_output=True,
                timeout=60,
                check=False,
            )

    assert completed.returncode == EXIT_OK, completed.stderr
    assert reply is not None
    [delivery] = reply["test-alert"]
    assert completed.stdout.decode("utf-8").splitlines()[0] == (
        f"SNS topic credit-monitor-alerts: accepted (message id {delivery['accepted']})"
    )
    invoked = [call for call in calls if "/functions/credit-monitor-fn/invocations" in call["url"]]
    assert len(invoked) == 1, "invoked once: a retry would send the test twice"
    assert json.loads(request_body(invoked[0])) == TEST_EVENT


@pytest.fixture
def pagerduty(server_cert: trustme.LeafCert) -> Iterator[ReceiverSimulator]:
    simulator = ReceiverSimulator("pagerduty", server_cert).start()
    yield simulator
    simulator.stop()


def routed_runtime(
    stack: Stack, accounts_file: Callable[[str], Path], pagerduty: ReceiverSimulator
) -> app.Runtime:
    """The function's runtime at its cold start with a route to PagerDuty (its routing key in the
    secret), whose Events API is the simulator."""
    stack.secrets.put_secret_value(
        SecretId=stack.secret_id,
        SecretString=json.dumps({**json.loads(KEYS_JSON), "acme-pagerduty": PAGERDUTY_ROUTING_KEY}),
    )
    accounts_file(
        '[[account]]\nid = "lemlist"\nprovider = "lemlist"\nwarning = 100\n'
        '[[route]]\nname = "acme"\npagerduty = "acme-pagerduty"\n'
    )
    runtime = app.runtime()
    urls = dict.fromkeys(PagerDutyRegion, pagerduty.url)
    sources = StackAndRoutes(
        runtime.config.alert_topic_arn, runtime.ports.keys, runtime.ports.http, pagerduty_urls=urls
    )
    return replace(runtime, ports=replace(runtime.ports, receivers=sources))


@pytest.mark.usefixtures("function_env")
def test_a_test_alert_reaches_pagerduty_as_a_trigger_marked_test_resolved_at_once(
    stack: Stack,
    accounts_file: Callable[[str], Path],
    pagerduty: ReceiverSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """PagerDuty opens incidents only for alerts: the test is one (severity info, marked TEST), and
    its resolve follows in the same delivery, so the on-call sees it come and go."""
    runtime = routed_runtime(stack, accounts_file, pagerduty)

    result = app.handle_test_alert(runtime, Budget.start(30, 6), "acme")

    [answer] = result["test-alert"]
    trigger, resolve = pagerduty.accepted
    key = trigger["dedup_key"]
    assert re.fullmatch(r"credit-monitor/test/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", key)
    assert answer == {"receiver": "route acme: pagerduty acme-pagerduty", "accepted": key}
    assert trigger["payload"]["summary"].startswith("[credit-monitor] TEST:")
    assert trigger["payload"]["severity"] == "info"
    assert (resolve["event_action"], resolve["dedup_key"]) == ("resolve", key)
    assert pagerduty.incidents == {(PAGERDUTY_ROUTING_KEY, key): "resolved"}
    assert pagerduty.open_incidents() == []
    assert stack.inbox.messages() == [], "a route's test goes to that route's receivers alone"
    assert_no_key_leaked(json.dumps(result), caplog.text, keys=RECEIVER_SECRETS)


@pytest.mark.usefixtures("function_env")
def test_the_command_prints_pagerdutys_dedup_key_and_what_a_webhook_said(
    stack: Stack,
    accounts_file: Callable[[str], Path],
    pagerduty: ReceiverSimulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """Slack, Teams and webhooks answer with no id: what they said is printed, not as a message id."""
    reply = app.handle_test_alert(
        routed_runtime(stack, accounts_file, pagerduty), Budget.start(30, 6), "acme"
    )
    reply["test-alert"].append(
        {"receiver": "route acme: slack acme-slack", "accepted": "accepted (HTTP 200)"}
    )

    status, out, _ = run_cli(FakeInvoker(reply), tmp_path, monkeypatch, capfd)

    assert status == EXIT_OK
    key = pagerduty.accepted[0]["dedup_key"]
    assert out.decode("utf-8").splitlines()[:2] == [
        f"route acme: pagerduty acme-pagerduty: accepted (dedup_key {key})",
        "route acme: slack acme-slack: accepted (HTTP 200)",
    ]


@pytest.mark.usefixtures("function_env")
def test_a_pagerduty_test_whose_resolve_is_refused_is_refused_saying_the_alert_stays_open(
    stack: Stack,
    accounts_file: Callable[[str], Path],
    pagerduty: ReceiverSimulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    runtime = routed_runtime(stack, accounts_file, pagerduty)
    pagerduty.then(
        Reply(202, {"status": "success", "message": "Event processed", "dedup_key": "k"}),
        Reply(400, {"status": "invalid event", "message": "Event object is invalid", "errors": ["nope"]}),
    )
    reply = app.handle_test_alert(runtime, Budget.start(30, 6), None)

    status, out, _ = run_cli(FakeInvoker(reply), tmp_path, monkeypatch, capfd)

    assert status == EXIT_FAILED
    [topic, refused] = out.decode("utf-8").splitlines()[:2]
    assert topic.startswith("SNS topic credit-monitor-alerts: accepted (message id ")
    key = pagerduty.posts[0].json()["dedup_key"]
    assert refused == (
        "route acme: pagerduty acme-pagerduty: REFUSED: refused: HTTP 400: Event object is invalid; nope"
        f" (1 of 2 events accepted before it); the test alert {key} stays open until resolved in PagerDuty"
    )
