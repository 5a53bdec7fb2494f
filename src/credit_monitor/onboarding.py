"""`credit-monitor keys set | list` and `credit-monitor init`: setting up without editing JSON or TOML
by hand. cli.py registers the commands and prints; this module decides what they do.

`keys set ACCOUNT_ID` reads the key from a no-echo prompt (or stdin when piped), validates it as the
function would, and merges it into the stack's secret, keeping every other entry; a secret written
by someone else since it was read is never overwritten (adapters/secret_store.py). It writes the
entry the function reads (account.keys_by_account, the accounts file's `key`), and with --check
first asks the vendor with the new key through the function's own check code. `keys set ENTRY`
does the same for an entry a route's receiver reads (a webhook URL, a routing key, a signing
secret), judged as the function judges it before it sends (delivery.entry_problem). No value is
ever printed, not even in an error. `keys list` says which accounts have a usable key, and which
receiver entries the function would use, nothing more.
"""

from __future__ import annotations

import argparse
import getpass
import shlex
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import boto3

from credit_monitor import deployed
from credit_monitor.account import ACCOUNT_ID, Account, entry_readers, keys_by_account
from credit_monitor.accounts_file import load_config
from credit_monitor.adapters.aws import BOTO_CONFIG
from credit_monitor.adapters.http import HttpClient, build_pool_manager
from credit_monitor.adapters.secret_store import SecretChanged, SecretStore, SecretStoreError
from credit_monitor.adapters.secrets import EnvironmentKeySource
from credit_monitor.adapters.stack import API_KEYS_SECRET_OUTPUT, StackError, api_keys_secret_of
from credit_monitor.amounts import format_amount
from credit_monitor.checks import check_account
from credit_monitor.config import (
    DEFAULT_CHECK_DEADLINE_SECONDS,
    ConfigError,
    accounts_file_setting,
    every_zero_config_account,
    resolve_accounts_file,
)
from credit_monitor.delivery import receiver_secrets
from credit_monitor.deploy_settings import accounts_file_to_write, deployed_accounts_file, repository_root
from credit_monitor.keys import redact
from credit_monitor.model import CheckResult
from credit_monitor.printable import printable
from credit_monitor.problems import did_you_mean
from credit_monitor.providers import CATALOGUE
from credit_monitor.routes import ReceiverEntry, Routing
from credit_monitor.secret_json import (
    SecretJsonError,
    checked_key,
    checked_value,
    entries,
    key_listing,
    listed,
    read_by,
    with_value,
)
from credit_monitor.starter import Answers, credits, label, render

COMMANDS = frozenset({"keys", "init"})
MAX_KEY_BYTES = 8192
"""Far above any real key: more on stdin is a file piped by mistake, refused unread."""


class Refused(Exception):
    """The command did nothing; the message says why (it never holds a key). `again`: it failed
    rather than being misused, and may succeed if run again (the secret changed meanwhile, the
    vendor did not answer the key with a balance): exit 3, else 2."""

    def __init__(self, message: str, *, again: bool = False) -> None:
        super().__init__(message)
        self.again = again


@dataclass(frozen=True)
class Terminal:
    """How the commands talk: `say` prints a result (stdout), `note` a remark for the person at the
    prompt (stderr), `ask` prompts on stderr and returns the answer line (None at end of input),
    `stdin` is where a piped key comes from."""

    say: Callable[[str], None]
    note: Callable[[str], None]
    ask: Callable[[str], str | None]
    stdin: TextIO


