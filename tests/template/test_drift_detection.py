"""The contract checks catch what they promise to catch: each test breaks one thing the way a person
would (in the template text, or in what the code emits or calls) and asserts the message names it."""

from __future__ import annotations

import contextlib

import pytest

from credit_monitor.config import load_lambda_config
from tests.support.cfn import TEMPLATE, Deployment, load_template, translate
from tests.support.contract import (
    Metric,
    RecordingEnvironment,
    alarm_drift,
    dashboard_drift,
    environment_drift,
    function_environment,
    policy_drift,
    role_statements,
    wiring_drift,
)

TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:credit-monitor-AlertTopic"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:credit-monitor/api-keys-Ab12Cd"
TABLE_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/credit-monitor-AlertStateTable"
CALLS = {
    ("secretsmanager:GetSecretValue", SECRET_ARN),
    ("sns:Publish", TOPIC_ARN),
    ("dynamodb:BatchGetItem", TABLE_ARN),
    ("dynamodb:PutItem", TABLE_ARN),
}


AGGREGATES = (
    "AccountsChecked",
    "AccountsFailing",
    "AccountsNotChecked",
    "AccountsLow",
    "AccountsCritical",
    "NotificationsPending",
    "MinDaysUntilEmpty",
)


def emitted(balance: str = "CreditsRemaining", renamed: tuple[str, str] = ("", "")) -> set[Metric]:
    """What the code emits (established for real by tests/integration/test_contract.py)."""
    old, new = renamed
    aggregates = {Metric("CreditMonitor", new if name == old else name, ()) for name in AGGREGATES}
    return aggregates | {
        Metric("CreditMonitor", balance, (("Account", account),)) for account in ("fullenrich", "lemlist")
    }


def deployment(old: str = "", new: str = "", route_topics: tuple[str, ...] = ()) -> Deployment:
    """The template (`old` replaced by `new`) as deployed with RouteTopicArns `route_topics`."""
    text = TEMPLATE.read_text()
    if old:
        assert old in text, f"the mutation no longer applies: {old!r} is not in template.yaml"
        text = text.replace(old, new)
    return Deployment(
        translate(load_template(text)),
        refs={
            "AlertTopic": TOPIC_ARN,
            "CreditMonitorFunction": "fn",
            "RouteTopicArns": list(route_topics) or [""],  # CloudFormation's list of an empty value
        },
        attributes={
            ("AlertTopic", "TopicName"): "credit-monitor-AlertTopic",
            ("AlertStateTable", "Arn"): TABLE_ARN,
        },
    )


def test_the_unchanged_template_has_no_drift() -> None:
    d = deployment()
    statements, role_problems = role_statements(d)
    assert alarm_drift(d, emitted()) == []
    assert dashboard_drift(d, emitted(), "CreditMonitor") == []
    assert role_problems + policy_drift(statements, CALLS) == []
    assert wiring_drift(d.template) == []


def test_aggregate_renamed_in_the_code_is_caught_by_its_alarm_and_widget() -> None:
    d = deployment()
    code = emitted(renamed=("AccountsLow", "LowAccounts"))
    drift = alarm_drift(d, code)
    assert len(drift) == 1
    assert drift[0].startswith("alarm LowBalanceAlarm watches CreditMonitor/AccountsLow [no dimensions]")
    assert "which the function never emits" in drift[0]
    assert dashboard_drift(d, code, "CreditMonitor") == [
        "dashboard CreditMonitorDashboard widget 'Accounts low, critical and failing' plots "
        "CreditMonitor/AccountsLow [no dimensions], never emitted"
    ]


