"""Drift between template.yaml and what the code really does. Each check returns sentences, not booleans,
so a failing `make test` says exactly what drifted."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from credit_monitor.config import PAGERDUTY_EVENTS_URL_VARS
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


def describe(emitted: set[Metric]) -> str:
    """What the function emits, for a drift message: dimensionless metrics by name, per-account ones
    grouped (200 accounts must not make a 200-line message)."""
    groups: dict[tuple[str, str, tuple[str, ...]], int] = {}
    for metric in emitted:
        key = (metric.namespace, metric.name, tuple(name for name, _ in metric.dimensions))
        groups[key] = groups.get(key, 0) + 1
    shown = []
    for (namespace, name, dimensions), count in sorted(groups.items()):
        where = (
            f"{', '.join(dimensions)}: {count} value{'s' if count != 1 else ''}"
            if dimensions
            else "no dimensions"
        )
        shown.append(f"{namespace}/{name} [{where}]")
    return "; ".join(shown)


def _resources(template: Mapping[str, Any], kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == kind:
            yield logical_id, resource


@dataclass(frozen=True)
class Search:
    """A dashboard SEARCH('{Namespace,Dim,...} MetricName="..." Dim="..."', stat, period): it plots
    every metric in the namespace with exactly the schema's dimension names and the given terms."""

    namespace: str
    name: str
    dimension_names: frozenset[str]
    pinned: tuple[tuple[str, str], ...] = ()

    def matches(self, metric: Metric) -> bool:
        dims = dict(metric.dimensions)
        return (
            metric.namespace == self.namespace
            and metric.name == self.name
            and set(dims) == self.dimension_names
            and all(dims[key] == value for key, value in self.pinned)
        )

    def __str__(self) -> str:
        schema = ",".join([self.namespace, *sorted(self.dimension_names)])
        pins = "".join(f' {key}="{value}"' for key, value in self.pinned)
        return f'SEARCH {{{schema}}} MetricName="{self.name}"{pins}'


_SEARCH = re.compile(r"SEARCH\(\s*'(?P<query>[^']*)'\s*,\s*'(?P<stat>[A-Za-z0-9.%]+)'\s*(?:,\s*\d+\s*)?\)")
_SCHEMA = re.compile(r"^\s*\{(?P<schema>[^}]*)\}(?P<terms>.*)$")
_TERM = re.compile(r'(?P<key>[A-Za-z0-9_.-]+)\s*=\s*"(?P<value>[^"]*)"')


def parse_search(expression: str) -> Search | str:
    """The Search in a metric-math expression, or a sentence saying why it cannot be checked."""
    found = _SEARCH.fullmatch(expression.strip())
    if found is None:
        return f"{expression!r} is not a single SEARCH('{{schema}} terms', 'stat', period)"
    schema = _SCHEMA.match(found["query"])
    if schema is None:
        return f"{expression!r} has no {{Namespace,Dimension,...}} schema, so it may match any metric"
    namespace, *dimensions = [part.strip().strip('"') for part in schema["schema"].split(",")]
    terms = {match["key"]: match["value"] for match in _TERM.finditer(schema["terms"])}
    if _TERM.sub("", schema["terms"]).strip():
        return f'{expression!r} has search terms other than Name="value"'
    name = terms.pop("MetricName", None)
    if name is None:
        return f"{expression!r} names no MetricName, so it plots whatever shares the schema"
    unknown = sorted(set(terms) - set(dimensions))
    if unknown:
        return f"{expression!r} filters on {', '.join(unknown)}, which is not in its schema"
    return Search(namespace, name, frozenset(dimensions), tuple(sorted(terms.items())))


def alarm_metrics(deployment: Deployment) -> list[tuple[str, Metric]]:
    """(logical id, the metric it watches) for every metric alarm."""
    watched = []
    for logical_id, alarm in _resources(deployment.template, "AWS::CloudWatch::Alarm"):
        props = deployment.resolve(alarm["Properties"])
        dims = tuple(sorted((d["Name"], str(d["Value"])) for d in props.get("Dimensions", [])))
        watched.append((logical_id, Metric(props["Namespace"], props["MetricName"], dims)))
    return watched


