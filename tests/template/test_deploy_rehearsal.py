"""`sam deploy` rehearsed: the real SAM CLI, with the repository's samconfig.toml, deploys the built
template into moto server's CloudFormation; then the code and configuration the deployed function HAS
run on the Lambda runtime's set, against the loopback API simulators and the deployed resources.

What runs for real: `make deploy` (scripts/deploy.py with the Python of .venv-sam): its checks (the
accounts file, the settings, every account's key in the secret), `sam build` with python3.13 and the
package's bytecode, then `sam deploy` (the SAM CLI in .venv-sam) with samconfig.toml as it is under
settings of the test's own (a scratch samconfig.local.toml), plus only `--no-confirm-changeset` (no
one to answer) and `--region us-east-1`; an accounts file from outside src/, copied into the
package and recorded for the next deploys; its `resolve_s3` managed-bucket
stack, the upload of the package and the template to S3, the change set and its execution, the waits,
and the Outputs table it prints. The stack's Outputs are read back with DescribeStacks. The function is
the zip `sam deploy` uploaded (checked against the deployed CodeSha256), its Handler, Runtime, Timeout,
MemorySize and Environment are the ones moto's Lambda holds after CloudFormation resolved every Ref and
GetAtt (topic, table, secret name, thresholds). Only the providers' URLs are pointed at the simulators.

What bridges moto's gaps (tests/support/rehearsal.py, a loopback proxy in front of moto server):
CreateChangeSet's template is translated with aws-sam-translator (moto does not apply the SAM
transform); `Fn::GetAtt` of a resource moto skips becomes the value tests/support/cfn.py gives it (the
dashboard names the alarms' ARNs, and moto fails the stack on those); and DescribeStacks gets the
Outputs moto does not build for a stack created through a change set, resolved against the physical
ids moto gave the resources.

What this rehearsal cannot see:
- resources moto's CloudFormation skips, though it reports the stack CREATE_COMPLETE: the CloudWatch
  alarms and the composite alarm, the EventBridge Scheduler schedule (so nothing here proves the
  schedule invokes the function, or that its DLQ and retry policy apply), the function's
  EventInvokeConfig, the AlertEmail SNS subscription and the bucket policy of SAM CLI's managed bucket;
- the real SAM transform, in CloudFormation's own version (aws-sam-translator here);
- parameter constraints (AllowedValues, AllowedPattern, Min/MaxValue): moto does not enforce them;
- IAM: moto does not enforce the role, and the run uses fake credentials (test_contract.py checks
  every call against the role instead);
- the architecture (moto records x86_64 for arm64), LoggingConfig (moto drops it, so logs are not
  shown going to the stack's log group), DynamoDB point-in-time recovery, and Number parameters' type
  in the environment (moto's Lambda keeps them as numbers; Lambda has strings, as used here);
- updates and rollbacks: one fresh create, no change set against an existing stack, no failure path;
- and all that test_built_artifact.py cannot see (arm64 wheels, Amazon Linux, Lambda's bootstrap,
  128 MB, the timeout kill, the read-only task root).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from scripts import deploy

from credit_monitor.deploy_settings import Origin
from tests.integration.conftest import KEYS_JSON
from tests.support.artifact import SAM_ENV, BuiltFunction, bytecode_problems, invoke_built, lambda_environment
from tests.support.aws import AWS_ENV, REGION, AlertInbox, MotoServer, state_text
from tests.support.cfn import load_template
from tests.support.harness import REPO, Invocation
from tests.support.keys import assert_no_key_leaked
from tests.support.rehearsal import CloudFormationBridge, uncreatable_types
from tests.support.simulators import ApiSimulator
from tests.template.test_built_artifact import LOCAL_PEERS, SCHEDULED_EVENT, assert_ran_on_the_runtime_set

pytestmark = [
    pytest.mark.template,
    # moto saying, per resource, what NOT_CREATED_BY_MOTO and the docstring already list.
    pytest.mark.filterwarnings(
        "ignore:Tried to parse .* but it's not supported by moto's CloudFormation:UserWarning"
    ),
]

STACK = "credit-monitor"
"""samconfig.toml's stack_name: the test passes none of its own."""

NOT_CREATED_BY_MOTO = frozenset(
    {
        "AWS::CloudWatch::Alarm",
        "AWS::CloudWatch::CompositeAlarm",
        "AWS::Scheduler::Schedule",
        "AWS::Lambda::EventInvokeConfig",
        "AWS::SNS::Subscription",
    }
)
"""The template's resource types moto skips. The docstring and docs/development/template-honesty.md list
them as unseen; a new one in the template fails the test until it is listed there too."""


@pytest.fixture(scope="session")
def sam() -> str:
    path = shutil.which("sam")
    if path is None:
        pytest.skip("sam (aws-sam-cli) is not on PATH; `make setup` installs it into .venv-sam")
    return path


