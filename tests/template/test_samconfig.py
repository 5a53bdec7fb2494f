"""samconfig.toml deploys: every parameter_overrides key is a template parameter, and every value passes
that parameter's constraints. `sam deploy --guided` writes its answers here, and CloudFormation would
be the first to refuse a bad one. Plain tests: no SAM tool needed."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from scripts import deploy, settings
from scripts.settings import (
    Override,
    deploy_problems,
    parse_overrides,
    samconfig_problems,
    value_problems,
)

from tests.support.cfn import REPO, load_template

SAMCONFIG = REPO / "samconfig.toml"
SCHEDULE_PATTERN = (
    r"^(rate\((5|10|15|30|60|120|180) minutes\)|rate\(1 hour\)|rate\((2|3|6|12|24) hours\)|rate\(1 day\)"
    r"|cron\(.+\))$"
)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def test_samconfig_overrides_are_declared_parameters_with_allowed_values(template: dict[str, Any]) -> None:
    assert samconfig_problems(SAMCONFIG.read_text(), template) == []


def test_what_make_deploy_would_deploy_from_this_clone_passes_its_checks(template: dict[str, Any]) -> None:
    """samconfig.toml, and samconfig.local.toml and the accounts file when this clone has them (yours,
    on your machine): a setting or an accounts file `make deploy` would refuse fails `make test` first.
    The keys are not checked here: that needs your AWS credentials."""
    config, _, packaged = deploy.local_checks(deploy.arguments([]))
    given = {**settings.overrides_of(config.merged), "AccountsFile": packaged.parameter}

    assert deploy.setting_problems(config, template, deploy.parameter_values(template, {}, given)) == []


def test_samconfig_has_the_overrides_the_readme_describes() -> None:
    """The check above reads something: the deploy section's overrides, as SAM parses them."""
    config = tomllib.loads(SAMCONFIG.read_text())
    overrides, problems = parse_overrides(
        "d", config["default"]["deploy"]["parameters"]["parameter_overrides"]
    )
    assert problems == []
    assert {o.key: o.value for o in overrides} == {
        "ScheduleExpression": "rate(1 hour)",
        "AlarmPeriodSeconds": "3600",
        "ApiKeysSecretName": "credit-monitor/api-keys",
        "MemorySize": "1024",
    }


BROKEN = r"""
version = 0.1

[default.deploy.parameters]
stack_name = "credit-monitor"
parameter_overrides = "AlarmPeriodSecond=1 AlarmPeriodSeconds=3601 AccountsFile=\"my file\" MinDaysLeft=-1"

[prod.deploy.parameters]
parameter_overrides = [
    "ReminderHours=8761",
    "FailuresBeforeAlert=three",
    "CreateDashboard='yes'",
    "LemlistCriticalThreshold=1e3",
    "ScheduleExpression=rate(1 hour)",
]
"""


def test_the_check_names_each_broken_override(template: dict[str, Any], tmp_path: Path) -> None:
    broken = tmp_path / "samconfig.toml"
    broken.write_text(BROKEN)

    problems = samconfig_problems(broken.read_text(), template)

    default, prod = (
        "[default.deploy.parameters] parameter_overrides:",
        "[prod.deploy.parameters] parameter_overrides:",
    )
    assert problems == [
        # a list item is parsed alone: unquoted, the value stops at the space and SAM drops the rest
        f"{prod} 'hour)' is not part of any Key=Value, and SAM ignores it (quote a value that has spaces)",
        f"{default} AlarmPeriodSecond='1': template.yaml declares no parameter AlarmPeriodSecond "
        "(did you mean AlarmPeriodSeconds?)",
        f"{default} AlarmPeriodSeconds='3601': '3601' is not one of the AllowedValues "
        "(300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)",
        f"{default} AccountsFile='my file': 'my file' does not match the AllowedPattern "
        "^([A-Za-z0-9._/-]{1,200})?$",
        f"{default} MinDaysLeft='-1': -1 is below the MinValue 0",
        f"{prod} ReminderHours='8761': 8761 is above the MaxValue 8760",
        f"{prod} FailuresBeforeAlert='three': 'three' is not a number, and the parameter is a Number",
        f"{prod} CreateDashboard='yes': 'yes' is not one of the AllowedValues (true, false)",
        # a String parameter that holds a number is held to its pattern, which takes no exponent
        f"{prod} LemlistCriticalThreshold='1e3': '1e3' does not match the AllowedPattern "
        r"^([0-9]+(\.[0-9]+)?)?$",
        # the unquoted value is cut at the space: no schedule EventBridge knows
        f"{prod} ScheduleExpression='rate(1': 'rate(1' does not match the AllowedPattern " + SCHEDULE_PATTERN,
        # the rate(1 hour) default with AlarmPeriodSeconds=3601: the Rules refuse the pair
        f"{default} rule AlarmPeriodOf3600: ScheduleExpression rate(1 hour) or rate(60 minutes) needs"
        " AlarmPeriodSeconds 3600 (one check per alarm period)",
    ]


