"""`credit-monitor check`: the same checks from a laptop, cron or CI, with keys from the environment.
`credit-monitor validate FILE`: an accounts file checked as the function would at cold start.

Exit status: 0 all balances at or above threshold (or the file is valid), 1 a balance is low,
3 a check failed, 2 bad usage or configuration.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

from credit_monitor import __version__
from credit_monitor.accounts_file import load_accounts
from credit_monitor.adapters.http import HttpClient, build_pool_manager
from credit_monitor.adapters.secrets import EnvironmentKeySource
from credit_monitor.alerting import Levels, Status, status_of
from credit_monitor.checks import run_checks
from credit_monitor.config import ConfigError, load_check_settings, read_local_api_keys
from credit_monitor.messages import format_balance
from credit_monitor.model import CheckResult

EXIT_OK, EXIT_LOW, EXIT_USAGE, EXIT_FAILED = 0, 1, 2, 3


def main(
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
    out: TextIO | None = None,
) -> int:
    out = out or sys.stdout
    parser = argparse.ArgumentParser(prog="credit-monitor", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"credit-monitor {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="check every account's balance once and print a table")
    check.add_argument("--accounts", metavar="FILE", help="an accounts file (default: $ACCOUNTS_FILE)")
    validate = sub.add_parser("validate", help="validate an accounts file and list its accounts")
    validate.add_argument("file", type=Path)
    args = parser.parse_args(argv)

    if args.command == "validate":
        return validate_file(args.file, out)
    env = dict(os.environ if environ is None else environ)
    if args.accounts:
        env["ACCOUNTS_FILE"] = str(Path(args.accounts).resolve())
    try:
        settings = load_check_settings(env)
    except ConfigError as exc:
        print(f"credit-monitor: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    keys = EnvironmentKeySource(read_local_api_keys(settings.accounts, env))
    deadline = time.monotonic() + settings.deadline_seconds  # the CLI's own budget: the checks alone
    results = run_checks(settings, keys, HttpClient(build_pool_manager()), deadline)
    statuses = classify(results, {item.id: item.levels for item in settings.accounts})
    print(render_table(results, statuses), file=out)
    return exit_status(statuses)


def validate_file(path: Path, out: TextIO) -> int:
    try:
        accounts = load_accounts(path)
    except ConfigError as exc:
        print(f"credit-monitor: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"{path}: {len(accounts)} account(s), valid", file=out)
    for account in accounts:
        levels = format_balance(account.threshold)
        if account.critical_threshold is not None:
            levels += f" / critical {format_balance(account.critical_threshold)}"
        labels = " ".join(f"{name}={value}" for name, value in account.labels.items())
        print(f"  {account.id:<24} {account.provider.name:<12} warning {levels}  {labels}".rstrip(), file=out)
    return EXIT_OK


def classify(results: Sequence[CheckResult], levels: Mapping[str, Levels]) -> list[Status]:
    """One status per result, by the same levels the Lambda uses."""
    return [status_of(result, levels[result.account]) for result in results]


def exit_status(statuses: Sequence[Status]) -> int:
    if Status.FAILED in statuses:
        return EXIT_FAILED
    if any(status is not Status.OK for status in statuses):
        return EXIT_LOW
    return EXIT_OK


def render_table(results: Sequence[CheckResult], statuses: Sequence[Status]) -> str:
    rows = [("ACCOUNT", "BALANCE", "THRESHOLD", "STATUS")]
    for result, status in zip(results, statuses, strict=True):
        balance = format_balance(result.balance.credits) if result.balance else "-"
        shown = status.value
        if result.error is not None:
            shown = f"{status.value} ({result.error.kind.value}): {result.error.message}"
        rows.append((result.account, balance, format_balance(result.threshold), shown))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(
        f"{row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]}" for row in rows
    )


if __name__ == "__main__":
    sys.exit(main())
