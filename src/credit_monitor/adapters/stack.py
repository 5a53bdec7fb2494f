"""A deployed stack's outputs, so the operator's commands need only its name."""

from __future__ import annotations

import re

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from credit_monitor.adapters.aws import BOTO_CONFIG

STATE_TABLE_OUTPUT = "StateTableName"
API_KEYS_SECRET_OUTPUT = "ApiKeysSecretName"  # noqa: S105 - a name, not a secret
STACK_NAME = re.compile(r"[A-Za-z][-A-Za-z0-9]{0,127}|arn:aws[a-z-]*:cloudformation:[!-~]{1,1000}")
"""CloudFormation's own rule for a name, or a stack ARN: anything else is refused before a call."""


class StackError(RuntimeError):
    """The stack or the output is not there; the message says which and where to look."""


def state_table_of(stack: str) -> str:
    return output_of(stack, STATE_TABLE_OUTPUT, "deploy this version, or pass --table")


def api_keys_secret_of(stack: str) -> str:
    return output_of(stack, API_KEYS_SECRET_OUTPUT, "deploy this version, or pass --secret")


def output_of(stack: str, output: str, otherwise: str) -> str:
    """One output's value; StackError naming the stack, the output and `otherwise` (what to do)."""
    if not STACK_NAME.fullmatch(stack):
        raise StackError(
            f"{stack!r} is not a stack name (a letter, then letters, digits and dashes; at most 128)"
            " or a stack ARN"
        )
    try:
        client = boto3.client("cloudformation", config=BOTO_CONFIG)
        described = client.describe_stacks(StackName=stack)["Stacks"]
    except (ClientError, BotoCoreError) as exc:
        raise StackError(f"cannot read stack {stack!r}: {exc}") from None
    outputs = {o["OutputKey"]: o.get("OutputValue", "") for o in described[0].get("Outputs", [])}
    if not outputs.get(output):
        raise StackError(f"stack {stack!r} has no {output} output; {otherwise}")
    return str(outputs[output])
