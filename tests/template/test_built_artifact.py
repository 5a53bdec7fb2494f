"""The BUILT function, run as Lambda runs it: `sam build`'s package as the task root, in a python3.13
that has only what the Lambda runtime ships (boto3, botocore and their dependencies), with the
environment the template gives it, against the loopback API simulators and moto server.

Everything else in the suite imports the code from src/ in the development venv, where every test and
lint dependency is importable too. Only this test can see a dependency missing from src/requirements.txt,
a dev-only import, a module `sam build` leaves out, or a Handler that does not resolve in the package.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.artifact import (
    DEV_ONLY_MODULES,
    RUNTIME_DISTRIBUTIONS,
    BuiltFunction,
    BuiltInvocation,
    bytecode_problems,
    invoke_built,
    lambda_environment,
)
from tests.support.aws import AWS_ENV, MotoServer, Stack, state_text
from tests.support.cfn import Deployment
from tests.support.contract import function_environment
from tests.support.harness import REPO, Invocation
from tests.support.keys import assert_no_key_leaked
from tests.support.simulators import ApiSimulator

pytestmark = pytest.mark.template

FUNCTION_NAME = "credit-monitor-CreditMonitorFunction-ARTIFACT"
SCHEDULED_EVENT = REPO / "events" / "schedule.json"
LOCAL_PEERS = ("FULLENRICH_API_URL", "LEMLIST_API_URL")
"""The only variables of the template this test changes: the providers' URLs, to the simulators."""


@pytest.fixture
def deployed_environment(
    built_function: BuiltFunction,
    stack: Stack,
    moto_server: MotoServer,
    fullenrich_api: ApiSimulator,
    lemlist_api: ApiSimulator,
    ca_file: Path,
) -> dict[str, str]:
    """The sandbox's environment: Lambda's own variables, the built template's Environment.Variables
    resolved into the local stack (topic, table, secret; thresholds from the parameter defaults), the
    providers' URLs pointed at the simulators, and how to reach the local peers (test CA, moto)."""
    deployment = Deployment(
        built_function.template,
        refs={
            "AlertTopic": stack.topic_arn,
            "AlertStateTable": stack.table_name,
            "ApiKeysSecretName": stack.secret_id,
            "CreditMonitorFunction": FUNCTION_NAME,
        },
    )
    variables = function_environment(deployment)
    assert set(LOCAL_PEERS) <= set(variables), "the template no longer sets the providers' URLs"
    variables |= {"FULLENRICH_API_URL": fullenrich_api.base_url, "LEMLIST_API_URL": lemlist_api.base_url}
    peers = {
        **AWS_ENV,  # fake credentials: Lambda's come from the role, as these same variables
        "AWS_ENDPOINT_URL": moto_server.endpoint_url,
        "SSL_CERT_FILE": str(ca_file),
        # No ~/.aws of the machine running the tests: Lambda has none either.
        "AWS_CONFIG_FILE": str(ca_file.parent / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(ca_file.parent / "no-aws-credentials"),
    }
    return lambda_environment(built_function, FUNCTION_NAME, variables | peers)


def test_the_built_function_runs_on_the_lambda_runtime(
    built_function: BuiltFunction,
    lambda_python: Path,
    deployed_environment: dict[str, str],
    stack: Stack,
    fullenrich_api: ApiSimulator,
    lemlist_api: ApiSimulator,
    tmp_path: Path,
) -> None:
    lemlist_api.balance = 42  # below the LemlistThreshold default (100): one LOW
    run = invoke_built(lambda_python, built_function, SCHEDULED_EVENT, deployed_environment, tmp_path)
    assert_no_key_leaked(run.stdout, run.stderr, json.dumps(run.report))
    assert run.error is None, run.error["stackTrace"] + run.stderr
    assert run.returncode == 0, run.stderr

    # What it returned: a JSON-serialisable summary, as Lambda would send back.
    json.dumps(run.result)

    # Balances emitted: CreditsRemaining for both accounts in its stdout (CloudWatch's EMF lines).
    emitted = Invocation(result=run.result, error=None, output=run.stdout)
    assert emitted.metric("CreditsRemaining") == {"fullenrich": 5000, "lemlist": 42}
    assert [len(api.credit_requests) for api in (fullenrich_api, lemlist_api)] == [1, 1]

    # State written: one item per account in the table the template names.
    items = stack.dynamodb.scan(TableName=stack.table_name)["Items"]
    levels = {item["provider"]["S"]: json.loads(state_text(item))["level"] for item in items}
    assert levels == {"fullenrich": "OK", "lemlist": "WARNING"}

    # An alert delivered: SNS → the SQS inbox subscribed to the topic.
    [message] = stack.inbox.messages()
    assert message["MessageAttributes"]["kind"]["Value"] == "LOW"
    assert message["MessageAttributes"]["account"]["Value"] == "lemlist"

    assert_ran_on_the_runtime_set(run, built_function)


def test_the_package_ships_bytecode_the_runtime_loads_without_compiling(
    built_function: BuiltFunction, python313: str
) -> None:
    """Lambda's task root is read-only: without bytecode in the package, every cold start compiles
    every module it imports (docs/benchmark.md measures the difference). Unchecked-hash bytecode is
    used whatever the zip did to the sources' timestamps, and matches the sources shipped."""
    modules, problems = bytecode_problems(python313, built_function.task_root)

    assert modules > 100, "the package's own modules, and its dependencies'"
    assert problems == []


def assert_ran_on_the_runtime_set(run: BuiltInvocation, function: BuiltFunction) -> None:
    """The run proves something only if that interpreter had what Lambda has, and nothing more."""
    report = run.report
    assert report["version"][:2] == [3, 13], f"ran on Python {report['version']}, not Lambda's 3.13"
    assert set(report["runtime_distributions"]) <= RUNTIME_DISTRIBUTIONS, report["runtime_distributions"]
    assert {"boto3", "botocore"} <= set(report["runtime_distributions"])
    assert report["dev_importable"] == [], (
        f"{report['dev_importable']} importable in the function's interpreter; it must have only the "
        f"runtime's SDK and the package (checked: {', '.join(DEV_ONLY_MODULES)})"
    )
    origins = run.module_origins(function.task_root)
    assert origins["credit_monitor.app"] == "task root"
    assert origins["aws_lambda_powertools"] == "task root"
    assert origins["urllib3"] == "task root", (
        "the package's urllib3 (src/requirements.txt) wins over the SDK's"
    )
    assert origins["boto3"] == "runtime"
    assert origins["botocore"] == "runtime"
    strangers = {
        name: origin for name, origin in origins.items() if origin not in {"task root", "runtime", "stdlib"}
    }
    assert not strangers, (
        f"modules loaded from outside the task root, the runtime and the stdlib: {strangers}"
    )
