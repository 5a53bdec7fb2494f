"""Drift between template.yaml and what the code really does. Each check returns sentences, not booleans,
so a failing `make test` says exactly what drifted."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from tests.support.cfn import Deployment

FUNCTION = "CreditMonitorFunction"

SERVICE_ACTIONS = {
    "logs:CreateLogStream": "Lambda writes the function's logs with its role",
    "logs:PutLogEvents": "Lambda writes the function's logs with its role",
}
"""Actions the Lambda service performs with the function's role, which no test can record."""

NO_RESOURCE_LEVEL_ACTIONS: frozenset[str] = frozenset()
"""Actions AWS authorises only on Resource "*" (e.g. cloudwatch:PutMetricData); none needed today."""


@dataclass(frozen=True, order=True)
class Metric:
    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]

    def __str__(self) -> str:
        dims = ", ".join(f"{k}={v}" for k, v in self.dimensions) or "no dimensions"
        return f"{self.namespace}/{self.name} [{dims}]"


def emitted_metrics(emf_documents: Iterable[Mapping[str, Any]]) -> set[Metric]:
    """What the function really emitted, read from its EMF output."""
    metrics = set()
    for doc in emf_documents:
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                dims = tuple(sorted((name, str(doc[name])) for name in dimension_set))
                for metric in directive["Metrics"]:
                    metrics.add(Metric(directive["Namespace"], metric["Name"], dims))
    return metrics