def test_balance_renamed_in_the_code_is_caught_by_the_search_widget() -> None:
    [line] = dashboard_drift(deployment(), emitted(balance="CreditsLeft"), "CreditMonitor")
    assert line.startswith(
        "dashboard CreditMonitorDashboard widget 'Balance per account (credits or money)' searches "
        'SEARCH {CreditMonitor,Account} MetricName="CreditsRemaining", which matches nothing the function'
    )


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "{CreditMonitor,Account}",
            "{CreditMonitor,Provider}",
            'SEARCH {CreditMonitor,Provider} MetricName="CreditsRemaining", which matches nothing',
        ),
        (
            "{CreditMonitor,Account}",
            "{CreditMonitor}",
            'SEARCH {CreditMonitor} MetricName="CreditsRemaining", which matches nothing',
        ),
        (
            'MetricName=\\"CreditsRemaining\\"',
            'MetricName=\\"CreditRemaining\\"',
            'MetricName="CreditRemaining", which matches nothing',
        ),
        ('MetricName=\\"CreditsRemaining\\"', "CreditsRemaining", "has search terms other than"),
        (' MetricName=\\"CreditsRemaining\\"', "", "names no MetricName"),
        (
            'MetricName=\\"CreditsRemaining\\"',
            'MetricName=\\"CreditsRemaining\\" Provider=\\"lemlist\\"',
            "filters on Provider, which is not in its schema",
        ),
    ],
)
def test_search_widget_that_cannot_match_what_the_code_emits_is_caught(
    old: str, new: str, expected: str
) -> None:
    [line] = dashboard_drift(deployment(old, new), emitted(), "CreditMonitor")
    assert line.startswith(
        "dashboard CreditMonitorDashboard widget 'Balance per account (credits or money)' "
    )
    assert expected in line


def test_alarm_pinned_to_one_account_with_a_dimension_the_code_does_not_emit_is_caught() -> None:
    d = deployment(
        "      MetricName: AccountsLow\n",
        "      MetricName: AccountsLow\n      Dimensions: [{Name: Provider, Value: lemlist}]\n",
    )
    assert any(
        line.startswith(
            "alarm LowBalanceAlarm watches CreditMonitor/AccountsLow [Provider=lemlist], which the function"
            " never emits"
        )
        for line in alarm_drift(d, emitted())
    )


def test_composite_alarm_on_a_removed_alarm_is_caught() -> None:
    d = deployment('ALARM("${SilentAlarm}")', 'ALARM("FullenrichSilentAlarm")')
    assert alarm_drift(d, emitted()) == [
        "composite alarm MonitorNotReportingAlarm refers to FullenrichSilentAlarm,"
        " which is not an alarm in the template"
    ]


def test_dropped_policy_statement_is_caught() -> None:
    d = deployment(
        "                Action: sns:Publish\n", "                Action: sns:GetTopicAttributes\n"
    )
    statements, _ = role_statements(d)
    drift = policy_drift(statements, CALLS)
    assert f"the code calls sns:Publish on {TOPIC_ARN}, which the role does not allow" in drift
    assert "the role grants sns:GetTopicAttributes, which the code never calls" in drift


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "                  - !Ref AlertTopic\n",
            '                  - "*"\n',
            "the role grants sns:Publish on Resource '*', where a specific ARN exists",
        ),
        ("Action: sns:Publish", 'Action: "sns:*"', "the role grants wildcard action 'sns:*'"),
    ],
)
def test_policy_widened_to_a_wildcard_is_caught(old: str, new: str, expected: str) -> None:
    statements, _ = role_statements(deployment(old, new))
    assert expected in policy_drift(statements, CALLS)


def test_managed_policy_on_the_role_is_caught() -> None:
    d = deployment(
        "      Policies:\n        - PolicyName: write-own-logs",
        "      ManagedPolicyArns: [arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]\n"
        "      Policies:\n        - PolicyName: write-own-logs",
    )
    _, drift = role_statements(d)
    assert drift == [
        "role CreditMonitorRole attaches managed policy "
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole, whose grants cannot be checked"
    ]


def _environment_drift(d: Deployment) -> list[str]:
    env = function_environment(d)
    recording = RecordingEnvironment(env)
    with contextlib.suppress(ValueError):  # a missing required variable: what was read still tells
        load_lambda_config(recording)
    return environment_drift(env, recording.read)


def test_unused_environment_variable_is_caught() -> None:
    d = deployment(
        '          CHECK_DEADLINE_SECONDS: "10"\n',
        '          CHECK_DEADLINE_SECONDS: "10"\n          FEATURE_X: "on"\n',
    )
    assert _environment_drift(d) == ["template.yaml sets FEATURE_X, but the config never reads it"]


