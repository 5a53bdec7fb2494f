"""The settings `make deploy` deploys with: template.yaml's parameters, samconfig.toml (the project's
defaults, tracked by git) and samconfig.local.toml (the user's own, git-ignored), merged and checked
as CloudFormation would check them, before `sam deploy` does.

The merge: every `[env.command.parameters]` key of samconfig.local.toml wins over samconfig.toml's,
and `parameter_overrides` merge by parameter, so a user sets only what differs
(`parameter_overrides = "LemlistThreshold=500"`) and a new release's defaults still arrive. The merged
file is written for SAM CLI to read (`write_config`); samconfig.local.toml itself is only ever
edited one line at a time (`record`), keeping the user's comments.

The checks: every `parameter_overrides` is read the way SAM CLI does (the string form
`Key=Value Key2="quoted value"`, `ParameterKey=K,ParameterValue=V`, a list of those, or a table), and
each key must be a template parameter and each value pass the parameter's constraints as
CloudFormation applies them: AllowedValues, AllowedPattern (matched in full), MinLength, MaxLength,
MinValue, MaxValue, a Number that parses, and the template's Rules. CloudFormation would otherwise be
the first to see a bad override, at deploy time; neither moto nor cfn-lint reads samconfig.toml.

Runs under .venv-sam's Python (`make deploy`) and the development one (the tests): the standard
library and PyYAML only.
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "template.yaml"
SAM_SECTIONS = (("default", "deploy"), ("default", "global"))
"""Where SAM CLI reads `sam deploy`'s settings, the first that has one winning."""


class CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags (!Ref, !Sub, …) as plain {Fn: value} mappings."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if name == "Fn::GetAtt":
            value = value.split(".", 1)
        return {name: value}
    if isinstance(node, yaml.SequenceNode):
        return {name: loader.construct_sequence(node, deep=True)}
    return {name: loader.construct_mapping(node, deep=True)}  # type: ignore[arg-type]


CfnLoader.add_multi_constructor("!", _tag)


def load_template(text: str | None = None) -> dict[str, Any]:
    source = TEMPLATE.read_text() if text is None else text
    template: dict[str, Any] = yaml.load(source, Loader=CfnLoader)  # noqa: S506 - a SafeLoader subclass
    return template


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
    return config_problems(tomllib.loads(samconfig_text), template)


def config_problems(
    config: Mapping[str, Any], template: Mapping[str, Any], *, rules: bool = True
) -> list[str]:
    """samconfig_problems of a parsed file. `rules=False` leaves out the template's Rules, for a file
    whose overrides are merged with another's (check the merged values with rule_problems)."""
    overrides, problems = overrides_in(config)
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
    for section in dict.fromkeys(override.section for override in overrides if rules):
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


# --- samconfig.toml and samconfig.local.toml, merged -----------------------------------------------


class SettingsError(Exception):
    """A settings file that cannot be read or written as asked; the message names it."""


