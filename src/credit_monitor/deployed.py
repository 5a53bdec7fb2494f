"""Where the operator's commands find the deployed monitor: `--stack` (default: the stack_name of
the samconfig.toml `sam deploy` wrote, found from the current folder up), and `--region` and
`--profile` for the one boto3 Session every AWS client of the command is built from."""

from __future__ import annotations

import argparse
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError

from credit_monitor.adapters.stack import StackError, samconfig_stack


def add_options(
    command: argparse.ArgumentParser, alternative: str, alternative_help: str, output: str
) -> None:
    """--stack or `alternative` (the resource itself), and --region and --profile."""
    where = command.add_mutually_exclusive_group()
    where.add_argument(
        "--stack",
        help=f"the deployed stack's name (its {output} output); default: stack_name in samconfig.toml,"
        " found from the current folder up",
    )
    where.add_argument(alternative, help=alternative_help)
    command.add_argument("--region", help="the AWS region (default: the profile's, or $AWS_REGION)")
    command.add_argument("--profile", help="an AWS profile of ~/.aws/config (default: $AWS_PROFILE)")


def session_of(args: argparse.Namespace) -> boto3.Session:
    """The command's one Session; StackError naming a profile that is not configured."""
    try:
        return boto3.Session(region_name=args.region or None, profile_name=args.profile or None)
    except BotoCoreError as exc:  # ProfileNotFound
        raise StackError(f"AWS profile {args.profile!r} is not configured ({exc})") from None


def stack_of(args: argparse.Namespace, start: Path | None = None) -> str:
    """--stack, else samconfig.toml's stack_name; StackError saying what to pass when neither."""
    if args.stack:
        return str(args.stack)
    found = samconfig_stack((start or Path.cwd()).resolve())
    if found is None:
        raise StackError(
            "no --stack given, and no samconfig.toml with a stack_name in this folder or above it;"
            " pass --stack NAME"
        )
    return found[0]
