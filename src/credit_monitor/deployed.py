"""Where the operator's commands find the deployed monitor: `--stack` (default: the stack_name of
the samconfig.toml `sam deploy` wrote, found from the current folder up), and `--region` and
`--profile` for the one boto3 Session every AWS client of the command is built from."""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Mapping
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
    command.add_argument(
        "--region", help="the AWS region (default: $AWS_REGION, else $AWS_DEFAULT_REGION, else the profile's)"
    )
    command.add_argument("--profile", help="an AWS profile of ~/.aws/config (default: $AWS_PROFILE)")


REGION_VARIABLES = ("AWS_REGION", "AWS_DEFAULT_REGION")
"""After --region, in the AWS CLI's order; then the profile's `region`. boto3 alone reads only the second."""
REGION_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", re.IGNORECASE)
"""botocore's own rule for a region name: anything else is refused before a call."""
NO_REGION = (
    "no AWS region is set: pass --region (e.g. --region eu-west-1), set AWS_REGION"
    " (export AWS_REGION=eu-west-1), or give your profile one (aws configure set region eu-west-1)"
)


class RegionError(StackError):
    """No region, or not a region's name: the message says how to set one."""


def session_of(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> boto3.Session:
    """The command's one Session, in the region the AWS CLI would use: --region, AWS_REGION,
    AWS_DEFAULT_REGION, then the profile's. RegionError when there is none, StackError naming a
    profile that is not configured; both before any AWS call."""
    env = os.environ if env is None else env
    given = args.region or next((env[name] for name in REGION_VARIABLES if env.get(name, "").strip()), None)
    region = given.strip() if given else None
    if region is not None and not REGION_NAME.fullmatch(region):
        where = "--region" if args.region else next(name for name in REGION_VARIABLES if env.get(name))
        raise RegionError(f"{where} {region!r} is not an AWS region's name, e.g. eu-west-1")
    try:
        session = boto3.Session(region_name=region, profile_name=args.profile or None)
    except BotoCoreError as exc:  # ProfileNotFound
        named = repr(args.profile) if args.profile else f"{env.get('AWS_PROFILE', '')!r} (AWS_PROFILE)"
        raise StackError(f"AWS profile {named} is not configured ({exc})") from None
    if not session.region_name:
        raise RegionError(NO_REGION)
    return session


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