def add_parsers(sub: Any) -> None:
    """The `keys` and `init` subcommands, on cli.py's subparsers."""
    keys = sub.add_parser(
        "keys",
        help="store an account's API key (or a route receiver's URL or key) in the secret, or list which"
        " are there",
    )
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    put = keys_sub.add_parser(
        "set",
        help="merge one account's key, or one route receiver's entry, into the secret (prompted without"
        " echo, or piped on stdin)",
        description="Merge one account's API key into the secret, keeping every other entry; or the value"
        " of an entry a route's receiver reads (a Slack, Teams or webhook URL, a PagerDuty routing key, a"
        " webhook's signing secret), checked as the function checks it. The value is read from a prompt"
        " that does not echo, or from stdin when piped (`pass show x | credit-monitor keys set ID --stack"
        " S`), and is never printed. Exit 3 when the secret changed since it was read (nothing written;"
        " run again), 2 for any other refusal.",
    )
    put.add_argument(
        "account",
        metavar="ID",
        help='the account\'s id, or the secret entry a route names (slack = "acme-slack"), as in the'
        " accounts file",
    )
    put.add_argument("--create", action="store_true", help="create the secret if it does not exist yet")
    put.add_argument(
        "--force",
        action="store_true",
        help="store it even if no account or route of the accounts file reads it",
    )
    put.add_argument(
        "--check",
        action="store_true",
        help="first ask the vendor for the balance with the new key, as the function does; store the key"
        " only if it answers with one (exit 3 otherwise). For a receiver's entry, `credit-monitor"
        " test-alert --route NAME` is the check, once it is stored",
    )
    listing = keys_sub.add_parser(
        "list",
        help="which accounts have a key in the secret, and which route receivers an entry (never a value)",
    )
    for command in (put, listing):
        command.add_argument(
            "--accounts",
            metavar="FILE",
            help="the accounts file whose entries the function reads (default: $ACCOUNTS_FILE, else the"
            " one `make deploy` packages, else the zero-config accounts)",
        )
        deployed.add_options(command, "--secret", "the secret's name or ARN", API_KEYS_SECRET_OUTPUT)

    init = sub.add_parser(
        "init",
        help="write a starter accounts file from a few answers or flags",
        description="Write a starter accounts file. Give each account as --provider P [--id ID]"
        " --warning N [--critical N] [--label NAME=VALUE ...], repeated for more accounts; without"
        " --provider, the questions are asked.",
    )
    init.add_argument(
        "file", nargs="?", type=Path, help="default: src/accounts.toml, where `make deploy` looks"
    )
    init.add_argument("--force", action="store_true", help="replace the file if it exists")
    init.set_defaults(accounts=[])
    init.add_argument("--provider", action=_NewAccount, choices=sorted(CATALOGUE), help="starts an account")
    for option, meaning in (
        ("--id", "its id (default: the provider's name)"),
        ("--warning", "the level, in credits, below which to alert"),
        ("--critical", "an optional lower, more urgent level"),
        ("--label", "NAME=VALUE, sent with its alerts for routing (repeatable)"),
        (
            "--email",
            "the vendor account owner's e-mail, for a vendor that asks for it (bettercontact, icypeas)",
        ),
    ):
        init.add_argument(option, action=_AccountField, metavar=option[2:].upper(), help=meaning)


class _NewAccount(argparse.Action):
    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: str | None = None) -> None:
        namespace.accounts = [*namespace.accounts, Answers(provider=str(values))]


class _AccountField(argparse.Action):
    """--id, --warning, --critical, --label: a field of the account the last --provider started."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: str | None = None) -> None:
        if not namespace.accounts:
            parser.error(f"{option_string} must follow the --provider of its account")
        answers: Answers = namespace.accounts[-1]
        try:
            if option_string == "--label":
                name, value = label(str(values))
                answers.labels[name] = value
            elif option_string == "--id":
                answers.id = str(values)
            elif option_string == "--email":
                answers.email = str(values)
            else:
                setattr(answers, self.dest, credits(str(values), str(option_string)))
        except ValueError as exc:
            parser.error(str(exc))


def run(args: argparse.Namespace, terminal: Terminal, env: Mapping[str, str]) -> None:
    """One of the commands; Refused when it did nothing. `env` is the CLI's environment."""
    if args.command == "init":
        init(
            args.file or accounts_file_to_write(Path.cwd()),
            args.accounts,
            force=args.force,
            terminal=terminal,
        )
        return
    accounts = accounts_of(args.accounts or accounts_file_setting(env) or default_accounts_file(), env)
    try:
        session = deployed.session_of(args, env)  # the region is known before a key is asked for
    except StackError as exc:
        raise Refused(str(exc)) from None
    if args.keys_command == "set":
        target = target_entry(accounts, args.account, force=args.force)
        if args.check and target.receiver is not None:
            raise Refused(
                f"--check asks a vendor for a balance, and {target.entry!r} is {read_by(target.receiver)}:"
                f" store it without --check, then {test_alert_hint(target.receiver)}; nothing stored"
            )
        if args.check and not target.readers:
            raise Refused(
                "--check asks the vendor of an account that reads the entry, and no account in"
                f" {target.source} reads {target.entry!r}; nothing stored"
            )
        check = vendor_check if args.check else None
        set_key(lambda: _store(args, session), target, terminal, create=args.create, check=check)
    else:
        list_keys(_store(args, session), accounts, terminal)