def test_a_test_override_set_by_the_template_is_caught() -> None:
    """PAGERDUTY_<REGION>_EVENTS_URL points PagerDuty at a local simulator: never in a deployment."""
    d = deployment(
        '          CHECK_DEADLINE_SECONDS: "10"\n',
        '          CHECK_DEADLINE_SECONDS: "10"\n          PAGERDUTY_EU_EVENTS_URL: "https://pd.example/v2"\n',
    )
    assert _environment_drift(d) == ["template.yaml sets PAGERDUTY_EU_EVENTS_URL, which is for tests only"]


def test_environment_variable_the_template_forgot_is_caught() -> None:
    d = deployment('          CHECK_DEADLINE_SECONDS: "10"\n', "")
    assert _environment_drift(d) == [
        "the config reads CHECK_DEADLINE_SECONDS, but template.yaml does not set it"
    ]


def test_schedule_without_its_dead_letter_queue_is_caught() -> None:
    d = deployment(
        "            DeadLetterConfig:\n              Arn: !GetAtt ScheduleDeadLetterQueue.Arn\n", ""
    )
    assert any("dead-letter queue: has no dead-letter queue" in line for line in wiring_drift(d.template))


def test_alarm_action_pointing_elsewhere_is_caught() -> None:
    d = deployment(
        "      AlarmActions: [!Ref AlertTopic]\n", "      AlarmActions: [!Ref ScheduleDeadLetterQueue]\n"
    )
    assert any(
        "AlarmActions" in line and "is not a AWS::SNS::Topic" in line for line in wiring_drift(d.template)
    )


def test_lambda_alarm_on_another_function_is_caught() -> None:
    d = deployment(
        "      Dimensions: [{Name: FunctionName, Value: !Ref CreditMonitorFunction}]",
        "      Dimensions: [{Name: FunctionName, Value: some-other-function}]",
    )
    assert (
        "alarm FunctionErrorsAlarm watches AWS/Lambda/Errors [FunctionName=some-other-function], "
        "not this stack's function"
    ) in alarm_drift(d, emitted())


def test_drift_message_stays_short_with_hundreds_of_accounts() -> None:
    code = {m for m in emitted(balance="CreditsLeft") if not m.dimensions} | {
        Metric("CreditMonitor", "CreditsLeft", (("Account", f"client-{n:03}"),)) for n in range(500)
    }
    [line] = dashboard_drift(deployment(), code, "CreditMonitor")
    assert "CreditMonitor/CreditsLeft [Account: 500 values]" in line
    assert "client-" not in line


ROUTE_TOPICS = (
    "arn:aws:sns:eu-west-1:123456789012:acme-alerts",
    "arn:aws:sns:us-east-1:210987654321:globex-alerts",
)
ROUTE_CALLS = CALLS | {("sns:Publish", arn) for arn in ROUTE_TOPICS}


def test_the_routes_topics_are_granted_exactly_and_only_when_there_are_some() -> None:
    """RouteTopicArns (make deploy's, from the accounts file) grants publish on each of its ARNs; a
    stack without route topics grants nothing more than its own topic."""
    routed = deployment(route_topics=ROUTE_TOPICS)
    statements, problems = role_statements(routed)
    assert problems + policy_drift(statements, ROUTE_CALLS) == []
    assert function_environment(routed)["ROUTE_TOPIC_ARNS"] == ",".join(ROUTE_TOPICS)

    plain = deployment()
    statements, _ = role_statements(plain)
    assert [s["Resource"] for s in statements if s["Action"] == "sns:Publish"] == [TOPIC_ARN]
    assert function_environment(plain)["ROUTE_TOPIC_ARNS"] == ""
    assert policy_drift(statements, ROUTE_CALLS) == [
        f"the code calls sns:Publish on {arn}, which the role does not allow" for arn in sorted(ROUTE_TOPICS)
    ]


def test_a_route_topic_grant_widened_to_a_wildcard_is_caught() -> None:
    widened = deployment(
        '!Join [",", !Ref RouteTopicArns]]]]', '"arn:aws:sns:*"]]]', route_topics=ROUTE_TOPICS
    )
    statements, _ = role_statements(widened)
    assert policy_drift(statements, ROUTE_CALLS) == [
        "the role grants sns:Publish on 'arn:aws:sns:*', a pattern, where specific ARNs exist"
    ]
