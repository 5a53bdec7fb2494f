"""samconfig.toml's parameter_overrides against template.yaml's Parameters, before `sam deploy` does.

CloudFormation is the first to see a bad override, at deploy time, and neither moto nor cfn-lint reads
samconfig.toml. This reads every `parameter_overrides` in it the way SAM CLI does (the string form
`Key=Value Key2="quoted value"`, `ParameterKey=K,ParameterValue=V`, a list of those, or a table) and
checks each key is a template parameter and each value passes the parameter's constraints as
CloudFormation applies them: AllowedValues, AllowedPattern (matched in full), MinLength, MaxLength,
MinValue, MaxValue, and a Number that parses.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

# SAM CLI's own grammar (samcli/cli/types.py, CfnParameterOverridesType): a key of letters, digits and
# quotes; a value double-quoted, single-quoted, or running to the next unescaped space.
_KEY = r"""([A-Za-z0-9"']+)"""
_VALUE = r"""("(?:\\.|[^"\\]+)*"|'(?:\\.|[^'\\]+)*'|(?:\\.|[^ "\\]+)+)"""
_LONG_FORM = re.compile(rf"ParameterKey={_KEY},ParameterValue={_VALUE}")
_SHORT_FORM = re.compile(rf" {_KEY}={_VALUE}")
_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")


@dataclass(frozen=True)
class Override:
    """One `Key=Value` of samconfig.toml, and where it is: `default.deploy.parameters`."""

    section: str
    key: str
    value: str

    def __str__(self) -> str:
        return f"[{self.section}] parameter_overrides: {self.key}={self.value!r}"


def _unquote(text: str) -> str:
    """As SAM does: one pair of wrapping quotes off, then `\\ `, `\\"` and `\\'` unescaped."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1]
    return text.replace("\\ ", " ").replace('\\"', '"').replace("\\'", "'")


def parse_overrides(section: str, value: Any) -> tuple[list[Override], list[str]]:
    """The overrides in one `parameter_overrides` value, and what SAM would refuse or silently drop
    (text between pairs that is no `Key=Value`: an unquoted value with a space loses its tail)."""
    overrides: list[Override] = []
    problems: list[str] = []
    items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, dict):
            for key, entry in item.items():
                text = ",".join(str(x).strip() for x in entry) if isinstance(entry, list) else str(entry)
                overrides.append(Override(section, _unquote(str(key)), _unquote(text)))
            continue
        if not isinstance(item, str):
            problems.append(f"[{section}] parameter_overrides: {item!r} is neither a string nor a table")
            continue
        text = " " + item.strip()
        for pattern in (_LONG_FORM, _SHORT_FORM):  # SAM's order: the first form that matches at all
            matches = list(pattern.finditer(text))
            if matches:
                break
        else:
            if item.strip():
                problems.append(f"[{section}] parameter_overrides: {item!r} is not Key=Value pairs")
            continue
        rest, end = [], 0
        for match in matches:
            rest.append(text[end : match.start()])
            end = match.end()
            overrides.append(Override(section, _unquote(match.group(1)), _unquote(match.group(2))))
        rest.append(text[end:])
        for leftover in "".join(f" {piece} " for piece in rest).split():
            problems.append(
                f"[{section}] parameter_overrides: {leftover!r} is not part of any Key=Value, and SAM "
                "ignores it (quote a value that has spaces)"
            )
    return overrides, problems


def _number(text: str) -> Decimal | None:
    if _NUMBER.fullmatch(text) is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern only lets numbers through
        return None


def value_problems(definition: Mapping[str, Any], value: str) -> list[str]:
    """Why CloudFormation would refuse `value` for a parameter so defined (empty: it would not)."""
    kind = str(definition.get("Type", "String"))
    if kind.startswith("List<") or kind == "CommaDelimitedList":
        items = value.split(",")
        element = "Number" if kind == "List<Number>" else "String"
    else:
        items, element = [value], "Number" if kind == "Number" else "String"
    problems = []
    for item in items:
        problems += _item_problems(definition, element, item)
    return problems


def _item_problems(definition: Mapping[str, Any], element: str, value: str) -> list[str]:
    problems = []
    number = _number(value) if element == "Number" else None
    if element == "Number" and number is None:
        return [f"{value!r} is not a number, and the parameter is a {definition.get('Type')}"]
    allowed = definition.get("AllowedValues")
    if allowed is not None:
        if number is not None:
            matched = any(_number(str(choice)) == number for choice in allowed)
        else:
            matched = value in [str(choice) for choice in allowed]
        if not matched:
            choices = ", ".join(str(choice) for choice in allowed)
            problems.append(f"{value!r} is not one of the AllowedValues ({choices})")
    pattern = definition.get("AllowedPattern")
    if pattern is not None and re.fullmatch(str(pattern), value) is None:
        problems.append(f"{value!r} does not match the AllowedPattern {pattern}")
    if "MinLength" in definition and len(value) < int(definition["MinLength"]):
        problems.append(f"{value!r} is shorter than the MinLength {definition['MinLength']}")
    if "MaxLength" in definition and len(value) > int(definition["MaxLength"]):
        problems.append(f"{value!r} is longer than the MaxLength {definition['MaxLength']}")
    if number is not None and "MinValue" in definition and number < Decimal(str(definition["MinValue"])):
        problems.append(f"{value} is below the MinValue {definition['MinValue']}")
    if number is not None and "MaxValue" in definition and number > Decimal(str(definition["MaxValue"])):
        problems.append(f"{value} is above the MaxValue {definition['MaxValue']}")
    return problems


def overrides_in(samconfig: Mapping[str, Any]) -> tuple[list[Override], list[str]]:
    """Every parameter_overrides of every environment and command: `[env.command.parameters]`."""
    overrides: list[Override] = []
    problems: list[str] = []
    for env, commands in samconfig.items():
        if not isinstance(commands, dict):
            continue  # version = 0.1
        for command, table in commands.items():
            parameters = table.get("parameters", {}) if isinstance(table, dict) else {}
            if "parameter_overrides" in parameters:
                found, wrong = parse_overrides(
                    f"{env}.{command}.parameters", parameters["parameter_overrides"]
                )
                overrides += found
                problems += wrong
    return overrides, problems


def samconfig_problems(samconfig_text: str, template: Mapping[str, Any]) -> list[str]:
    """What `sam deploy` with this samconfig.toml would have CloudFormation refuse, one line each."""
    overrides, problems = overrides_in(tomllib.loads(samconfig_text))
    declared: Mapping[str, Mapping[str, Any]] = template.get("Parameters", {})
    seen: dict[tuple[str, str], str] = {}
    for override in overrides:
        if (override.section, override.key) in seen:
            problems.append(f"{override}: {override.key} is given twice; SAM keeps only the last")
        seen[(override.section, override.key)] = override.value
        if override.key not in declared:
            close = difflib.get_close_matches(override.key, list(declared), n=1)
            hint = f"did you mean {close[0]}?" if close else "it has: " + ", ".join(sorted(declared))
            problems.append(f"{override}: template.yaml declares no parameter {override.key} ({hint})")
            continue
        problems += [
            f"{override}: {problem}" for problem in value_problems(declared[override.key], override.value)
        ]
    for section in dict.fromkeys(override.section for override in overrides):
        given = {o.key: o.value for o in overrides if o.section == section and o.key in declared}
        problems += [
            f"[{section}] parameter_overrides: {problem}" for problem in rule_problems(template, given)
        ]
    return problems


def deploy_problems(template: Mapping[str, Any], given: Mapping[str, str]) -> list[str]:
    """What CloudFormation would refuse of a deploy with these parameter values (the rest defaults):
    each value against its parameter's constraints, then the template's Rules."""
    declared: Mapping[str, Mapping[str, Any]] = template.get("Parameters", {})
    problems = [
        f"{key}={value!r}: {problem}"
        for key, value in given.items()
        for problem in value_problems(declared[key], value)
    ]
    return problems + rule_problems(template, given)


def rule_problems(template: Mapping[str, Any], given: Mapping[str, str]) -> list[str]:
    """The template's Rules, as CloudFormation checks them before a deploy: each rule whose
    RuleCondition holds (or that has none) must have every Assert hold. "rule NAME: description"."""
    declared: Mapping[str, Mapping[str, Any]] = template.get("Parameters", {})
    values = {
        name: str(given.get(name, definition.get("Default", ""))) for name, definition in declared.items()
    }
    problems = []
    for name, rule in template.get("Rules", {}).items():
        if "RuleCondition" in rule and not _holds(rule["RuleCondition"], values):
            continue
        problems += [
            f"rule {name}: {assertion.get('AssertDescription', 'an assertion does not hold')}"
            for assertion in rule["Assertions"]
            if not _holds(assertion["Assert"], values)
        ]
    return problems


def _holds(expression: Any, values: Mapping[str, str]) -> Any:
    """The rule functions templates use: Ref, Fn::Equals, Fn::Contains, Fn::And, Fn::Or, Fn::Not."""
    if isinstance(expression, list):
        return [_holds(item, values) for item in expression]
    if not isinstance(expression, dict):
        return str(expression)
    [(function, argument)] = expression.items()
    if function == "Ref":
        return values[argument]
    items = _holds(argument, values)
    if function == "Fn::Equals":
        return items[0] == items[1]
    if function == "Fn::Contains":
        return items[1] in items[0]
    if function == "Fn::And":
        return all(items)
    if function == "Fn::Or":
        return any(items)
    if function == "Fn::Not":
        return not items[0]
    raise NotImplementedError(f"rule function {function} is not modelled here")