@dataclass(frozen=True)
class Accounts:
    """The accounts the keys commands resolve entries for, the routes whose receivers read entries
    of the same secret, and where they come from (for messages)."""

    accounts: tuple[Account, ...]
    source: str
    routing: Routing = field(default_factory=Routing)


def accounts_of(path: str, env: Mapping[str, str]) -> Accounts:
    """The accounts and routes of the file at `path` (--accounts, else $ACCOUNTS_FILE), else the
    zero-config accounts."""
    try:
        if path:
            config = load_config(resolve_accounts_file(path, env))
            return Accounts(config.accounts, path, config.routing)
        accounts = every_zero_config_account(env)
        names = ", ".join(account.id for account in accounts)
        return Accounts(accounts, f"the zero-config accounts ({names}; --accounts FILE reads a file)")
    except ConfigError as exc:
        raise Refused("; ".join(exc.problems)) from None  # one line: `credit-monitor validate` lists them


@dataclass(frozen=True)
class Target:
    """The secret entry `keys set ID` writes, and the accounts that read it, or the routes'
    receivers that do (neither when forced)."""

    entry: str
    readers: tuple[Account, ...]
    source: str
    receiver: ReceiverEntry | None = None
    routed: bool = False
    """Whether the file's routes read entries of the secret too: then nothing reading an entry is
    "no account or route"."""

    @property
    def nothing(self) -> str:
        return f"no account{' or route' if self.routed else ''} in {self.source}"


def target_entry(accounts: Accounts, name: str, *, force: bool) -> Target:
    """The entry the function reads for `name`: an account reading its own id, a shared entry
    (account.entry_readers, the function's own rule), or a route receiver's entry. An account that
    reads a shared entry is refused, pointing to it; a name nothing reads is refused with the close
    one, unless forced."""
    if not ACCOUNT_ID.fullmatch(name):
        raise Refused(
            "the account id must be a slug of lower-case letters, digits and dashes (at most 64),"
            " e.g. 'acme-lemlist', as in the accounts file"
        )
    by_id = {account.id: account for account in accounts.accounts}
    readers = entry_readers(accounts.accounts)
    receivers = accounts.routing.entries()
    if name in readers:
        return Target(name, tuple(by_id[reader] for reader in readers[name]), accounts.source)
    if name in receivers:
        return Target(name, (), accounts.source, receivers[name])
    if name in by_id and not force:
        shared = by_id[name].secret_entry
        others = [reader for reader in readers[shared] if reader != name]
        also = f", as do {listed(others)}" if others else ""
        raise Refused(
            f"{name} reads its key from the shared entry {shared!r} (its `key` in {accounts.source}){also};"
            f" `keys set {shared}` sets the key they share; to give {name} a key of its own, remove its"
            " `key` line first. Nothing stored"
        )
    target = Target(name, (), accounts.source, routed=bool(receivers))
    if not force:
        hint = did_you_mean(name, [*readers, *by_id, *receivers])
        reads = "reads" if receivers else "reads a key from"
        raise Refused(
            f"{target.nothing} {reads} {name!r}{hint or '.'} Nothing stored; --force stores it all the same"
        )
    return target


def test_alert_hint(entry: ReceiverEntry) -> str:
    """How a receiver entry is checked: the deployed function sends its route's receivers a test."""
    command = f"credit-monitor test-alert --route {shlex.quote(entry.routes[0])}"
    return f"`{command}` sends that route's receivers a test"


def set_key(
    store_of: Callable[[], SecretStore],
    target: Target,
    terminal: Terminal,
    *,
    create: bool,
    check: Callable[[Target, str], CheckResult] | None = None,
) -> None:
    """Read the key (or a receiver's URL, routing key or signing secret), check it as the function
    would (and with `check`, ask its vendor), then read and write the secret: everything that can
    be refused without AWS is, before the first AWS call."""
    entry, receiver = target.entry, target.receiver
    what = "API key" if receiver is None else receiver.holds
    raw = read_key(entry, terminal, what)  # first: the secret is read just before it is written
    try:
        # A bad value is refused before any AWS call, by a message that never holds it.
        value = checked_key(entry, raw) if receiver is None else checked_value(receiver, raw)
    except SecretJsonError as exc:
        raise Refused(str(exc)) from None
    # Only a secret is redacted (a value too short to be one would mask the message's own words);
    # of a URL, what follows its host, as the function redacts it.
    secrets = [value] if receiver is None else receiver_secrets(receiver.spec, {entry: value})
    if check is not None:
        terminal.say(vendor_answer(target, check(target, value)))
    store = store_of()
    try:
        read = store.read()
        if not read.exists and not create:
            raise Refused(f"secret {store.where} does not exist; pass --create to create it with this key")
        new = with_value(read.secret_string, entry, value)
        version = store.write(read, new)
    except SecretChanged as exc:
        raise Refused(redact(str(exc), secrets), again=True) from None
    except (SecretStoreError, SecretJsonError) as exc:
        raise Refused(redact(str(exc), secrets)) from None
    kept = len(entries(new)) - 1
    verb = "created" if not read.exists else "stored in"
    terminal.say(
        f"{entry}: {'key' if receiver is None else receiver.holds} {verb} secret {printable(store.secret_id)}"
        f" (version {version}); {kept} other entr{'y' if kept == 1 else 'ies'} kept. {_read_by(target)}"
    )


