"""`credit-monitor check`: the same checks from a laptop, cron or CI, with keys from the environment.
`credit-monitor validate FILE`: an accounts file checked as the function would at cold start.
`credit-monitor status | snooze | unsnooze [--stack NAME]`: the deployed monitor, from a terminal
(the stack defaults to samconfig.toml's; --region and --profile choose the AWS session).
`credit-monitor keys set | list`, `credit-monitor init`: keys and accounts set up (onboarding.py).
`credit-monitor test-alert [--stack NAME]`: the deployed function sends each receiver a test message.

Exit status: 0 all balances at or above threshold (or the file is valid, or the command did what
it says), 1 a balance is low, 2 bad usage or configuration, 3 a check failed or the command failed
unexpectedly (an internal error, named on stderr), 130 interrupted. An error never exits 1: that
status means "a balance is low" to cron and CI.

Everything printed is encodable on any stream: text from a vendor or the state table goes through
`printable` (control characters, bidi overrides and lone surrogates escaped visibly), and what the
stream's encoding cannot carry is backslash-escaped. A closed pipe (`| head`) ends the output, not
the command: the exit status still says how the balances stand.
An account NOT CHECKED (waiting its turn on a shared key) is shown with its reason and changes
nothing in the exit status.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shlex
import sys
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, TextIO

from credit_monitor import __version__, deployed, onboarding
from credit_monitor.account import ACCOUNT_ID
from credit_monitor.accounts_file import AccountsConfig, load_config
from credit_monitor.adapters.aws import BOTO_CONFIG
from credit_monitor.adapters.function import INVOKE_CONFIG, InvokeError, LambdaInvoker
from credit_monitor.adapters.http import HttpClient, build_pool_manager
from credit_monitor.adapters.secrets import EnvironmentKeySource
from credit_monitor.adapters.stack import (
    FUNCTION_OUTPUT,
    STATE_TABLE_OUTPUT,
    StackDescription,
    StackError,
    describe_stack,
    function_of,
)
from credit_monitor.adapters.state import DynamoStateStore, StateError
from credit_monitor.alerting import AccountState, Levels, Status, status_of
from credit_monitor.amounts import format_amount
from credit_monitor.checks import (
    MIN_SECONDS_FOR_A_REQUEST,
    PLANNING_ALLOWANCE_SECONDS,
    declared_requests,
    run_checks,
    turns,
)
from credit_monitor.config import (
    DEFAULT_CHECK_DEADLINE_SECONDS,
    DEFAULT_SCHEDULE_PERIOD_SECONDS,
    Account,
    ConfigError,
    api_key_var,
    api_url_var,
    critical_threshold_var,
    load_check_settings,
    read_local_api_keys,
    threshold_var,
)
from credit_monitor.model import CheckResult
from credit_monitor.payloads import DEDUP_KEY_PREFIX
from credit_monitor.printable import printable
from credit_monitor.providers import PROVIDERS
from credit_monitor.ratelimit import run_number
from credit_monitor.routes import TOPIC, StackTopic, accounts_for
from credit_monitor.service import TEST_ALERT, Answer
from credit_monitor.sizing import DEFAULT_MEMORY_MB, capacity_warning
from credit_monitor.status import (
    MAX_REASON,
    account_status,
    first_run_note,
    schedule_period,
    snooze_until,
    to_the_minute,
    unreadable,
    urgency,
    when,
)
from credit_monitor.status import render as render_status

EXIT_OK, EXIT_LOW, EXIT_USAGE, EXIT_FAILED = 0, 1, 2, 3
EXIT_INTERRUPTED = 130
"""128 + SIGINT, as a shell reports Ctrl-C."""


def _check_epilog() -> str:
    zero_config = "\n".join(
        f"  {threshold_var(p):<34} {p.name}'s warning level in credits; unset: {p.name} is off\n"
        f"  {critical_threshold_var(p):<34} optional lower, more urgent level\n"
        f"  {api_url_var(p):<34} optional base URL (default {p.default_api_url})\n"
        f"  {api_key_var(p):<34} {p.name}'s API key"
        for p in PROVIDERS
    )
    return f"""\