def read_config(path: Path) -> dict[str, Any]:
    """A samconfig file, parsed; {} when there is none."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"{path}: cannot read it: {exc}") from None


def deploy_setting(config: Mapping[str, Any], name: str) -> Any:
    """A setting as SAM CLI reads it for `sam deploy`: [default.deploy.parameters] first, then
    [default.global.parameters]."""
    for env, command in SAM_SECTIONS:
        table = config.get(env, {}).get(command, {}).get("parameters", {})
        if isinstance(table, dict) and table.get(name) is not None:
            return table[name]
    return None


def overrides_of(config: Mapping[str, Any]) -> dict[str, str]:
    """The parameter values `sam deploy` would send, as SAM CLI parses them (what it cannot parse is
    left out here and reported by samconfig_problems)."""
    value = deploy_setting(config, "parameter_overrides")
    overrides, _ = parse_overrides("", value if value is not None else "")
    return {override.key: override.value for override in overrides}


def format_overrides(values: Mapping[str, str]) -> str:
    """`Key="value" ...`, which SAM CLI parses back to `values` (a double quote escaped)."""
    return " ".join(f'{key}="{value.replace(chr(34), chr(92) + chr(34))}"' for key, value in values.items())


def merge(tracked: Mapping[str, Any], local: Mapping[str, Any], skip: str = "") -> dict[str, Any]:
    """samconfig.toml with samconfig.local.toml over it: each `[env.command.parameters]` key of the
    local file wins, and parameter_overrides merge by parameter. The table named `skip` (what only
    `make deploy` reads) is left out: SAM CLI would take it for an environment."""
    merged: dict[str, Any] = json.loads(json.dumps(dict(tracked), default=str))
    for env, commands in local.items():
        if env == skip:
            continue
        if not isinstance(commands, dict):
            merged[env] = commands
            continue
        for command, table in commands.items():
            given = table.get("parameters") if isinstance(table, dict) else None
            if not isinstance(given, dict):
                continue
            target = merged.setdefault(env, {}).setdefault(command, {}).setdefault("parameters", {})
            for key, value in given.items():
                if key == "parameter_overrides" and key in target:
                    both = {**overrides_of(_only(target)), **overrides_of(_only({key: value}))}
                    target[key] = format_overrides(both)
                else:
                    target[key] = value
    merged.pop(skip, None)
    return merged


def _only(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """One parameters table as a config of its own, for overrides_of."""
    return {"default": {"deploy": {"parameters": dict(parameters)}}}


def write_config(config: Mapping[str, Any], path: Path, header: str) -> None:
    """`config` as a TOML file SAM CLI reads; SettingsError if it would not read back the same."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in config.items() if not isinstance(v, dict)]

    def tables(name: str, table: Mapping[str, Any]) -> None:
        scalars = [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in table.items() if not isinstance(v, dict)]
        if scalars:
            lines.extend(["", f"[{name}]", *scalars])
        for key, value in table.items():
            if isinstance(value, dict):
                tables(f"{name}.{_toml_key(key)}", value)

    for key, value in config.items():
        if isinstance(value, dict):
            tables(_toml_key(key), value)
    text = "\n".join(lines) + "\n"
    if tomllib.loads(text) != json.loads(json.dumps(dict(config), default=str)):
        raise SettingsError(f"{path}: the settings do not write as TOML that reads back the same")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a TOML basic string


def record(path: Path, table: str, key: str, value: str | None, header: str) -> None:
    """Set `key = "value"` in `[table]` of the user's settings file (None: remove it), editing that one
    line so the rest of the file (comments included) stays as written; the file is created with
    `header` when there is none. SettingsError when the edit would not read back as intended."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        text = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: cannot read it: {exc}") from None
    before = _parsed(path, text)
    lines = text.splitlines(keepends=True)
    name = re.escape(table).replace(r"\.", r"\s*\.\s*")
    header_at = next(
        (n for n, line in enumerate(lines) if re.fullmatch(rf"\s*\[\s*{name}\s*\]\s*(#.*)?", line.strip())),
        None,
    )
    assignment = f"{key} = {json.dumps(value, ensure_ascii=False)}\n" if value is not None else ""
    if header_at is None:
        if value is not None:
            lines.append(("\n" if lines and lines[-1].strip() else "") + f"[{table}]\n{assignment}")
    else:
        end = next(
            (n for n in range(header_at + 1, len(lines)) if lines[n].lstrip().startswith("[")), len(lines)
        )
        found = next(
            (n for n in range(header_at + 1, end) if re.match(rf"\s*{re.escape(key)}\s*=", lines[n])), None
        )
        if found is not None:
            lines[found] = assignment
        elif value is not None:
            lines.insert(header_at + 1, assignment)
    new = "".join(lines)
    refused = SettingsError(f"{path}: cannot set {key} in [{table}] by editing one line; set it by hand")
    try:
        after = tomllib.loads(new)
    except tomllib.TOMLDecodeError:
        raise refused from None
    target = after
    for part in table.split("."):
        target = target.get(part, {}) if isinstance(target, dict) else {}
    expected = _without(before, table, key)
    if (target.get(key) if isinstance(target, dict) else None) != value or _without(
        after, table, key
    ) != expected:
        raise refused
    path.write_text(new, encoding="utf-8")


def _parsed(path: Path, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from None


def _without(config: dict[str, Any], table: str, key: str) -> dict[str, Any]:
    """`config` less `key` in `table`, and less that table when nothing else is in it."""
    copy: dict[str, Any] = json.loads(json.dumps(config, default=str))
    parts = table.split(".")
    tables = [copy]
    for part in parts:
        tables.append(tables[-1].get(part, {}) if isinstance(tables[-1], dict) else {})
    if isinstance(tables[-1], dict):
        tables[-1].pop(key, None)
    for depth in range(len(parts), 0, -1):  # drop the tables this left empty
        parent, child = tables[depth - 1], tables[depth]
        if isinstance(parent, dict) and child == {} and parts[depth - 1] in parent:
            parent.pop(parts[depth - 1])
    return copy