def _read_by(target: Target) -> str:
    """Who reads the entry just stored, and when."""
    if target.receiver is not None:
        routes = target.receiver.routes
        return (
            f"Read by route{'s' if len(routes) > 1 else ''} {listed(routes)}: the function reads it within"
            f" 6 hours; {test_alert_hint(target.receiver)}."
        )
    ids = [account.id for account in target.readers]
    if not ids:
        nothing = target.nothing
        return f"{nothing[0].upper()}{nothing[1:]} reads it: the function ignores it until one does."
    when = "within 6 hours, or at once after a 401"
    return (
        f"The function reads it {when}."
        if ids == [target.entry]
        else f"Read by {listed(ids)}: the function reads it {when}."
    )


def vendor_check(target: Target, key: str) -> CheckResult:
    """One check of the first account reading the entry, with the new key, by the function's own
    check code (checks.check_account: its request, retries, reading of the reply and redaction)
    over a real HTTP client; the entry resolved as the function resolves it. A 401 reads the
    keys again, which here are this key alone, so nothing is sent twice."""
    account = target.readers[0]
    keys = EnvironmentKeySource({target.entry: key})
    api_keys = keys_by_account([account], keys.api_keys())
    deadline = time.monotonic() + DEFAULT_CHECK_DEADLINE_SECONDS
    return check_account(account, api_keys, keys, HttpClient(build_pool_manager()), deadline)


def vendor_answer(target: Target, result: CheckResult) -> str:
    """The balance the vendor gave for the key; Refused with the failure's kind and its already
    redacted reason otherwise. Never anything of the key."""
    account = target.readers[0]
    name = account.provider.display_name
    if result.balance is None:
        error = result.error
        why = f" ({error.kind.value}): {error.message}" if error else f": {result.not_checked or 'no answer'}"
        refusal = f"{account.id}: {name} did not give a balance for this key{printable(why)}"
        raise Refused(f"{refusal}; the key was not stored", again=True)
    balance = format_amount(result.balance.credits, result.balance.currency)
    return f"{account.id}: {name} answered this key with a balance of {balance}"


def read_key(entry: str, terminal: Terminal, what: str = "API key") -> str:
    """The key (or `what` the entry holds): from a prompt that does not echo when stdin is a
    terminal, else all of stdin."""
    if terminal.stdin.isatty():
        with warnings.catch_warnings():
            warnings.simplefilter("error", getpass.GetPassWarning)  # never fall back to echoing
            try:
                prompt = f"{what[0].upper()}{what[1:]} for {entry} (not shown): "
                return getpass.getpass(prompt, stream=sys.stderr)
            except getpass.GetPassWarning:
                raise Refused(
                    "this terminal cannot hide what is typed; pipe the key on stdin instead"
                ) from None
            except EOFError:
                raise Refused("no key given") from None
    text = terminal.stdin.read(MAX_KEY_BYTES + 1)
    if len(text) > MAX_KEY_BYTES:
        raise Refused(f"stdin holds more than {MAX_KEY_BYTES:,} characters: that is not one API key")
    return text


