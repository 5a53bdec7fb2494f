"""`credit-monitor keys set | list` and `credit-monitor init`: setting up without editing JSON or TOML
by hand. cli.py registers the commands and prints; this module decides what they do.

`keys set ACCOUNT_ID` reads the key from a no-echo prompt (or stdin when piped), validates it as the
function would, and merges it into the stack's secret, keeping every other entry; a secret written
by someone else since it was read is never overwritten (adapters/secret_store.py). The key is never
printed, not even in an error. `keys list` says which accounts have a usable key, nothing more.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from credit_monitor import deployed
from credit_monitor.accounts_file import load_accounts
from credit_monitor.adapters.aws import BOTO_CONFIG
from credit_monitor.adapters.secret_store import SecretChanged, SecretStore, SecretStoreError
from credit_monitor.adapters.stack import API_KEYS_SECRET_OUTPUT, StackError, api_keys_secret_of
from credit_monitor.config import ConfigError, accounts_file_setting, resolve_accounts_file
from credit_monitor.deploy_settings import accounts_file_to_write, deployed_accounts_file, repository_root
from credit_monitor.keys import redact
from credit_monitor.printable import printable
from credit_monitor.providers import CATALOGUE, PROVIDERS
from credit_monitor.secret_json import SecretJsonError, checked_key, entries, key_states, with_key
from credit_monitor.starter import Answers, credits, label, render

COMMANDS = frozenset({"keys", "init"})
MAX_KEY_BYTES = 8192
"""Far above any real key: more on stdin is a file piped by mistake, refused unread."""


class Refused(Exception):
    """The command did nothing; the message says why (it never holds a key). `again`: it may
    succeed if run again (the secret changed meanwhile)."""

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
        "keys", help="store an account's API key in the secret, or list which accounts have one"
    )
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    put = keys_sub.add_parser(
        "set",
        help="merge one account's key into the secret (prompted without echo, or piped on stdin)",
        description="Merge one account's API key into the secret, keeping every other entry. The key is"
        " read from a prompt that does not echo, or from stdin when piped (`pass show x | credit-monitor"
        " keys set ID --stack S`), and is never printed. Exit 3 when the secret changed since it was"
        " read (nothing written; run again), 2 for any other refusal.",
    )
    put.add_argument("account", metavar="ACCOUNT_ID", help="the account's id, as in the accounts file")
    put.add_argument("--create", action="store_true", help="create the secret if it does not exist yet")
    listing = keys_sub.add_parser("list", help="which accounts have a key in the secret (never the keys)")
    listing.add_argument(
        "--accounts",
        metavar="FILE",
        help="an accounts file (default: $ACCOUNTS_FILE, else the one `make deploy` packages)",
    )
    for command in (put, listing):
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
    elif args.keys_command == "set":
        set_key(_store(args), args.account, terminal, create=args.create)
    else:
        path = args.accounts or accounts_file_setting(env) or default_accounts_file()
        list_keys(_store(args), _account_ids(path, env), terminal)


def set_key(store: SecretStore, account_id: str, terminal: Terminal, *, create: bool) -> None:
    key = read_key(account_id, terminal)  # first: the secret is read just before it is written
    try:
        checked_key(account_id, key)  # a bad key is refused before any AWS call
        read = store.read()
        if not read.exists and not create:
            raise Refused(
                f"secret {store.secret_id!r} does not exist; pass --create to create it with this key"
            )
        new = with_key(read.secret_string, account_id, key)
        version = store.write(read, new)
    except SecretChanged as exc:
        raise Refused(redact(str(exc), [key]), again=True) from None
    except (SecretStoreError, SecretJsonError) as exc:
        raise Refused(redact(str(exc), [key])) from None
    kept = len(entries(new)) - 1
    verb = "created" if not read.exists else "stored in"
    terminal.say(
        f"{account_id}: key {verb} secret {printable(store.secret_id)} (version {version});"
        f" {kept} other entr{'y' if kept == 1 else 'ies'} kept. The function reads it within 6 hours,"
        " or at once after a 401."
    )


def read_key(account_id: str, terminal: Terminal) -> str:
    """The key: from a prompt that does not echo when stdin is a terminal, else all of stdin."""
    if terminal.stdin.isatty():
        with warnings.catch_warnings():
            warnings.simplefilter("error", getpass.GetPassWarning)  # never fall back to echoing
            try:
                return getpass.getpass(f"API key for {account_id} (not shown): ", stream=sys.stderr)
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


def list_keys(store: SecretStore, account_ids: list[str], terminal: Terminal) -> None:
    try:
        read = store.read()
        states = key_states(read.secret_string, account_ids)
    except (SecretStoreError, SecretJsonError) as exc:
        raise Refused(str(exc)) from None
    if not read.exists:
        raise Refused(f"secret {store.secret_id!r} does not exist; `keys set ID --create` creates it")
    width = max([len("ACCOUNT"), *(len(printable(name)) for name, _ in states)])
    lines = [f"{'ACCOUNT':<{width}}  KEY"]
    lines += [f"{printable(name):<{width}}  {state.value}" for name, state in states]
    terminal.say("\n".join(lines))


def _store(args: argparse.Namespace) -> SecretStore:
    try:
        session = deployed.session_of(args)
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


def _account_ids(path: str, env: Mapping[str, str]) -> list[str]:
    """The accounts of the file at `path` (--accounts, else $ACCOUNTS_FILE), else the zero-config ones."""
    if not path:
        return [provider.name for provider in PROVIDERS]
    try:
        return [account.id for account in load_accounts(resolve_accounts_file(path, env))]
    except ConfigError as exc:
        raise Refused("; ".join(exc.problems)) from None  # one line: `credit-monitor validate` lists them


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
