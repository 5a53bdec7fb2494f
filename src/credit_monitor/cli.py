"""`credit-monitor check`: the same checks from a laptop, cron or CI, with keys from the environment.
`credit-monitor validate FILE`: an accounts file checked as the function would at cold start.
`credit-monitor status | snooze | unsnooze --stack NAME`: the deployed monitor, from a terminal.

Exit status: 0 all balances at or above threshold (or the file is valid), 1 a balance is low,
3 a check failed, 2 bad usage or configuration.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from credit_monitor import __version__
from credit_monitor.accounts_file import load_accounts
from credit_monitor.adapters.http import HttpClient, build_pool_manager
from credit_monitor.adapters.secrets import EnvironmentKeySource
from credit_monitor.adapters.stack import StackError, state_table_of
from credit_monitor.adapters.state import DynamoStateStore, StateError
from credit_monitor.alerting import AccountState, Levels, Status, status_of
from credit_monitor.checks import run_checks
from credit_monitor.config import ConfigError, load_check_settings, read_local_api_keys
from credit_monitor.messages import format_balance
from credit_monitor.model import CheckResult
from credit_monitor.sizing import DEFAULT_MEMORY_MB, capacity_warning
from credit_monitor.status import account_status, snooze_until, unreadable, urgency
from credit_monitor.status import render as render_status

EXIT_OK, EXIT_LOW, EXIT_USAGE, EXIT_FAILED = 0, 1, 2, 3
MAX_REASON = 200


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
    check.add_argument("--json", action="store_true", help="print JSON for scripts (same exit status)")
    validate = sub.add_parser("validate", help="validate an accounts file and list its accounts")
    validate.add_argument("file", type=Path)
    validate.add_argument(
        "--memory-size",
        type=int,
        default=DEFAULT_MEMORY_MB,
        metavar="MB",
        help=f"the function's MemorySize (default {DEFAULT_MEMORY_MB}): warn when it is too small",
    )
    status = sub.add_parser("status", help="where every deployed account stands, most urgent first")
    status.add_argument("--json", action="store_true", help="print JSON for scripts")
    snooze = sub.add_parser("snooze", help="hold back LOW, REMINDER and RUNNING OUT for an account")
    snooze.add_argument("account")
    snooze.add_argument("--for", dest="duration", metavar="DURATION", help="e.g. 90m, 12h, 3d, 2w")
    snooze.add_argument("--until", metavar="WHEN", help="a date or time, e.g. 2026-12-01")
    snooze.add_argument("--reason", default=None, help="shown by status")
    unsnooze = sub.add_parser("unsnooze", help="end an account's snooze now")
    unsnooze.add_argument("account")
    for operator in (status, snooze, unsnooze):
        where = operator.add_mutually_exclusive_group(required=True)
        where.add_argument("--stack", help="the deployed stack's name (its StateTableName output)")
        where.add_argument("--table", help="the state table's name")
    args = parser.parse_args(argv)

    if args.command == "validate":
        return validate_file(args.file, out, args.memory_size)
    if args.command in ("status", "snooze", "unsnooze"):
        return operate(args, out)
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
    if args.json:
        providers = {account.id: account.provider.name for account in settings.accounts}
        print(json.dumps(check_json(results, statuses, providers), indent=2), file=out)
    else:
        print(render_table(results, statuses), file=out)
    return exit_status(statuses)


def check_json(
    results: Sequence[CheckResult], statuses: Sequence[Status], providers: Mapping[str, str]
) -> list[dict[str, object]]:
    return [
        {
            "account": result.account,
            "provider": providers[result.account],
            "status": status.value,
            "balance": result.balance.credits if result.balance else None,
            "threshold": result.threshold,
            "failure": result.error.kind.value if result.error else None,
            "reason": result.error.message if result.error else None,
        }
        for result, status in zip(results, statuses, strict=True)
    ]


def operate(args: argparse.Namespace, out: TextIO) -> int:
    """status, snooze and unsnooze: the deployed state table, read and written with the caller's
    own credentials (the function's role is unchanged). Snoozes are conditional writes."""
    now = datetime.now(UTC)
    try:
        table = args.table or state_table_of(args.stack)
        store = DynamoStateStore(table)
        if args.command == "status":
            rows = [
                account_status(name, state, now)
                if isinstance(state, AccountState)
                else unreadable(name, str(state))
                for name, state in store.scan().items()
            ]
            if args.json:
                print(json.dumps([row.as_json() for row in sorted(rows, key=urgency)], indent=2), file=out)
            else:
                print(
                    render_status(rows, now) if rows else f"no account has been checked yet ({table})",
                    file=out,
                )
            return EXIT_OK
        if args.command == "snooze":
            until = snooze_until(now, args.duration, args.until)
            reason = (args.reason or "").strip()[:MAX_REASON] or None
            store.change(args.account, lambda s: replace(s, snoozed_until=until, snooze_reason=reason))
            print(
                f"{args.account}: snoozed until {until.isoformat()}" + (f" ({reason})" if reason else ""),
                file=out,
            )
        else:
            # Ended now rather than cleared: the next run then says where a low account stands.
            store.change(
                args.account,
                lambda s: replace(s, snoozed_until=now, snooze_reason=None) if s.snoozed(now) else s,
            )
            print(f"{args.account}: not snoozed; a low balance is reported at the next run", file=out)
    except (StackError, StateError, ValueError) as exc:
        print(f"credit-monitor: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def validate_file(path: Path, out: TextIO, memory_mb: int = DEFAULT_MEMORY_MB) -> int:
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
    if warning := capacity_warning(len(accounts), memory_mb):
        print(f"credit-monitor: warning: {warning}", file=sys.stderr)
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
