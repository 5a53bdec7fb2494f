"""template.yaml and the code cannot drift: alarms, dashboard, environment, IAM and wiring are all
checked against what the function really does when it runs (EMF it prints, variables it reads,
AWS calls it makes against moto server)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from credit_monitor.config import load_lambda_config
from tests.support.aws import MotoServer, Stack, api_calls
from tests.support.cfn import ACCOUNT, PARTITION, REGION, Deployment, load_template, translate
from tests.support.contract import (
    Metric,
    RecordingEnvironment,
    alarm_drift,
    dashboard_drift,
    emitted_metrics,
    environment_drift,
    function_environment,
    policy_drift,
    role_statements,
    wiring_drift,
)
from tests.support.harness import Invocation, SimClock, invoke_handler
from tests.support.keys import assert_no_key_leaked
from tests.support.simulators import ApiSimulator

FUNCTION_NAME = "credit-monitor-CreditMonitorFunction-1A2B3C4D"
LOG_GROUP_ARN = f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/credit-monitor:*"


@pytest.fixture(scope="module")
def translated() -> dict[str, Any]:
    return translate(load_template())


@pytest.fixture
def deployment(translated: dict[str, Any], stack: Stack) -> Deployment:
    """The template resolved as if deployed into moto's account, with moto's topic."""
    topic_name = stack.topic_arn.rsplit(":", 1)[1]
    return Deployment(
        translated,
        refs={
            "AlertTopic": stack.topic_arn,
            "CreditMonitorFunction": FUNCTION_NAME,
            "AlertStateTable": stack.table_name,
        },
        attributes={
            ("AlertTopic", "TopicName"): topic_name,
            ("CreditMonitorLogGroup", "Arn"): LOG_GROUP_ARN,
            ("AlertStateTable", "Arn"): stack.table_arn,
        },
    )


@pytest.fixture
def recorded_run(
    function_env: dict[str, str],
    moto_server: MotoServer,
    stack: Stack,
    fullenrich_api: ApiSimulator,
    lemlist_api: ApiSimulator,
) -> tuple[Invocation, set[tuple[str, str]]]:
    """Runs that exercise every metric and AWS call: secret, state, a forecast, and a notification."""
    clock = SimClock()
    output = []
    with moto_server.recording() as recorded:
        for balance in (400, 300, 200):  # falling by 100 every 4 hours: a forecast after 8 hours
            lemlist_api.balance = balance
            fullenrich_api.balance = balance * 10
            run = invoke_handler(clock=clock)
            assert run.error is None, run.error
            output.append(run.output)
            clock.advance(4)
        lemlist_api.balance = 1
        last = invoke_handler()  # through the real Lambda entry point, alerting
    assert last.error is None, last.error
    assert stack.secret_arn is not None
    assert_no_key_leaked(*output, last.output, json.dumps(stack.inbox.messages()))
    merged = Invocation(result=last.result, error=None, output="\n".join([*output, last.output]))
    return merged, api_calls(recorded, {stack.secret_id: stack.secret_arn, stack.table_name: stack.table_arn})


def report(drift: list[str]) -> str:
    return "template.yaml and the code have drifted:\n  - " + "\n  - ".join(drift)


def test_the_function_emits_seven_aggregates_and_one_balance_per_account(
    recorded_run: tuple[Invocation, set[tuple[str, str]]],
) -> None:
    """What tests/template takes as the code's side: nothing per account but CreditsRemaining, so the
    metric bill grows by one metric per account at most, and alarms can watch dimensionless totals."""
    run, _ = recorded_run
    assert emitted_metrics(run.emf) == {
        Metric("CreditMonitor", name, ())
        for name in (
            "AccountsChecked",
            "AccountsFailing",
            "AccountsNotChecked",
            "AccountsLow",
            "AccountsCritical",
            "NotificationsPending",
            "MinDaysUntilEmpty",
        )
    } | {
        Metric("CreditMonitor", "CreditsRemaining", (("Account", account),))
        for account in ("fullenrich", "lemlist")
    }


def test_alarms_watch_metrics_the_function_emits(
    deployment: Deployment, recorded_run: tuple[Invocation, set[tuple[str, str]]]
) -> None:
    run, _ = recorded_run
    drift = alarm_drift(deployment, emitted_metrics(run.emf))
    assert not drift, report(drift)


def test_dashboard_plots_metrics_the_function_emits(
    deployment: Deployment,
    recorded_run: tuple[Invocation, set[tuple[str, str]]],
    function_env: dict[str, str],
) -> None:
    run, _ = recorded_run
    drift = dashboard_drift(
        deployment, emitted_metrics(run.emf), function_env["POWERTOOLS_METRICS_NAMESPACE"]
    )
    assert not drift, report(drift)


def test_role_allows_exactly_the_calls_the_code_makes(
    deployment: Deployment, recorded_run: tuple[Invocation, set[tuple[str, str]]]
) -> None:
    _, calls = recorded_run
    assert {action for action, _ in calls} == {
        "secretsmanager:GetSecretValue",
        "sns:Publish",
        "dynamodb:BatchGetItem",
        "dynamodb:PutItem",
    }
    statements, drift = role_statements(deployment)
    drift += policy_drift(statements, calls)
    assert not drift, report(drift)


def test_environment_set_by_the_template_is_exactly_what_the_config_reads(deployment: Deployment) -> None:
    template_env = function_environment(deployment)
    recording = RecordingEnvironment(template_env)
    load_lambda_config(recording)
    drift = environment_drift(template_env, recording.read)
    assert not drift, report(drift)


def test_schedule_dead_letter_queue_and_alarm_actions_point_at_real_resources(
    translated: dict[str, Any],
) -> None:
    drift = wiring_drift(translated)
    assert not drift, report(drift)


def test_role_allows_publish_to_exactly_the_route_topics_the_code_publishes_to(
    translated: dict[str, Any],
    deployment: Deployment,
    aws: str,
    stack: Stack,
    accounts_file: Callable[[str], Path],
    lemlist_api: ApiSimulator,
    moto_server: MotoServer,
) -> None:
    """A route's own topic (another region's, as a client's e-mail list may be) is published to with
    the grant RouteTopicArns gives, as `make deploy` sets it from the accounts file; without it, the
    role would not allow the publish."""
    topic = boto3.client("sns", endpoint_url=aws, region_name="eu-west-1").create_topic(Name="acme-alerts")
    route_topic = topic["TopicArn"]
    accounts_file(
        f'[[account]]\nid = "lemlist"\nprovider = "lemlist"\nwarning = 100\nurl = "{lemlist_api.base_url}"\n'
        'labels = { client = "acme" }\n\n'
        f'[[route]]\nmatch = {{ client = "acme" }}\ntopic = "{route_topic}"\n'
    )
    lemlist_api.balance = 1
    with moto_server.recording() as recorded:
        run = invoke_handler()
    assert run.error is None, run.error
    assert stack.secret_arn is not None
    calls = api_calls(recorded, {stack.secret_id: stack.secret_arn, stack.table_name: stack.table_arn})
    assert {("sns:Publish", stack.topic_arn), ("sns:Publish", route_topic)} <= calls

    refs = {**deployment.refs, "RouteTopicArns": [route_topic]}
    granted = Deployment(translated, refs, deployment.attributes)
    statements, drift = role_statements(granted)
    drift += policy_drift(statements, calls)
    assert not drift, report(drift)
    statements, _ = role_statements(deployment)  # RouteTopicArns empty, as without routes
    assert policy_drift(statements, calls) == [
        f"the code calls sns:Publish on {route_topic}, which the role does not allow"
    ]