def alarm_drift(deployment: Deployment, emitted: set[Metric]) -> list[str]:
    template = deployment.template
    drift = []
    function_name = deployment.ref(FUNCTION)
    for logical_id, watched in alarm_metrics(deployment):
        if watched.namespace == "AWS/Lambda":  # emitted by Lambda itself: it must be about our function
            if dict(watched.dimensions).get("FunctionName") != function_name:
                drift.append(f"alarm {logical_id} watches {watched}, not this stack's function")
        elif watched not in emitted:
            drift.append(
                f"alarm {logical_id} watches {watched}, which the function never emits "
                f"(it emits: {describe(emitted)})"
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


@dataclass(frozen=True)
class Plotted:
    dashboard: str
    widget: str
    watched: Metric | Search | str
    """A metric, a SEARCH, or why the row cannot be checked."""


def dashboard_widgets(deployment: Deployment) -> Iterator[tuple[str, dict[str, Any]]]:
    for logical_id, dashboard in _resources(deployment.template, "AWS::CloudWatch::Dashboard"):
        body = json.loads(deployment.resolve(dashboard["Properties"]["DashboardBody"]))
        for widget in body["widgets"]:
            yield logical_id, widget


def dashboard_metrics(deployment: Deployment) -> list[Plotted]:
    """Every metric row of every widget: a metric, a SEARCH, or why the contract cannot read it.
    Metric math over other rows' ids (no SEARCH in it) plots nothing of its own and is skipped."""
    plotted = []
    for logical_id, widget in dashboard_widgets(deployment):
        title = widget["properties"].get("title", "untitled")
        for row in widget["properties"].get("metrics", []):
            plain = [item for item in row if not isinstance(item, dict)]
            options = next((item for item in row if isinstance(item, dict)), {})
            watched: Metric | Search | str
            if not plain and "expression" in options:
                if "SEARCH" not in options["expression"]:
                    continue
                watched = parse_search(options["expression"])
            elif len(plain) >= 2 and len(plain) % 2 == 0 and "..." not in plain and "." not in plain:
                ns, name, pairs = plain[0], plain[1], plain[2:]
                watched = Metric(ns, name, tuple(sorted(zip(pairs[::2], pairs[1::2], strict=True))))
            else:
                watched = f"row {row} (shorthand or malformed)"
            plotted.append(Plotted(logical_id, title, watched))
    return plotted


def dashboard_drift(deployment: Deployment, emitted: set[Metric], namespace: str) -> list[str]:
    template = deployment.template
    drift = []
    function_name = deployment.ref(FUNCTION)
    alarm_arns = {deployment.get_att(a, "Arn") for a, _ in _resources(template, "AWS::CloudWatch::Alarm")}
    alarm_arns |= {
        deployment.get_att(a, "Arn") for a, _ in _resources(template, "AWS::CloudWatch::CompositeAlarm")
    }
    for row in dashboard_metrics(deployment):
        where = f"dashboard {row.dashboard} widget '{row.widget}'"
        metric = row.watched
        if isinstance(metric, str):
            drift.append(f"{where} plots {metric}, which the contract cannot check")
        elif isinstance(metric, Search):
            if not any(metric.matches(m) for m in emitted):
                drift.append(
                    f"{where} searches {metric}, which matches nothing the function emits "
                    f"(it emits: {describe(emitted)})"
                )
        elif metric.namespace == namespace and metric not in emitted:
            drift.append(f"{where} plots {metric}, never emitted")
        elif (
            metric.namespace == "AWS/Lambda" and dict(metric.dimensions).get("FunctionName") != function_name
        ):
            drift.append(f"{where} plots {metric}, not this stack's function")
    for logical_id, widget in dashboard_widgets(deployment):
        title = widget["properties"].get("title", "untitled")
        for arn in widget["properties"].get("alarms", []):
            if arn not in alarm_arns:
                drift.append(
                    f"dashboard {logical_id} widget '{title}' shows alarm {arn}, not in the template"
                )
    return drift


def function_environment(deployment: Deployment) -> dict[str, str]:
    props = deployment.template["Resources"][FUNCTION]["Properties"]
    variables = props.get("Environment", {}).get("Variables", {})
    return {name: str(deployment.resolve(value)) for name, value in variables.items()}


SET_BY_LAMBDA = frozenset({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "LAMBDA_TASK_ROOT"})
"""Lambda sets these in every sandbox: the config reads them without the template setting them."""


NEVER_SET = frozenset(PAGERDUTY_EVENTS_URL_VARS.values())
"""Read by the config for tests and `make demo` only (a local PagerDuty): the template must never set them."""


def environment_drift(set_by_template: Iterable[str], read_by_config: Iterable[str]) -> list[str]:
    set_vars, read_vars = set(set_by_template), set(read_by_config) - SET_BY_LAMBDA - NEVER_SET
    forgot = sorted(read_vars - set_vars)
    unread = sorted(set_vars - read_vars - NEVER_SET)
    return (
        [f"the config reads {name}, but template.yaml does not set it" for name in forgot]
        + [f"template.yaml sets {name}, but the config never reads it" for name in unread]
        + [f"template.yaml sets {name}, which is for tests only" for name in sorted(set_vars & NEVER_SET)]
    )


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
            drift += [
                f"the role grants {action} on {resource!r}, a pattern, where specific ARNs exist"
                for resource in resources
                if "*" in resource and resource != "*" and action not in SERVICE_ACTIONS
            ]
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
