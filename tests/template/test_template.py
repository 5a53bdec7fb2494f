"""template.yaml through the SAM and CloudFormation tooling, and against the function's contract."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml
from scripts.settings import value_problems

from credit_monitor.config import LAMBDA_TIMEOUT_SECONDS, MAX_CHECK_DEADLINE_SECONDS
from credit_monitor.sizing import DEFAULT_MEMORY_MB
from tests.support.artifact import BuiltFunction
from tests.support.cfn import REPO, TEMPLATE, load_template

TOOL_ENV = {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1"}


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=REPO, env=TOOL_ENV, capture_output=True, text=True, timeout=600, check=False
    )


def require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is not on PATH; run the suite through `make test`, which installs it")
    return path


@pytest.mark.template
def test_sam_validate() -> None:
    result = run_tool(require("sam"), "validate", "--region", "us-east-1")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.template
def test_sam_validate_lint() -> None:
    result = run_tool(require("sam"), "validate", "--lint", "--region", "us-east-1")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.template
def test_cfn_lint() -> None:
    result = run_tool(require("cfn-lint"), str(TEMPLATE))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.template
def test_checkov_security_scan_has_no_failed_checks() -> None:
    """Every skipped check carries its reason in the template's Metadata (checkov: skip)."""
    result = run_tool(
        require("checkov"),
        "--file",
        str(TEMPLATE),
        "--framework",
        "cloudformation",
        "--compact",
        "--quiet",
        "--skip-download",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Failed checks: 0" in result.stdout


@pytest.mark.template
def test_sam_build_packages_the_function_without_test_code(built_function: BuiltFunction) -> None:
    """Built once per session (tests/template/conftest.py); test_built_artifact.py runs the same build."""
    package = built_function.task_root
    assert package == (built_function.build_dir / "CreditMonitorFunction").resolve()
    assert (package / "credit_monitor" / "app.py").is_file()
    assert (package / "aws_lambda_powertools").is_dir()
    assert not list(package.rglob("simulators.py")), "test code must not ship in the Lambda package"


def test_function_matches_the_documented_contract() -> None:
    template = load_template()
    function = template["Resources"]["CreditMonitorFunction"]
    props = {**template["Globals"]["Function"], **function["Properties"]}
    assert function["Type"] == "AWS::Serverless::Function"
    assert props["CodeUri"] == "src/"
    assert props["Runtime"] == "python3.13"
    assert props["Architectures"] == ["arm64"]
    assert props["MemorySize"] == {"Ref": "MemorySize"}
    assert template["Parameters"]["MemorySize"]["Default"] == DEFAULT_MEMORY_MB, "sizing.py plans for it"
    assert props["Timeout"] == LAMBDA_TIMEOUT_SECONDS, "the run's budget (budget.py) is planned for it"
    deadline = float(props["Environment"]["Variables"]["CHECK_DEADLINE_SECONDS"])
    assert deadline <= MAX_CHECK_DEADLINE_SECONDS, "the checks must leave room for state writes and publishes"
    assert sorted(props["Events"]) == ["Digest", "Schedule"]  # the checks, and the opt-in weekly digest
    for event in props["Events"].values():
        assert event["Type"] == "ScheduleV2"
        assert "RetryPolicy" in event["Properties"]
        assert "DeadLetterConfig" in event["Properties"]
    digest = props["Events"]["Digest"]["Properties"]
    assert digest["State"] == {"Fn::If": ["HasDigest", "ENABLED", "DISABLED"]}
    assert '"trigger": "digest"' in digest["Input"]


@pytest.mark.parametrize(
    ("parameter", "default"), [("FullenrichThreshold", "1000"), ("LemlistThreshold", "100")]
)
def test_a_vendor_threshold_may_be_empty_to_turn_that_vendor_off(parameter: str, default: str) -> None:
    """A lemlist-only team deploys with FullenrichThreshold="" (config.zero_config_accounts: off)."""
    definition = load_template()["Parameters"][parameter]
    assert str(definition["Default"]) == default, "the zero-config defaults still watch both vendors"
    assert value_problems(definition, "") == []
    assert value_problems(definition, "250.5") == []
    assert value_problems(definition, "-1") != []
    assert value_problems(definition, "1e3") != []


def test_handler_named_in_the_template_exists() -> None:
    props = load_template()["Resources"]["CreditMonitorFunction"]["Properties"]
    module_path, _, attribute = props["Handler"].rpartition(".")
    source = REPO / props["CodeUri"] / (module_path.replace(".", "/") + ".py")
    assert source.is_file()
    assert f"def {attribute}(" in source.read_text()


def test_scheduled_event_file_matches_the_schedule_input() -> None:
    """The file is the Input as EventBridge Scheduler delivers it: its context attribute filled in."""
    props = load_template()["Resources"]["CreditMonitorFunction"]["Properties"]
    schedule_input = props["Events"]["Schedule"]["Properties"]["Input"]
    event = yaml.safe_load((REPO / "events" / "schedule.json").read_text())
    delivered = schedule_input.replace("<aws.scheduler.scheduled-time>", event["scheduled_time"])
    assert yaml.safe_load(delivered) == event