def _resources(template: Mapping[str, Any], kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == kind:
            yield logical_id, resource


def alarm_drift(deployment: Deployment, emitted: set[Metric]) -> list[str]:
    template = deployment.template
    drift = []
    function_name = deployment.ref(FUNCTION)
    for logical_id, alarm in _resources(template, "AWS::CloudWatch::Alarm"):
        props = deployment.resolve(alarm["Properties"])
        dims = tuple(sorted((d["Name"], str(d["Value"])) for d in props.get("Dimensions", [])))
        watched = Metric(props["Namespace"], props["MetricName"], dims)
        if props["Namespace"] == "AWS/Lambda":  # emitted by Lambda itself: it must be about our function
            if dict(dims).get("FunctionName") != function_name:
                drift.append(f"alarm {logical_id} watches {watched}, not this stack's function")
        elif watched not in emitted:
            drift.append(
                f"alarm {logical_id} watches {watched}, which the function never emits "
                f"(it emits: {'; '.join(str(m) for m in sorted(emitted))})"
            )
    alarms = {logical_id for logical_id, _ in _resources(template, "AWS::CloudWatch::Alarm")}
    for logical_id, composite in _resources(template, "AWS::CloudWatch::CompositeAlarm"):
        rule = deployment.resolve(composite["Properties"]["AlarmRule"])
        for name in re.findall(r'ALARM\("([^"]+)"\)', rule):
            if name not in alarms:
                drift.append(
                    f"composite alarm {logical_id} refers to {name}, which is not an alarm in the template"
                )
    return drift


def dashboard_drift(deployment: Deployment, emitted: set[Metric], namespace: str) -> list[str]:
    template = deployment.template
    drift = []
    function_name = deployment.ref(FUNCTION)
    alarm_arns = {deployment.get_att(a, "Arn") for a, _ in _resources(template, "AWS::CloudWatch::Alarm")}
    alarm_arns |= {
        deployment.get_att(a, "Arn") for a, _ in _resources(template, "AWS::CloudWatch::CompositeAlarm")
    }
    for logical_id, dashboard in _resources(template, "AWS::CloudWatch::Dashboard"):
        body = json.loads(deployment.resolve(dashboard["Properties"]["DashboardBody"]))
        for widget in body["widgets"]:
            props = widget["properties"]
            title = props.get("title", "untitled")
            for row in props.get("metrics", []):
                plain = [item for item in row if not isinstance(item, dict)]
                ns, name, pairs = plain[0], plain[1], plain[2:]
                dims = tuple(sorted(zip(pairs[::2], pairs[1::2], strict=True)))
                metric = Metric(ns, name, dims)
                if ns == namespace and metric not in emitted:
                    drift.append(f"dashboard {logical_id} widget '{title}' plots {metric}, never emitted")
                if ns == "AWS/Lambda" and dict(dims).get("FunctionName") != function_name:
                    drift.append(
                        f"dashboard {logical_id} widget '{title}' plots {metric}, not this stack's function"
                    )
            for arn in props.get("alarms", []):
                if arn not in alarm_arns:
                    drift.append(
                        f"dashboard {logical_id} widget '{title}' shows alarm {arn}, not in the template"
                    )
    return drift


def function_environment(deployment: Deployment) -> dict[str, str]:
    props = deployment.template["Resources"][FUNCTION]["Properties"]
    variables = props.get("Environment", {}).get("Variables", {})
    return {name: str(deployment.resolve(value)) for name, value in variables.items()}


def environment_drift(set_by_template: Iterable[str], read_by_config: Iterable[str]) -> list[str]:
    set_vars, read_vars = set(set_by_template), set(read_by_config)
    return [
        f"the config reads {name}, but template.yaml does not set it" for name in sorted(read_vars - set_vars)
    ] + [f"template.yaml sets {name}, but the config never reads it" for name in sorted(set_vars - read_vars)]


class RecordingEnvironment(Mapping[str, str]):
    """An environment that remembers which variables were looked up."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return self._values[key]

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.read.add(key)
        return key in self._values

    def __iter__(self) -> Iterator[str]:
        raise AssertionError("the config must look variables up by name, not iterate the environment")

    def __len__(self) -> int:
        return len(self._values)


def role_statements(deployment: Deployment) -> tuple[list[dict[str, Any]], list[str]]:
    """The function role's Allow statements (resolved), and drift found in the role itself."""
    template = deployment.template
    role_ref = template["Resources"][FUNCTION]["Properties"]["Role"]
    role_id = role_ref["Fn::GetAtt"][0] if "Fn::GetAtt" in role_ref else None
    if role_id not in template["Resources"]:
        return [], [f"the function's role {role_ref} is not a role defined in the template"]
    role = template["Resources"][role_id]["Properties"]
    drift = [
        f"role {role_id} attaches managed policy {arn}, whose grants cannot be checked"
        for arn in role.get("ManagedPolicyArns", [])
    ]
    statements = []
    for policy in role.get("Policies", []):
        document = deployment.resolve(policy["PolicyDocument"])
        listed = document["Statement"]
        statements += listed if isinstance(listed, list) else [listed]
    return statements, drift


def _as_list(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]


def policy_drift(statements: list[dict[str, Any]], calls: set[tuple[str, str]]) -> list[str]:
    """Every recorded call is allowed on its exact resource, and nothing more is allowed."""
    drift = []
    called_actions = {action for action, _ in calls}
    allows = [s for s in statements if s.get("Effect") == "Allow"]
    for statement in allows:
        resources = _as_list(statement.get("Resource", []))
        for action in _as_list(statement.get("Action", [])):
            if "*" in action:
                drift.append(f"the role grants wildcard action {action!r}")
            elif action not in called_actions and action not in SERVICE_ACTIONS:
                drift.append(f"the role grants {action}, which the code never calls")
            if "*" in resources and action not in NO_RESOURCE_LEVEL_ACTIONS:
                drift.append(f"the role grants {action} on Resource '*', where a specific ARN exists")
    for action, resource in sorted(calls):
        if not any(
            any(fnmatchcase(action.lower(), a.lower()) for a in _as_list(s.get("Action", [])))
            and any(fnmatchcase(resource, r) for r in _as_list(s.get("Resource", [])))
            for s in allows
        ):
            drift.append(f"the code calls {action} on {resource}, which the role does not allow")
    return drift


def wiring_drift(template: Mapping[str, Any]) -> list[str]:
    """The schedule, its dead-letter queue and the alarm actions point at resources that exist."""
    resources = template["Resources"]
    drift = []

    def points_to(node: Any, kind: str) -> str | None:
        target = node.get("Ref") or (node.get("Fn::GetAtt") or [None])[0] if isinstance(node, dict) else None
        if target is None or resources.get(target, {}).get("Type") != kind:
            return f"{node} is not a {kind} in the template"
        return None

    schedules = list(_resources(template, "AWS::Scheduler::Schedule"))
    if not schedules:
        drift.append("no EventBridge schedule invokes the function")
    for logical_id, schedule in schedules:
        target = schedule["Properties"]["Target"]
        if target["Arn"] != {"Fn::GetAtt": [FUNCTION, "Arn"]}:
            drift.append(f"schedule {logical_id} targets {target['Arn']}, not {FUNCTION}")
        dlq = target.get("DeadLetterConfig", {}).get("Arn")
        problem = points_to(dlq, "AWS::SQS::Queue") if dlq else "has no dead-letter queue"
        if problem:
            drift.append(f"schedule {logical_id} dead-letter queue: {problem}")
    for kind in ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm"):
        for logical_id, alarm in _resources(template, kind):
            for key in ("AlarmActions", "OKActions", "InsufficientDataActions"):
                for action in alarm["Properties"].get(key, []):
                    problem = points_to(action, "AWS::SNS::Topic")
                    if problem:
                        drift.append(f"alarm {logical_id} {key}: {problem}")
    return drift