def list_keys(store: SecretStore, accounts: Accounts, terminal: Terminal) -> None:
    try:
        read = store.read()
        listing = key_listing(read.secret_string, accounts.accounts, accounts.routing)
    except (SecretStoreError, SecretJsonError) as exc:
        raise Refused(str(exc)) from None
    if not read.exists:
        raise Refused(f"secret {store.where} does not exist; `keys set ID --create` creates it")
    width = max([len("ACCOUNT"), *(len(printable(row.name)) for row in listing.rows)])
    lines = [f"{'ACCOUNT':<{width}}  KEY"]
    lines += [f"{printable(row.name):<{width}}  {row.text}" for row in listing.rows]
    if listing.hidden:
        lines.append(
            f"and {listing.hidden} more entr{'y' if listing.hidden == 1 else 'ies'} for no account here,"
            " whose names are not shown: a name that is not an id may be a key stored as a name (name and"
            " value swapped)"
        )
    terminal.say("\n".join(lines))


def _store(args: argparse.Namespace, session: boto3.Session) -> SecretStore:
    try:
        secret = args.secret or api_keys_secret_of(deployed.stack_of(args), session)
        return SecretStore(secret, session.client("secretsmanager", config=BOTO_CONFIG))
    except StackError as exc:
        raise Refused(str(exc)) from None


def default_accounts_file() -> str:
    """The accounts file `make deploy` packages, seen from here; "" for the zero-config accounts."""
    try:
        path = deployed_accounts_file(Path.cwd())
    except ConfigError as exc:
        raise Refused(str(exc)) from None
    return str(path) if path else ""


def init(path: Path, accounts: list[Answers], *, force: bool, terminal: Terminal) -> None:
    if path.exists() and not force:
        raise Refused(f"{path} exists; pass --force to replace it")
    if not accounts:
        accounts = interview(str(path), terminal)
    try:
        text = render(accounts, str(path))
    except ValueError as exc:
        raise Refused(f"nothing written: {exc}") from None
    try:
        with path.open("w" if force else "x", encoding="utf-8") as file:
            file.write(text)
    except FileExistsError:
        raise Refused(f"{path} exists; pass --force to replace it") from None
    except OSError as exc:
        raise Refused(f"{path}: cannot write it ({exc.strerror or exc})") from None
    ids = [answers.id or answers.provider for answers in accounts]
    terminal.say(
        f"wrote {printable(str(path))}: {len(ids)} account(s). Next:\n"
        f"  credit-monitor validate {printable(str(path))}\n"
        + "".join(f"  credit-monitor keys set {account_id} --stack <your stack>\n" for account_id in ids)
        + f"  {deploy_command(path)}"
    )


def deploy_command(path: Path) -> str:
    """`make deploy`, naming the file (from the clone's root, where make runs) when it is not the one
    the deploy would package anyway."""
    try:
        packaged = deployed_accounts_file(Path.cwd())
    except ConfigError:
        packaged = None
    if packaged and packaged.resolve() == path.resolve():
        return "make deploy"
    root = repository_root(Path.cwd().resolve())
    given = path.resolve()
    shown = given.relative_to(root) if root and given.is_relative_to(root) else given
    return f"make deploy ACCOUNTS={printable(str(shown))}"


def interview(path: str, terminal: Terminal) -> list[Answers]:
    """The accounts, asked one field at a time; an account the file would refuse is asked again."""
    accounts: list[Answers] = []
    providers = ", ".join(sorted(CATALOGUE))
    while True:
        provider = _answer(terminal, f"Provider ({providers}): ")
        if provider not in CATALOGUE:
            terminal.note(f"  {printable(provider)!r} is not one of {providers}")
            continue
        answers = Answers(provider=provider, id=_answer(terminal, f"Account id [{provider}]: ") or provider)
        if CATALOGUE[provider].account_fields:
            answers.email = _answer(
                terminal, f"E-mail of the {CATALOGUE[provider].display_name} account's owner: "
            )
        try:
            answers.warning = credits(_answer(terminal, "Warning level, in credits: "), "warning")
            critical = _answer(terminal, "Critical level, in credits (Enter for none): ")
            answers.critical = credits(critical, "critical") if critical else None
            labels = _answer(terminal, "Labels, NAME=VALUE separated by spaces (Enter for none): ")
            for item in labels.split():
                name, value = label(item)
                answers.labels[name] = value
            render([*accounts, answers], path)
        except ValueError as exc:
            terminal.note(f"  {printable(str(exc))}; give this account again")
            continue
        accounts.append(answers)
        if _answer(terminal, "Another account? [y/N]: ").lower() not in ("y", "yes"):
            return accounts


def _answer(terminal: Terminal, question: str) -> str:
    answer = terminal.ask(question)
    if answer is None:
        raise Refused("input ended before every question was answered; nothing written")
    return answer.strip()