environment variables read:
  ACCOUNTS_FILE                      an accounts file (TOML); when set, the variables below
                                     for zero-config vendors are not read
{zero_config}
  <ID>_API_KEY                       with an accounts file: each account's key, by its id (or its
                                     `key`) upper-cased, with '-' as '_' (acme-lemlist: ACME_LEMLIST_API_KEY)
  CHECK_DEADLINE_SECONDS             time for all checks (default {DEFAULT_CHECK_DEADLINE_SECONDS:g})
  SCHEDULE_PERIOD_SECONDS            time between runs, for accounts sharing a key that take turns
                                     (default {DEFAULT_SCHEDULE_PERIOD_SECONDS:g})
  SSL_CERT_FILE                      optional CA bundle for the vendors' HTTPS

exit status:
  {EXIT_OK:<4}every balance is at or above its warning level
  {EXIT_LOW:<4}a balance is low (below warning or critical)
  {EXIT_USAGE:<4}bad usage or configuration (each problem is named on stderr)
  {EXIT_FAILED:<4}a check failed (auth, network, a bad reply) or an internal error
  {EXIT_INTERRUPTED:<4}interrupted (Ctrl-C)
"""


CHECK_EPILOG = _check_epilog()


def main(
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
    out: TextIO | None = None,
) -> int:
    """The console script. An unexpected exception exits 3, never with Python's default 1."""
    out = out or sys.stdout
    try:
        return run(argv, environ, out)
    except KeyboardInterrupt:
        fail("interrupted")
        return EXIT_INTERRUPTED
    except Exception as exc:  # the last resort: any other exit status would lie
        fail(internal_error(exc))
        return EXIT_FAILED