@pytest.fixture
def bridge(aws: str, moto_server: MotoServer) -> Iterator[CloudFormationBridge]:
    proxy = CloudFormationBridge(moto_server.endpoint_url).start()
    yield proxy
    proxy.stop()


def make_deploy(
    sam: str, endpoint_url: str, scratch: Path, *options: str
) -> subprocess.CompletedProcess[str]:
    """`make deploy` as its recipe runs it: scripts/deploy.py with the Python of .venv-sam, from the
    repository root with its samconfig.toml. It builds with python3.13 and deploys with the sam next to
    that Python. The test adds `--region` (no AWS config here), a scratch build directory and
    samconfig.local.toml (never the developer's own, nor their src/accounts.toml: the first deploy is
    given --no-accounts), and `--no-confirm-changeset` for sam (no one to answer)."""
    environment = {
        **os.environ,
        **SAM_ENV,
        **AWS_ENV,
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_CONFIG_FILE": str(scratch / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(scratch / "no-aws-credentials"),
    }
    command = [
        str(Path(sam).parent / "python"),
        "scripts/deploy.py",
        "--region",
        REGION,
        "--build-dir",
        str(scratch / "build"),
        "--local-config-file",
        str(scratch / "samconfig.local.toml"),
        *options,
        "--",
        "--no-confirm-changeset",
    ]
    return subprocess.run(
        command,
        cwd=REPO,
        env=environment,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def deployed_package(configuration: dict[str, Any], code: dict[str, str], task_root: Path) -> BuiltFunction:
    """The function as deployed: the zip `sam deploy` uploaded, unpacked as Lambda unpacks it to
    /var/task, described by the configuration moto's Lambda holds (not by the local build)."""
    s3 = boto3.client("s3", region_name=REGION)
    package = s3.get_object(Bucket=code["S3Bucket"], Key=code["S3Key"])["Body"].read()
    sha256 = base64.b64encode(hashlib.sha256(package).digest()).decode()
    assert sha256 == configuration["CodeSha256"], "the zip in S3 is not the code the function was given"
    zipfile.ZipFile(io.BytesIO(package)).extractall(task_root)
    properties = {
        "CodeUri": task_root.name,
        **{name: configuration[name] for name in ("Handler", "Runtime", "Timeout", "MemorySize")},
    }
    template = {"Resources": {"Deployed": {"Type": "AWS::Lambda::Function", "Properties": properties}}}
    return BuiltFunction(task_root.parent, template, "Deployed")


def test_sam_deploy_then_the_deployed_function_runs(
    sam: str,
    python313: str,
    lambda_python: Path,
    bridge: CloudFormationBridge,
    fullenrich_api: ApiSimulator,
    lemlist_api: ApiSimulator,
    ca_file: Path,
    tmp_path: Path,
) -> None:
    tracked = (REPO / "samconfig.toml").read_bytes()  # the project's: no deploy may write it
    # The quick start, step 1: the keys' secret exists before the stack.
    secret_name = load_template()["Parameters"]["ApiKeysSecretName"]["Default"]
    boto3.client("secretsmanager", region_name=REGION).create_secret(Name=secret_name, SecretString=KEYS_JSON)

    # `make deploy` with no e-mail on a first deploy: refused, saying how to give one or decline it.
    refused = make_deploy(sam, bridge.endpoint_url, tmp_path, "--no-accounts")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "AlertEmail is required" in refused.stderr
    assert "make deploy ALERT_EMAIL=you@example.com" in refused.stderr
    assert "make deploy NO_EMAIL=1" in refused.stderr
    assert "CreateChangeSet" not in bridge.requests

    done = make_deploy(
        sam, bridge.endpoint_url, tmp_path, "--no-accounts", "--alert-email", "ops@example.com"
    )
    assert done.returncode == 0, f"make deploy failed:\n{done.stdout}\n{done.stderr}"
    printed = done.stdout
    assert f"first deploy of stack '{STACK}' in {REGION}" in printed
    assert (
        "deploy: no accounts file (none, as asked): the zero-config accounts fullenrich, lemlist" in printed
    )
    assert 'AlertEmail="ops@example.com"' in printed, "the e-mail is added to samconfig.toml's overrides"
    assert 'AccountsFile=""' in printed, "AccountsFile is always given, never left at a deployed value"
    assert "confirm the subscription e-mail sent to ops@example.com" in printed
    assert f"Successfully created/updated stack - {STACK} in {REGION}" in printed
    changes = [action for action in bridge.requests if action in {"CreateChangeSet", "ExecuteChangeSet"}]
    assert changes[-2:] == ["CreateChangeSet", "ExecuteChangeSet"], bridge.requests
    assert "aws-sam-cli-managed-default" in bridge.stacks, (
        "resolve_s3 = true should create SAM's bucket stack"
    )

    # The stack and its Outputs, as docs/getting-started.md reads them.
    cloudformation = boto3.client("cloudformation", region_name=REGION, endpoint_url=bridge.endpoint_url)
    [described] = cloudformation.describe_stacks(StackName=STACK)["Stacks"]
    assert described["StackStatus"] == "CREATE_COMPLETE"
    parameters = {p["ParameterKey"]: p.get("ParameterValue") for p in described["Parameters"]}
    assert parameters["AlertEmail"] == "ops@example.com"
    assert parameters["ScheduleExpression"] == "rate(1 hour)", "samconfig.toml's overrides were kept"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    assert set(outputs) == set(load_template()["Outputs"]), outputs
    table = "".join(printed.split())  # SAM CLI wraps long values across the lines of its table
    for name, value in outputs.items():
        assert f"Key{name}" in table, f"sam deploy did not print the {name} output"
        assert value in table, f"sam deploy printed another {name}: {printed}"
    assert outputs["ApiKeysSecretName"] == secret_name

    # Every resource the transform produced was created by moto, or is of a type listed as unseen.
    translated = bridge.stacks[STACK].template
    assert uncreatable_types(translated) <= NOT_CREATED_BY_MOTO, uncreatable_types(translated)
    summaries = cloudformation.list_stack_resources(StackName=STACK)["StackResourceSummaries"]
    created = {r["LogicalResourceId"] for r in summaries if r["LogicalResourceId"]}
    expected = {
        logical_id
        for logical_id, resource in translated["Resources"].items()
        if resource["Type"] not in NOT_CREATED_BY_MOTO
    }
    assert created == expected

    # The deployed function: its code, configuration and environment as moto's Lambda holds them.
    lambda_client = boto3.client("lambda", region_name=REGION)
    configuration: dict[str, Any] = dict(
        lambda_client.get_function_configuration(FunctionName=outputs["FunctionName"])
    )
    role = next(r["PhysicalResourceId"] for r in summaries if r["LogicalResourceId"] == "CreditMonitorRole")
    assert configuration["Role"].endswith(f":role/{role}")
    code = translated["Resources"]["CreditMonitorFunction"]["Properties"]["Code"]
    function = deployed_package(configuration, code, tmp_path / "task")
    variables = {name: str(value) for name, value in configuration["Environment"]["Variables"].items()}
    assert variables["ALERT_TOPIC_ARN"] == outputs["AlertTopicArn"]
    assert variables["STATE_TABLE_NAME"] == outputs["StateTableName"]
    assert variables["API_KEYS_SECRET_ID"] == secret_name
    assert set(LOCAL_PEERS) <= set(variables)
    variables |= {"FULLENRICH_API_URL": fullenrich_api.base_url, "LEMLIST_API_URL": lemlist_api.base_url}
    peers = AWS_ENV | {
        "AWS_ENDPOINT_URL": os.environ["AWS_ENDPOINT_URL"],  # moto server itself, not the bridge
        "SSL_CERT_FILE": str(ca_file),
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
    }
    environment = lambda_environment(function, outputs["FunctionName"], variables | peers)

    # The quick start, step 3, with an SQS queue for the e-mail: what a subscriber receives.
    sqs = boto3.client("sqs", region_name=REGION)
    inbox = AlertInbox(sqs, sqs.create_queue(QueueName="deployed-alert-inbox")["QueueUrl"])
    queue_arn = sqs.get_queue_attributes(QueueUrl=inbox.queue_url, AttributeNames=["QueueArn"])["Attributes"]
    boto3.client("sns", region_name=REGION).subscribe(
        TopicArn=outputs["AlertTopicArn"], Protocol="sqs", Endpoint=queue_arn["QueueArn"]
    )

    lemlist_api.balance = 42  # below the LemlistThreshold default (100): one LOW
    run = invoke_built(lambda_python, function, SCHEDULED_EVENT, environment, tmp_path)
    assert_no_key_leaked(printed, run.stdout, run.stderr, json.dumps(run.report))
    assert run.error is None, run.error["stackTrace"] + run.stderr
    assert run.returncode == 0, run.stderr

    # Balances emitted, state written in the deployed table, the alert delivered through the deployed topic.
    emitted = Invocation(result=run.result, error=None, output=run.stdout)
    assert emitted.metric("CreditsRemaining") == {"fullenrich": 5000, "lemlist": 42}
    items = boto3.client("dynamodb", region_name=REGION).scan(TableName=outputs["StateTableName"])["Items"]
    levels = {item["provider"]["S"]: json.loads(state_text(item))["level"] for item in items}
    assert levels == {"fullenrich": "OK", "lemlist": "WARNING"}
    [message] = inbox.messages()
    assert message["TopicArn"] == outputs["AlertTopicArn"]
    assert message["MessageAttributes"]["kind"]["Value"] == "LOW"
    assert message["MessageAttributes"]["account"]["Value"] == "lemlist"

    assert_ran_on_the_runtime_set(run, function)

    assert_ships_bytecode(python313, function.task_root)

    # A later `make deploy`, with an accounts file from outside src/: refused while an account's
    # key is missing from the secret (nothing built), then deployed with the file inside the package.
    accounts = tmp_path / "clients" / "accounts.toml"
    accounts.parent.mkdir()
    accounts.write_text(
        f'[[account]]\nid = "acme-lemlist"\nprovider = "lemlist"\nwarning = 100\nkey = "lemlist"\n'
        f'url = "{lemlist_api.base_url}"\n'
        f'[[account]]\nid = "globex-fullenrich"\nprovider = "fullenrich"\nwarning = 1000\n'
        f'url = "{fullenrich_api.base_url}"\n'
    )
    changes_before = bridge.requests.count("CreateChangeSet")
    missing = make_deploy(sam, bridge.endpoint_url, tmp_path, "--accounts", str(accounts))
    assert missing.returncode == 2, missing.stdout + missing.stderr
    assert "1 account(s) would fail for want of a key in secret" in missing.stderr
    assert "  globex-fullenrich: missing" in missing.stderr
    assert "keys set globex-fullenrich --secret credit-monitor/api-keys --region us-east-1" in missing.stderr
    assert bridge.requests.count("CreateChangeSet") == changes_before
    assert_no_key_leaked(missing.stdout, missing.stderr)
    keys = {**json.loads(KEYS_JSON), "globex-fullenrich": json.loads(KEYS_JSON)["fullenrich"]}
    boto3.client("secretsmanager", region_name=REGION).put_secret_value(
        SecretId=secret_name, SecretString=json.dumps(keys)
    )

    again = make_deploy(sam, bridge.endpoint_url, tmp_path, "--accounts", str(accounts))
    assert again.returncode == 0, f"the second make deploy failed:\n{again.stdout}\n{again.stderr}"
    assert "first deploy" not in again.stdout
    assert (
        f"deploy: accounts file {accounts} (given): 2 account(s), valid;"
        " packaged as AccountsFile=accounts.toml" in again.stdout
    )
    [command] = [
        line for line in again.stdout.splitlines() if line.startswith("deploy: ") and " deploy " in line
    ]
    assert "AlertEmail" not in command, "the e-mail is not given again: SAM CLI keeps the deployed one"
    [described] = cloudformation.describe_stacks(StackName=STACK)["Stacks"]
    parameters = {p["ParameterKey"]: p.get("ParameterValue") for p in described["Parameters"]}
    assert parameters["AlertEmail"] == "ops@example.com"
    assert parameters["AccountsFile"] == "accounts.toml"

    # The function as deployed again: the accounts file is in its package, where it reads it.
    configuration = dict(lambda_client.get_function_configuration(FunctionName=outputs["FunctionName"]))
    code = bridge.stacks[STACK].template["Resources"]["CreditMonitorFunction"]["Properties"]["Code"]
    function = deployed_package(configuration, code, tmp_path / "task-again")
    assert (function.task_root / "accounts.toml").read_text() == accounts.read_text()
    variables = {name: str(value) for name, value in configuration["Environment"]["Variables"].items()}
    assert variables["ACCOUNTS_FILE"] == "accounts.toml"
    environment = lambda_environment(function, outputs["FunctionName"], variables | peers)
    run = invoke_built(lambda_python, function, SCHEDULED_EVENT, environment, tmp_path)
    assert run.error is None, run.error["stackTrace"] + run.stderr
    emitted = Invocation(result=run.result, error=None, output=run.stdout)
    assert emitted.metric("CreditsRemaining") == {"acme-lemlist": 42, "globex-fullenrich": 5000}
    assert_ships_bytecode(python313, function.task_root)

    # Recorded for the next deploys: a plain `make deploy` packages the same file, and says why.
    assert f'accounts_file = "{accounts}"' in (tmp_path / "samconfig.local.toml").read_text()
    arguments = deploy.arguments(["--local-config-file", str(tmp_path / "samconfig.local.toml")])
    _, _, packaged = deploy.local_checks(arguments)
    assert (packaged.choice.path, packaged.choice.origin) == (accounts, Origin.RECORDED)
    assert (REPO / "samconfig.toml").read_bytes() == tracked, "a deploy wrote the tracked samconfig.toml"


def assert_ships_bytecode(python313: str, task_root: Path) -> None:
    modules, problems = bytecode_problems(python313, task_root)
    assert modules > 100
    assert problems == [], "the deployed package lacks the bytecode make deploy compiled"