def test_an_unknown_parameter_with_no_near_name_lists_the_declared_ones(template: dict[str, Any]) -> None:
    text = '[default.deploy.parameters]\nparameter_overrides = "Colour=blue"\n'
    declared = ", ".join(sorted(template["Parameters"]))
    assert samconfig_problems(text, template) == [
        "[default.deploy.parameters] parameter_overrides: Colour='blue': template.yaml declares no parameter "
        f"Colour (it has: {declared})"
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "A=1 B=\"two words\" C='single' D=back\\ slash",
            {"A": "1", "B": "two words", "C": "single", "D": "back slash"},
        ),
        ("ParameterKey=A,ParameterValue=1 ParameterKey=B,ParameterValue=x", {"A": "1", "B": "x"}),
        (["A=1", 'B="two words"'], {"A": "1", "B": "two words"}),
        ([{"A": 1, "B": ["x", "y"]}], {"A": "1", "B": "x,y"}),
        ('B="say \\"hi\\""', {"B": 'say "hi"'}),
        ("", {}),
    ],
)
def test_overrides_parse_as_sam_parses_them(value: Any, expected: dict[str, str]) -> None:
    overrides, problems = parse_overrides("s", value)
    assert problems == []
    assert {o.key: o.value for o in overrides} == expected


def test_a_string_that_is_no_key_value_is_reported() -> None:
    assert parse_overrides("s", "just words") == (
        [],
        ["[s] parameter_overrides: 'just words' is not Key=Value pairs"],
    )


def test_a_key_given_twice_is_reported(template: dict[str, Any]) -> None:
    text = '[default.deploy.parameters]\nparameter_overrides = "MinDaysLeft=3 MinDaysLeft=4"\n'
    assert samconfig_problems(text, template) == [
        f"{Override('default.deploy.parameters', 'MinDaysLeft', '4')}: MinDaysLeft is given twice; "
        "SAM keeps only the last"
    ]


@pytest.mark.parametrize(
    ("definition", "value", "problem"),
    [
        ({"Type": "String", "MinLength": 3}, "ab", "'ab' is shorter than the MinLength 3"),
        ({"Type": "String", "MaxLength": 2}, "abc", "'abc' is longer than the MaxLength 2"),
        (
            {"Type": "String", "AllowedPattern": "[a-z]+"},
            "abc1",
            "'abc1' does not match the AllowedPattern [a-z]+",
        ),
        ({"Type": "Number", "MinValue": 1.5}, "1.25", "1.25 is below the MinValue 1.5"),
        ({"Type": "Number"}, "nan", "'nan' is not a number, and the parameter is a Number"),
        ({"Type": "Number"}, "", "'' is not a number, and the parameter is a Number"),
        ({"Type": "List<Number>", "MaxValue": 10}, "1,11", "11 is above the MaxValue 10"),
        (
            {"Type": "CommaDelimitedList", "AllowedValues": ["a", "b"]},
            "a,c",
            "'c' is not one of the AllowedValues (a, b)",
        ),
    ],
)
def test_each_constraint(definition: dict[str, Any], value: str, problem: str) -> None:
    assert value_problems(definition, value) == [problem]


@pytest.mark.parametrize(
    ("definition", "value"),
    [
        ({"Type": "Number", "AllowedValues": [300, 3600]}, "3600"),
        ({"Type": "Number", "MinValue": 0, "MaxValue": 10}, "10"),
        ({"Type": "Number"}, "-2.5"),
        ({"Type": "String", "AllowedPattern": "^([0-9]+)?$"}, ""),
        ({"Type": "String", "MinLength": 1, "MaxLength": 3}, "abc"),
        ({"Type": "String", "AllowedValues": ["true", "false"]}, "false"),
    ],
)
def test_values_cloudformation_accepts(definition: dict[str, Any], value: str) -> None:
    assert value_problems(definition, value) == []


SCHEDULE_PAIRS = [
    ("rate(5 minutes)", "300"),
    ("rate(10 minutes)", "600"),
    ("rate(15 minutes)", "900"),
    ("rate(30 minutes)", "1800"),
    ("rate(1 hour)", "3600"),
    ("rate(60 minutes)", "3600"),
    ("rate(2 hours)", "7200"),
    ("rate(3 hours)", "10800"),
    ("rate(6 hours)", "21600"),
    ("rate(12 hours)", "43200"),
    ("rate(1 day)", "86400"),
    ("rate(24 hours)", "86400"),
]


@pytest.mark.parametrize(("schedule", "period"), SCHEDULE_PAIRS)
def test_each_rate_deploys_with_its_own_alarm_period_only(
    template: dict[str, Any], schedule: str, period: str
) -> None:
    assert deploy_problems(template, {"ScheduleExpression": schedule, "AlarmPeriodSeconds": period}) == []
    other = "86400" if period != "86400" else "3600"
    [problem] = deploy_problems(template, {"ScheduleExpression": schedule, "AlarmPeriodSeconds": other})
    assert schedule in problem
    assert f"needs AlarmPeriodSeconds {period}" in problem


def test_a_rate_no_alarm_period_fits_is_refused_and_a_cron_is_left_to_the_period_given(
    template: dict[str, Any],
) -> None:
    [problem] = deploy_problems(template, {"ScheduleExpression": "rate(7 minutes)"})
    assert "ScheduleExpression='rate(7 minutes)'" in problem
    assert "does not match the AllowedPattern" in problem
    weekdays = {"ScheduleExpression": "cron(0 8 ? * MON-FRI *)", "AlarmPeriodSeconds": "3600"}
    assert deploy_problems(template, weekdays) == []


def test_a_samconfig_whose_schedule_and_period_disagree_is_reported(template: dict[str, Any]) -> None:
    text = (
        "[default.deploy.parameters]\n"
        'parameter_overrides = "ScheduleExpression=\\"rate(15 minutes)\\" AlarmPeriodSeconds=3600"\n'
    )
    [problem] = samconfig_problems(text, template)
    assert problem.startswith("[default.deploy.parameters] parameter_overrides: rule AlarmPeriodOf900:")
    assert "ScheduleExpression rate(15 minutes) needs AlarmPeriodSeconds 900" in problem