def internal_error(exc: BaseException) -> str:
    """Where it failed, by type and line. The message is withheld: it may quote a key or a reply."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return f"internal error: {type(exc).__name__}{where}; please report it"


def run(argv: Sequence[str] | None, environ: Mapping[str, str] | None, out: TextIO) -> int:
    parser = argparse.ArgumentParser(prog="credit-monitor", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"credit-monitor {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser(
        "check",
        help="check every account's balance once and print a table",
        description="Check every account's balance once, with keys from the environment, and print a table.",
        epilog=CHECK_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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
        deployed.add_options(operator, "--table", "the state table's name", STATE_TABLE_OUTPUT)
    test = sub.add_parser(
        "test-alert",
        help="have the deployed function send each receiver a message marked as a test",
        description="Invoke the deployed function with a test event: it sends each receiver (the stack's"
        " SNS topic, and each route's Slack, Teams, PagerDuty, webhook and topic) one message marked as a"
        " test, and this prints what each accepted. Exit 0 when every receiver accepted it, 3 otherwise,"
        " 2 for bad usage.",
    )
    test.add_argument(
        "--route", metavar="NAME", help="only the receivers of this route (as validate lists them)"
    )
    deployed.add_options(test, "--function", "the function's name or ARN", FUNCTION_OUTPUT)
    onboarding.add_parsers(sub)
    args = parser.parse_args(argv)

    if args.command == "validate":
        return validate_file(args.file, out, args.memory_size)
    env = dict(os.environ if environ is None else environ)
    if args.command in ("status", "snooze", "unsnooze"):
        return operate(args, out, env)
    if args.command == "test-alert":
        return test_alert(args, out, env)
    if args.command in onboarding.COMMANDS:
        return onboard(args, out, env)
    if args.accounts:
        env["ACCOUNTS_FILE"] = str(Path(args.accounts).resolve())
    try:
        settings = load_check_settings(env)
    except ConfigError as exc:
        fail_config(exc, "configuration error: ")
        return EXIT_USAGE
    keys = EnvironmentKeySource(read_local_api_keys(settings.accounts, env))
    deadline = time.monotonic() + settings.deadline_seconds  # the CLI's own budget: the checks alone
    turn = run_number(time.time(), settings.schedule_period_seconds)
    results = run_checks(settings, keys, HttpClient(build_pool_manager()), deadline, turn)
    statuses = classify(results, {item.id: item.levels for item in settings.accounts})
    if args.json:
        providers = {account.id: account.provider.name for account in settings.accounts}
        emit(json.dumps(check_json(results, statuses, providers), indent=2), out)
    else:
        emit(render_table(results, statuses), out)
    return exit_status(statuses)


def check_json(
    results: Sequence[CheckResult], statuses: Sequence[Status], providers: Mapping[str, str]
) -> list[dict[str, object]]:
    return [
        {
            "account": printable(result.account),
            "provider": providers[result.account],
            "status": status.value,
            "balance": result.balance.credits if result.balance else None,
            "currency": result.balance.currency if result.balance else None,
            "threshold": result.threshold,
            "failure": result.error.kind.value if result.error else None,
            "reason": printable(result.error.message) if result.error else result.not_checked,
        }
        for result, status in zip(results, statuses, strict=True)
    ]


def operate(args: argparse.Namespace, out: TextIO, env: Mapping[str, str]) -> int:
    """status, snooze and unsnooze: the deployed state table, read and written with the caller's
    own credentials (the function's role is unchanged). Snoozes are conditional writes. Every
    argument is checked before the first AWS call."""
    now = datetime.now(UTC)
    try:
        if args.command in ("snooze", "unsnooze") and not ACCOUNT_ID.fullmatch(args.account):
            raise ValueError(
                f"{args.account!r} is not an account id (a slug of lower-case letters, digits and dashes)"
            )
        if args.command == "snooze":
            until = snooze_until(now, args.duration, args.until)
            reason = (args.reason or "").strip()[:MAX_REASON] or None
            if reason is not None and printable(reason) != reason:
                raise ValueError("--reason must be one line of text, without control or format characters")
        session = deployed.session_of(args, env)
        stack, table = None, args.table
        if not table:  # one DescribeStacks: the table, and for status the schedule
            stack = describe_stack(deployed.stack_of(args), session)
            table = stack.output(STATE_TABLE_OUTPUT, "deploy this version, or pass --table")
        store = DynamoStateStore(table, session.client("dynamodb", config=BOTO_CONFIG))
        if args.command == "status":
            rows = [
                account_status(name, state, now)
                if isinstance(state, AccountState)
                else unreadable(name, str(state))
                for name, state in store.scan().items()
            ]
            if args.json:
                emit(json.dumps([row.as_json() for row in sorted(rows, key=urgency)], indent=2), out)
            elif rows:
                emit(render_status(rows, now), out)
            else:
                emit(
                    "\n".join(
                        [
                            f"no account has been checked yet ({printable(table)})",
                            *next_step(args, stack, now),
                        ]
                    ),
                    out,
                )
            return EXIT_OK
        if args.command == "snooze":
            store.change(args.account, lambda s: replace(s, snoozed_until=until, snooze_reason=reason))
            emit(
                f"{printable(args.account)}: snoozed until {when(until, now)}"
                + (f" ({reason})" if reason else ""),
                out,
            )
        else:
            ended: list[datetime] = []

            def unsnoozed(state: AccountState) -> AccountState:
                # Ended now rather than cleared: the next run then says where a low account stands.
                if not state.snoozed(now) or state.snoozed_until is None:
                    return state
                ended[:] = [state.snoozed_until]
                return replace(state, snoozed_until=now, snooze_reason=None)

            store.change(args.account, unsnoozed)
            was = f"snooze ended (it was until {to_the_minute(ended[0])})" if ended else "not snoozed"
            emit(f"{printable(args.account)}: {was}; a low balance is reported at the next run", out)
    except (StackError, StateError, ValueError) as exc:
        fail(str(exc))
        return EXIT_USAGE
    return EXIT_OK


_ROUTE_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}=[ -~]{1,100}(,[a-z][a-z0-9_-]{0,31}=[ -~]{1,100}){0,4}")
"""A route's name derived from its match ("client=acme"): what validate lists."""


class Invoker(Protocol):
    """How test-alert runs the deployed function: Lambda's Invoke (adapters/function.py)."""

    def invoke(self, event: Mapping[str, object]) -> object:
        """The function's JSON result; InvokeError when it cannot be had."""
        ...


def lambda_invoker(args: argparse.Namespace, env: Mapping[str, str]) -> Invoker:
    """The stack's function (its FunctionName output, as status finds the table), or --function."""
    session = deployed.session_of(args, env)
    function = args.function or function_of(deployed.stack_of(args), session)
    return LambdaInvoker(function, session.client("lambda", config=INVOKE_CONFIG))


def test_alert(args: argparse.Namespace, out: TextIO, env: Mapping[str, str]) -> int:
    """Each receiver's answer to the function's test message, one line each: exit 0 only when every
    receiver accepted it."""
    event: dict[str, object] = {"trigger": TEST_ALERT}
    if args.route:
        if not ACCOUNT_ID.fullmatch(args.route) and not _ROUTE_NAME.fullmatch(args.route):
            fail(f"--route must name a route as validate lists it, got {printable(args.route)!r}")
            return EXIT_USAGE
        event["route"] = args.route
    try:
        reply = lambda_invoker(args, env).invoke(event)
    except StackError as exc:
        fail(str(exc))
        return EXIT_USAGE
    except InvokeError as exc:
        fail(str(exc))
        return EXIT_FAILED
    if isinstance(reply, dict) and isinstance(reply.get("problem"), str):
        fail(printable(reply["problem"]))
        return EXIT_USAGE
    items = reply.get(TEST_ALERT) if isinstance(reply, dict) else None
    read = [Answer.from_json(item) for item in items] if isinstance(items, list) else []
    deliveries = [delivery for delivery in read if delivery is not None]
    if not deliveries or len(deliveries) != len(read):
        ran_a_check = isinstance(reply, dict) and "accounts" in reply
        fail(
            "the deployed function ran a scheduled check instead: it predates test-alert; deploy this version"
            if ran_a_check
            else "the function's reply is not a test-alert report; deploy this version"
        )
        return EXIT_FAILED
    lines = [
        f"{printable(d.receiver)}: {accepted_as(d.accepted)}"
        if d.accepted is not None
        else f"{printable(d.receiver)}: REFUSED: {printable(d.refused or '')}"
        for d in deliveries
    ]
    if any(d.accepted is not None for d in deliveries):
        lines.append(
            "A receiver that accepted it delivers it now. Nothing arrived? An e-mail subscription must be"
            " confirmed first, and a subscription's filter policy may leave out kind TEST."
        )
    emit("\n".join(lines), out)
    return EXIT_OK if all(d.accepted is not None for d in deliveries) else EXIT_FAILED


def accepted_as(said: str) -> str:
    """What a receiver's acceptance is printed as: an SNS topic's message id, PagerDuty's dedup_key,
    or what a webhook answered ("accepted (HTTP 200)": Slack, Teams and webhooks give no id)."""
    if said.startswith("accepted"):
        return printable(said)
    what = "dedup_key" if said.startswith(DEDUP_KEY_PREFIX) else "message id"
    return f"accepted ({what} {printable(said)})"


def next_step(args: argparse.Namespace, stack: StackDescription | None, now: datetime) -> list[str]:
    """After the first deploy: when the first run is due, from the stack's own schedule, and the
    command that shows a message arriving now."""
    options = [
        f"{option} {shlex.quote(value)}"
        for option, value in (("--stack", args.stack), ("--region", args.region), ("--profile", args.profile))
        if value
    ]
    command = " ".join(["credit-monitor test-alert", *options])
    if stack is None:
        return first_run_note(None, None, None, now, command)
    schedule = stack.parameters.get("ScheduleExpression")
    period = schedule_period(schedule, stack.parameters.get("AlarmPeriodSeconds"))
    return first_run_note(schedule, period, stack.created, now, command)


def onboard(args: argparse.Namespace, out: TextIO, env: Mapping[str, str]) -> int:
    """keys set, keys list and init: results on `out`, questions and refusals on stderr."""
    terminal = onboarding.Terminal(
        say=lambda text: emit(text, out), note=lambda text: emit(text, sys.stderr), ask=ask, stdin=sys.stdin
    )
    try:
        onboarding.run(args, terminal, env)
    except onboarding.Refused as exc:
        fail(str(exc))
        return EXIT_FAILED if exc.again else EXIT_USAGE
    return EXIT_OK


def ask(question: str) -> str | None:
    """A question on stderr, its answer a line of stdin; None at the end of input."""
    sys.stderr.write(printable(question))
    sys.stderr.flush()
    line = sys.stdin.readline()
    return line.rstrip("\r\n") if line else None


def validate_file(path: Path, out: TextIO, memory_mb: int = DEFAULT_MEMORY_MB) -> int:
    """The file's accounts, its routes and who hears of what; warnings (stderr, exit 0) for what is
    valid but likely a mistake."""
    try:
        config = load_config(path)
    except ConfigError as exc:
        fail_config(exc)
        return EXIT_USAGE
    accounts = config.accounts
    lines = [f"{printable(str(path))}: {len(accounts)} account(s), valid"]
    for account in accounts:
        levels = levels_shown(account)
        labels = " ".join(f"{name}={value}" for name, value in account.labels.items())
        lines.append(f"  {account.id:<24} {account.provider.name:<12} warning {levels}  {labels}".rstrip())
    routes, warnings = routing_report(config)
    lines.extend(routes)
    lines.extend(shared_key_report(accounts))
    emit("\n".join(lines), out)
    for problem in warnings:
        fail(f"warning: {problem}")
    if warning := capacity_warning(len(accounts), memory_mb):
        fail(f"warning: {warning}")
    return EXIT_OK


def routing_report(config: AccountsConfig) -> tuple[list[str], list[str]]:
    """Each route (its receivers, by entry name or topic ARN, never a secret, and the accounts it
    gets) and what the stack's topic hears; and the warnings: a route that matches no account, an
    account no receiver hears of. Nothing for a file without routes: the stack's topic hears all."""
    routing = config.routing
    if not routing.routes and routing.stack_topic is StackTopic.ALL:
        return [], []
    lines = [f"{len(routing.routes)} route(s):"]
    warnings = []
    for route in routing.routes:
        ids = [account.id for account in accounts_for(route, config.accounts)]
        gets = f"{len(ids)} account(s): {', '.join(ids)}" if ids else "no account"
        lines.append(f"  {route.name}: {gets}")
        lines += [f"    {spec.describe()}" for spec in route.receivers]
        if not ids:
            match = ", ".join(f"{label} = {json.dumps(value)}" for label, value in route.match.items())
            warnings.append(
                f"route {route.name!r} matches no account: no account has the labels {{ {match} }}, so its"
                " receivers hear nothing"
            )
    heard = [account.id for account in config.accounts if TOPIC in routing.receivers_for(account)]
    setting = f'stack_topic = "{routing.stack_topic.value}"'
    if routing.stack_topic is StackTopic.ALL:
        lines.append(f"the stack's topic: every account ({setting})")
    elif heard:
        lines.append(f"the stack's topic ({setting}): {len(heard)} account(s): {', '.join(heard)}")
    else:
        lines.append(f"the stack's topic ({setting}): no account")
    unheard = [account.id for account in config.accounts if not routing.receivers_for(account)]
    if unheard:
        warnings.append(
            f"{len(unheard)} account(s) reach no receiver: no route matches them, and {setting} leaves"
            f" them out of the stack's topic, so nobody hears of them: {', '.join(unheard)}"
        )
    return lines, warnings


def levels_shown(account: Account) -> str:
    """ "500 / critical 100" credits, "$20.00 / critical $5.00" for a vendor whose balance is always
    dollars; for one whose reply names its currency, the numbers and that they are in it."""
    currency = account.provider.currency

    def shown(level: float) -> str:
        return format_amount(level, currency, credits_word=False)

    text = shown(account.threshold)
    if account.critical_threshold is not None:
        text += f" / critical {shown(account.critical_threshold)}"
    return f"{text} (in the reply's currency)" if account.provider.currency_from_reply else text


def shared_key_report(accounts: Sequence[Account]) -> list[str]:
    """Per key whose accounts make more different requests than one run can start (by the
    template's check deadline): the accounts, the requests per run, and k. Accounts whose requests
    are the same make one. The run groups by the real keys, whatever the file says."""
    seconds = DEFAULT_CHECK_DEADLINE_SECONDS - MIN_SECONDS_FOR_A_REQUEST - PLANNING_ALLOWANCE_SECONDS
    lines = []
    for turn in turns(declared_requests(accounts), seconds):
        shared, limit = turn.shared, turn.shared.limit
        members = turn.accounts
        lines += [
            f"note: key {members[0].secret_entry!r} ({turn.vendor}) is shared by {len(members)} accounts"
            f" making {len(turn.requests)} different requests, more than one run can make: {turn.vendor}"
            f" allows {limit.requests} requests per {limit.per_seconds:g} s per key, so a run makes"
            f" {shared.per_run} of them ({DEFAULT_CHECK_DEADLINE_SECONDS:g} s check deadline, half of"
            f" each window kept for retries); they take turns, each account checked at least every"
            f" {shared.turns} runs, and the others are NOT CHECKED that run.",
            f"  accounts: {', '.join(sorted(a.id for a in members))}",
        ]
    return lines


def classify(results: Sequence[CheckResult], levels: Mapping[str, Levels]) -> list[Status]:
    """One status per result, by the same levels the Lambda uses."""
    return [status_of(result, levels[result.account]) for result in results]


def exit_status(statuses: Sequence[Status]) -> int:
    if Status.FAILED in statuses:
        return EXIT_FAILED
    if any(status in (Status.LOW, Status.CRITICAL) for status in statuses):
        return EXIT_LOW
    return EXIT_OK


def render_table(results: Sequence[CheckResult], statuses: Sequence[Status]) -> str:
    rows = [("ACCOUNT", "BALANCE", "THRESHOLD", "STATUS")]
    for result, status in zip(results, statuses, strict=True):
        currency = result.balance.currency if result.balance else None
        balance = (
            format_amount(result.balance.credits, currency, credits_word=False) if result.balance else "-"
        )
        shown = status.value
        if result.error is not None:
            shown = f"{status.value} ({result.error.kind.value}): {result.error.message}"
        if result.not_checked is not None:
            shown = f"{status.value}: {result.not_checked}"
        threshold = format_amount(result.threshold, currency, credits_word=False)
        rows.append((printable(result.account), balance, threshold, printable(shown)))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(
        f"{row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]}" for row in rows
    )


def emit(text: str, out: TextIO) -> None:
    """One block of output, flushed. What `out`'s encoding cannot carry is backslash-escaped; a
    reader that has gone (a closed pipe) silences the rest of the output, not the command."""
    encoding = getattr(out, "encoding", None)
    if encoding:
        text = text.encode(encoding, "backslashreplace").decode(encoding)
    try:
        out.write(text + "\n")
        out.flush()
    except BrokenPipeError:
        with contextlib.suppress(OSError, ValueError):  # later writes, and the flush at exit, go nowhere
            os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())


def fail_config(exc: ConfigError, prefix: str = "") -> None:
    """Every problem of a configuration, one line each."""
    for problem in exc.problems:
        fail(prefix + problem)


def fail(message: str) -> None:
    """An error on stderr; it may quote foreign text (a path, an item, a reply), so it is escaped."""
    emit(f"credit-monitor: {printable(message)}", sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
