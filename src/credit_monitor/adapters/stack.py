"""A deployed stack's outputs, so the operator's commands need only its name, and that name from
the samconfig.toml `sam deploy` wrote, so they need not even that."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from credit_monitor.adapters.aws import BOTO_CONFIG
from credit_monitor.deploy_settings import LOCAL_SAMCONFIG, SAMCONFIG

STATE_TABLE_OUTPUT = "StateTableName"
API_KEYS_SECRET_OUTPUT = "ApiKeysSecretName"  # noqa: S105 - a name, not a secret
FUNCTION_OUTPUT = "FunctionName"
STACK_NAME = re.compile(r"[A-Za-z][-A-Za-z0-9]{0,127}|arn:aws[a-z-]*:cloudformation:[!-~]{1,1000}")
"""CloudFormation's own rule for a name, or a stack ARN: anything else is refused before a call."""


class StackError(RuntimeError):
    """The stack or the output is not there; the message says which and where to look."""


SAMCONFIG_SECTIONS = (("default", "deploy"), ("default", "global"))
"""Where `sam deploy --guided` saves stack_name, then where a hand-written file may keep it."""


def samconfig_stack(start: Path) -> tuple[str, Path] | None:
    """The stack_name of the nearest samconfig.toml in `start` or a folder above it (a repository's
    root, from anywhere inside it), or of the samconfig.local.toml next to it, which wins; and that
    file. None when there is none. StackError for a file
    that cannot be read or is not TOML: guessing past it could reach another stack."""
    for folder in (start, *start.parents):
        if not (folder / SAMCONFIG).is_file():
            continue
        for path in (folder / LOCAL_SAMCONFIG, folder / SAMCONFIG):  # yours over the project's
            if path.is_file() and (name := _stack_name(path)):
                return name, path
        return None  # the nearest file is the project's: one further up is someone else's
    return None


def _stack_name(path: Path) -> str | None:
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise StackError(f"{path}: cannot read the stack name ({exc}); pass --stack") from None
    for env, command in SAMCONFIG_SECTIONS:
        section = config.get(env, {}).get(command, {}).get("parameters", {})
        name = section.get("stack_name") if isinstance(section, dict) else None
        if isinstance(name, str) and name.strip():
            return name.strip()
    return None


def state_table_of(stack: str, session: boto3.Session | None = None) -> str:
    return output_of(stack, STATE_TABLE_OUTPUT, "deploy this version, or pass --table", session)


def api_keys_secret_of(stack: str, session: boto3.Session | None = None) -> str:
    return output_of(stack, API_KEYS_SECRET_OUTPUT, "deploy this version, or pass --secret", session)


def function_of(stack: str, session: boto3.Session | None = None) -> str:
    return output_of(stack, FUNCTION_OUTPUT, "deploy this version, or pass --function", session)


def output_of(stack: str, output: str, otherwise: str, session: boto3.Session | None = None) -> str:
    """One output's value; StackError naming the stack, the output and `otherwise` (what to do)."""
    return describe_stack(stack, session).output(output, otherwise)


@dataclass(frozen=True)
class StackDescription:
    """What one DescribeStacks says of a stack: its outputs, its parameters, when it was created."""

    name: str
    region: str
    outputs: Mapping[str, str]
    parameters: Mapping[str, str]
    created: datetime | None

    def output(self, output: str, otherwise: str) -> str:
        if not self.outputs.get(output):
            raise StackError(f"stack {self.name!r} in {self.region} has no {output} output; {otherwise}")
        return str(self.outputs[output])


def describe_stack(stack: str, session: boto3.Session | None = None) -> StackDescription:
    """The stack, in one call; StackError naming it and its region when it cannot be read."""
    if not STACK_NAME.fullmatch(stack):
        raise StackError(
            f"{stack!r} is not a stack name (a letter, then letters, digits and dashes; at most 128)"
            " or a stack ARN"
        )
    session = session or boto3.Session()
    try:
        client = session.client("cloudformation", config=BOTO_CONFIG)
        [described] = client.describe_stacks(StackName=stack)["Stacks"][:1]
    except (ClientError, BotoCoreError, ValueError) as exc:
        raise StackError(f"cannot read stack {stack!r} in {session.region_name}: {exc}") from None
    created = described.get("CreationTime")
    return StackDescription(
        name=stack,
        region=str(session.region_name),
        outputs={o["OutputKey"]: o.get("OutputValue", "") for o in described.get("Outputs", [])},
        parameters={p["ParameterKey"]: p.get("ParameterValue", "") for p in described.get("Parameters", [])},
        created=created if isinstance(created, datetime) else None,
    )
