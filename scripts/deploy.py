"""`make deploy`: check everything a deploy depends on, then build with Python 3.13 (or in a
container) and deploy with the pinned SAM CLI. `make destroy` (--destroy) deletes the stack.

Settings: samconfig.toml holds the project's defaults and is tracked by git; samconfig.local.toml
holds yours and is not (scripts/settings.py merges them; yours win, parameter_overrides merge by
name). `sam build` and `sam deploy` read the merged file, .aws-sam/samconfig.deploy.toml, which each
run writes afresh. So a `git pull` never conflicts with a setting of yours.

Before anything is built or deployed:
- the region: --region, else the settings', else AWS_REGION, else your AWS configuration's; asked
  for when there is none, and kept in samconfig.local.toml;
- the accounts file: --accounts PATH, else the one an earlier deploy recorded in
  samconfig.local.toml, else src/accounts.toml when it exists, else none (the zero-config accounts;
  --no-accounts chooses them). It is validated as `credit-monitor validate` validates it, and
  AccountsFile is set from it on every deploy, never left at a deployed value that may be stale;
  so is RouteTopicArns, the SNS topics its routes publish to, which the function's role may publish
  to (exactly those: none without an accounts file or route topics);
- the parameter values, checked as CloudFormation would check them (constraints and Rules);
- the keys: each account's entry in the keys' secret, and each entry its routes' receivers read
  (webhook URLs, routing keys, signing secrets), read with your credentials (entry names, and
  whether the function would accept the value; no value is ever printed). One missing, or that the
  function would refuse, stops the deploy, unless --force (`make deploy FORCE=1`);
- on a first deploy (no stack of that name in the region yet), the e-mail that receives the alerts:
  required, unless declined explicitly (--no-email, `make deploy NO_EMAIL=1`): a monitor nobody
  hears from is worse than none. Later deploys keep the deployed e-mail (SAM CLI keeps any parameter
  not given at its deployed value).

Then `sam build`, and the package is completed: an accounts file from outside the code folder (src/)
is copied in as accounts.toml, and every module is compiled to unchecked-hash bytecode, which Lambda's
python3.13 loads instead of compiling the sources at every cold start (skipped, and said, when the
build ran in a container: no Python 3.13 here to compile with). Then `sam deploy`. After a
successful deploy, the accounts file is recorded in samconfig.local.toml for the next ones.

Runs with the Python of .venv-sam (`make deploy` does so), for boto3 and the SAM CLI next to it.
Exit status: 0 deployed, 2 a clear refusal (nothing was built or deployed), else sam's own.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "src")]  # scripts.settings, and credit_monitor's own checks

from credit_monitor.account import Account, ConfigError  # noqa: E402
from credit_monitor.accounts_file import load_config  # noqa: E402
from credit_monitor.config import zero_config_accounts  # noqa: E402
from credit_monitor.deploy_settings import (  # noqa: E402
    LOCAL_SAMCONFIG,
    RECORD_KEY,
    RECORD_TABLE,
    SAMCONFIG,
    AccountsChoice,
    Origin,
    choose_accounts_file,
    recorded_accounts_file,
)
from credit_monitor.keys import clean_key, strip_keys  # noqa: E402
from credit_monitor.model import CheckError  # noqa: E402
from credit_monitor.routes import Routing, topic_arns  # noqa: E402
from credit_monitor.secret_json import (  # noqa: E402
    WOULD_REFUSE,
    KeyState,
    SecretJsonError,
    entries,
    read_by,
    receiver_state,
)
from credit_monitor.sizing import capacity_warning  # noqa: E402
from scripts import settings  # noqa: E402

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
FUNCTION = "CreditMonitorFunction"
PACKAGED_ACCOUNTS_FILE = "accounts.toml"
"""The name an accounts file from outside the code folder gets in the package."""
MERGED_CONFIG = "samconfig.deploy.toml"
MERGED_HEADER = f"""Written by `make deploy` from {SAMCONFIG} and {LOCAL_SAMCONFIG} at every run: do not edit.
SAM CLI reads it for that run's `sam build` and `sam deploy`."""
LOCAL_HEADER = f"""Your settings for `make deploy`. Git ignores this file, so `git pull` never touches it.
They win over {SAMCONFIG}'s (the project's defaults), and parameter_overrides merge by name:
  [default.deploy.parameters]
  parameter_overrides = "LemlistThreshold=500 MemorySize=512"
`make deploy` keeps here the region it asked for and the accounts file it packaged."""
GET_PYTHON_313 = """\
sam build needs Python 3.13 (the Lambda runtime's), and Docker is not running either. Any one of:
  pyenv install 3.13                     # then run `make deploy` again: ~/.pyenv/versions/3.13* is found
  sudo apt install python3.13            # Debian/Ubuntu with a 3.13 package (deadsnakes PPA on Ubuntu)
  brew install python@3.13               # macOS
  start Docker                           # `sam build --use-container` builds in Lambda's own image"""
KEYS_CLI = ".venv/bin/credit-monitor keys set"
ROUTE_TOPICS = "RouteTopicArns"
SET_BY_DEPLOY = ("AccountsFile", "AlertEmail", ROUTE_TOPICS)
"""Parameters the deploy sets itself rather than from the settings files."""


class Refusal(Exception):
    """A reason not to deploy, said plainly; exit status 2."""


# --- where things are ------------------------------------------------------------------------------


def python313() -> str | None:
    """python3.13 from PATH, else ~/.pyenv/versions/3.13*, that runs (an inactive pyenv shim does not)."""
    found = shutil.which("python3.13")
    candidates = [found] if found else []
    candidates += sorted(
        glob.glob(os.path.expanduser("~/.pyenv/versions/3.13*/bin/python3.13")), reverse=True
    )
    for candidate in candidates:
        probe = [candidate, "-c", "import sys; assert sys.version_info[:2] == (3, 13)"]
        if subprocess.run(probe, capture_output=True, check=False).returncode == 0:
            return candidate
    return None


def docker_runs() -> bool:
    docker = shutil.which("docker")
    return (
        docker is not None
        and subprocess.run([docker, "info"], capture_output=True, check=False).returncode == 0
    )


def build_command(
    sam: str, build_dir: Path, config_file: Path
) -> tuple[list[str], dict[str, str], str | None]:
    """`sam build` with python3.13 first on PATH, or in Lambda's build image; and the python3.13 that
    compiles the package's bytecode (None in a container). Refusal when neither works."""
    command = [sam, "build", "--config-file", str(config_file), "--build-dir", str(build_dir)]
    python = python313()
    if python is not None:
        path = f"{Path(python).parent}{os.pathsep}{os.environ.get('PATH', '')}"
        return command, {**os.environ, "PATH": path}, python
    if docker_runs():
        print("deploy: no Python 3.13 here; building in Lambda's image with Docker (--use-container)")
        return [*command, "--use-container"], dict(os.environ), None
    raise Refusal(GET_PYTHON_313)


def code_folder(template: Mapping[str, Any], root: Path = REPO) -> Path:
    """The function's CodeUri: the folder `sam build` packages, /var/task on Lambda."""
    properties = {
        **template.get("Globals", {}).get("Function", {}),
        **template["Resources"][FUNCTION]["Properties"],
    }
    return (root / str(properties["CodeUri"])).resolve()


def shown(path: Path) -> str:
    """A path as the user would type it: relative to the current folder when inside it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


# --- the accounts file ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Packaged:
    """The accounts file as the deploy packages it."""

    choice: AccountsChoice
    accounts: tuple[Account, ...]
    """Its accounts, validated; () for the zero-config accounts."""
    parameter: str
    """AccountsFile: the file's path in the package, relative to the task root; "" for none."""
    copied: bool
    """From outside the code folder: copied into the package after `sam build`."""
    route_topics: tuple[str, ...] = ()
    """The SNS topics its routes publish to: RouteTopicArns, what the function's role may publish to."""
    routing: Routing = field(default_factory=Routing)
    """Its routes: their receivers' entries of the keys' secret are checked with the accounts' keys."""

    @property
    def route_topics_parameter(self) -> str:
        return ",".join(self.route_topics)


def package_accounts(choice: AccountsChoice, code: Path) -> Packaged:
    """The chosen file, validated as `credit-monitor validate` does, and where it goes in the package.
    Refusal listing every problem of an invalid or unreadable file."""
    if choice.path is None:
        return Packaged(choice, (), "", copied=False)
    try:
        config = load_config(choice.path)
    except ConfigError as exc:
        problems = "\n".join(f"  {problem}" for problem in exc.problems)
        raise Refusal(
            f"the accounts file {shown(choice.path)} ({choice.origin.value}) cannot be deployed:\n{problems}"
            + _other_file_hint(choice)
        ) from None
    source = choice.path.resolve()
    topics = tuple(topic_arns(config.routes))
    if source.is_relative_to(code):
        parameter, copied = source.relative_to(code).as_posix(), False
    else:
        parameter, copied = PACKAGED_ACCOUNTS_FILE, True
    return Packaged(choice, config.accounts, parameter, copied, topics, config.routing)


def _other_file_hint(choice: AccountsChoice) -> str:
    return (
        "\nfix it (`.venv/bin/credit-monitor validate FILE` lists the same), give another with"
        " `make deploy ACCOUNTS=path/to/accounts.toml`, or deploy the zero-config accounts with"
        " `make deploy NO_ACCOUNTS=1`"
        if choice.path is not None
        else ""
    )


def accounts_file_override_problem(
    files: Mapping[str, Mapping[str, Any]], packaged: Packaged, code: Path
) -> str | None:
    """An AccountsFile in parameter_overrides that names another file than the deploy packages (the
    deploy sets it; a hand-written one is how /var/task/src/src/accounts.toml happens)."""
    for name, config in files.items():
        written = settings.overrides_of(config).get("AccountsFile")
        if written is None or written == packaged.parameter:
            continue
        meant = code / written
        if not written:
            reads = "the function would watch the zero-config accounts"
        else:
            missing = "" if meant.is_file() else ", which does not exist"
            reads = f"the function would read /var/task/{written}, {shown(meant)} here{missing}"
        packages = "no accounts file"
        if packaged.choice.path is not None:
            packages = f"{shown(packaged.choice.path)} (AccountsFile={packaged.parameter})"
        fix = (
            f"; to deploy {shown(meant)}, run `make deploy ACCOUNTS={shown(meant)}`"
            if meant.is_file()
            else ""
        )
        return (
            f"{name} sets AccountsFile={written!r} in parameter_overrides: {reads}. make deploy sets"
            f" AccountsFile from the accounts file it packages, here {packages}: remove AccountsFile from"
            f" {name}{fix}"
        )
    return None


def route_topics_override_problem(files: Mapping[str, Mapping[str, Any]], packaged: Packaged) -> str | None:
    """A RouteTopicArns in parameter_overrides other than the packaged file's route topics: the deploy
    sets it, so that the role grants publish on exactly the topics the routes name."""
    for name, config in files.items():
        written = settings.overrides_of(config).get(ROUTE_TOPICS)
        if written is None or {arn.strip() for arn in written.split(",")} - {""} == {*packaged.route_topics}:
            continue
        topics = ", ".join(packaged.route_topics) or "none"
        return (
            f"{name} sets {ROUTE_TOPICS}={written!r} in parameter_overrides. make deploy sets {ROUTE_TOPICS}"
            f" from the route topics of the accounts file it packages (here: {topics}), so that the function"
            f" may publish to exactly those: remove {ROUTE_TOPICS} from {name}"
        )
    return None


# --- parameters, accounts and keys -----------------------------------------------------------------


def parameter_values(
    template: Mapping[str, Any], deployed: Mapping[str, str], given: Mapping[str, str]
) -> dict[str, str]:
    """Every parameter's value as the deploy will set it: the template's default, the deployed value
    (SAM CLI keeps it when not given), then the value given."""
    defaults = {name: str(p.get("Default", "")) for name, p in template.get("Parameters", {}).items()}
    return {**defaults, **deployed, **given}


def function_environment(template: Mapping[str, Any], values: Mapping[str, str]) -> dict[str, str]:
    """The function's environment variables that the template sets from parameters or literally."""
    variables = template["Resources"][FUNCTION]["Properties"]["Environment"]["Variables"]
    environment = {}
    for name, value in variables.items():
        if isinstance(value, dict) and "Ref" in value and value["Ref"] in values:
            environment[name] = values[value["Ref"]]
        elif isinstance(value, str | int | float):
            environment[name] = str(value)
    return environment


def deployed_accounts(
    packaged: Packaged, template: Mapping[str, Any], values: Mapping[str, str]
) -> tuple[Account, ...]:
    """The accounts the deployed function will watch: the file's, or the zero-config ones its
    thresholds turn on (Refusal when none is: the function would not start)."""
    if packaged.choice.path is not None:
        return packaged.accounts
    try:
        return zero_config_accounts(function_environment(template, values))
    except ConfigError:
        raise Refusal(
            "no account to watch: no accounts file, and both zero-config thresholds (FullenrichThreshold,"
            " LemlistThreshold) are empty. Give an accounts file (src/accounts.toml, or"
            " `make deploy ACCOUNTS=...`) or a threshold."
        ) from None


@dataclass(frozen=True)
class KeyProblem:
    entry: str
    """The secret's entry the accounts read (an account's id, or the `key` they share), or a route
    receiver's."""
    accounts: tuple[str, ...]
    problem: str
    """"missing", or why the function would refuse the stored value (never the value)."""
    receiver: str = ""
    """For a receiver's entry, what it is: "the Slack incoming-webhook URL of route acme"."""


def key_problems(
    accounts: Sequence[Account], secret_string: str | None, routing: Routing | None = None
) -> list[KeyProblem]:
    """Each secret entry the accounts read that is missing, or that the function would refuse, with
    the accounts reading it (the entry as the function resolves it, Account.secret_entry); then each
    entry the routes' receivers read that is, judged as the function judges it before it sends
    (secret_json.receiver_state)."""
    stored = entries(secret_string)
    readers: dict[str, list[str]] = {}
    for account in accounts:
        readers.setdefault(account.secret_entry, []).append(account.id)
    problems = []
    for entry, ids in readers.items():
        value = stored.get(entry)
        if not isinstance(value, str) or not value.strip():
            problems.append(KeyProblem(entry, tuple(ids), KeyState.MISSING.value))
            continue
        try:
            clean_key(entry, value, "")
        except CheckError as exc:
            problems.append(KeyProblem(entry, tuple(ids), f"{WOULD_REFUSE}: {exc}"))
    secrets = strip_keys(stored)
    for name, receiver in (routing or Routing()).entries().items():
        state = receiver_state(receiver, secrets)
        if state != KeyState.STORED.value:
            problems.append(KeyProblem(name, (), state, read_by(receiver)))
    return problems


def key_report(problems: Sequence[KeyProblem], secret: str, region: str, exists: bool) -> str:
    """What to tell: which accounts lack a key and which receivers a usable entry, and how to store
    each (never a key, URL or secret)."""
    count = sum(len(problem.accounts) for problem in problems)
    receivers = sum(1 for problem in problems if problem.receiver)
    accounts = f"{count} account(s) would fail for want of a key" if count else ""
    entries_ = f"the routes' receivers lack {receivers} usable entr{'y' if receivers == 1 else 'ies'}"
    what = f"{accounts}, and {entries_}," if count and receivers else accounts or entries_
    lines = [f"{what} in secret {secret!r} ({region})" + ("" if exists else ", which does not exist") + ":"]
    for problem in problems:
        if problem.receiver:
            lines.append(f"  {problem.entry} ({problem.receiver}): {problem.problem}")
            continue
        names = ", ".join(problem.accounts)
        via = "" if problem.accounts == (problem.entry,) else f" (entry {problem.entry!r})"
        lines.append(f"  {names}{via}: {problem.problem}")
    create = "" if exists else " --create"
    lines.append("Store each (asked without echo, never printed), then run `make deploy` again:")
    lines += [
        f"  {KEYS_CLI} {problem.entry} --secret {secret} --region {region}" + (create if n == 0 else "")
        for n, problem in enumerate(problems)
    ]
    consequences = [
        *(["those accounts report CHECK FAILING until their key is stored"] if count else []),
        *(["those receivers are sent nothing until their entry is"] if receivers else []),
    ]
    lines.append(f"or deploy anyway with `make deploy FORCE=1`: {', and '.join(consequences)}.")
    return "\n".join(lines)


def read_secret(secret: str, session: Any) -> tuple[bool, str | None]:
    """(exists, SecretString) of the keys' secret, read with the deployer's credentials; Refusal,
    naming the secret and the region, when it cannot be read (FORCE=1 deploys without the check)."""
    import botocore.exceptions

    region = session.region_name
    skip = "; or `make deploy FORCE=1` to deploy without checking the keys"
    try:
        value = session.client("secretsmanager").get_secret_value(SecretId=secret)
    except botocore.exceptions.ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException":
            return False, None
        if code == "InvalidRequestException" and scheduled_for_deletion(secret, session):
            raise Refusal(
                f"secret {secret!r} ({region}) is scheduled for deletion; restore it with"
                f" `aws secretsmanager restore-secret --secret-id {secret} --region {region}`{skip}"
            ) from None
        raise Refusal(
            f"cannot read secret {secret!r} ({region}) to check every account has a key: {code}{skip}"
        ) from None
    except botocore.exceptions.BotoCoreError as error:
        raise Refusal(f"cannot read secret {secret!r} ({region}): {type(error).__name__}{skip}") from None
    return True, value.get("SecretString")


def scheduled_for_deletion(secret: str, session: Any) -> bool:
    """Whether the secret waits out its recovery window (GetSecretValue refuses it meanwhile)."""
    import botocore.exceptions

    try:
        described = session.client("secretsmanager").describe_secret(SecretId=secret)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError):
        return False
    return "DeletedDate" in described


# --- AWS and the person at the keyboard ----------------------------------------------------------


def region_of(given: str | None, config: Mapping[str, Any]) -> str | None:
    import boto3  # .venv-sam's: imported here so --help works anywhere

    return (
        given
        or settings.deploy_setting(config, "region")
        or os.environ.get("AWS_REGION")
        or boto3.session.Session(profile_name=settings.deploy_setting(config, "profile")).region_name
    )


def deployed_parameters(stack: str, session: Any) -> dict[str, str] | None:
    """The stack's parameter values, or None when there is no stack of that name in the region (or
    only a first change set never executed)."""
    import botocore.exceptions

    try:
        [described] = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    except botocore.exceptions.NoCredentialsError as error:
        raise Refusal(
            f"no AWS credentials: {error}. Run `aws configure` (or set AWS_PROFILE) first."
        ) from None
    except botocore.exceptions.ClientError as error:
        if "does not exist" in str(error):
            return None
        raise Refusal(f"could not look up stack {stack!r} in {session.region_name}: {error}") from None
    if described.get("StackStatus") == "REVIEW_IN_PROGRESS":  # a first change set never executed:
        return None  # SAM CLI creates the stack afresh, so this is still a first deploy
    return {p["ParameterKey"]: p.get("ParameterValue", "") for p in described.get("Parameters", [])}


def ask(question: str) -> str:
    if not sys.stdin.isatty():
        return ""
    return input(question).strip()


def alert_email(given: str | None, no_email: bool) -> str:
    """The e-mail for a first deploy: given, or asked for; empty only when declined explicitly."""
    if no_email:
        if given:
            raise Refusal("give either an e-mail (ALERT_EMAIL=...) or NO_EMAIL=1, not both")
        return ""
    email = given or ask("E-mail address for the alerts (you will confirm it once): ")
    while not email and sys.stdin.isatty():
        print("An e-mail is required, or run `make deploy NO_EMAIL=1` to deploy without one.")
        email = ask("E-mail address for the alerts: ")
    if not email:
        raise Refusal(
            "AlertEmail is required: a monitor nobody hears from is worse than none.\n"
            "  make deploy ALERT_EMAIL=you@example.com\n"
            "or, to deploy without e-mail (a chat channel or your own subscriptions on the AlertTopicArn"
            " output instead):\n  make deploy NO_EMAIL=1"
        )
    if not EMAIL.match(email):
        raise Refusal(f"AlertEmail {email!r} is not an e-mail address (name@domain.tld)")
    return email


# --- the package -----------------------------------------------------------------------------------


def task_root(build_dir: Path) -> Path:
    """The function's folder in `sam build`'s output: what `sam deploy` zips, /var/task on Lambda."""
    built = settings.load_template((build_dir / "template.yaml").read_text())
    return code_folder(built, build_dir)


def complete_package(build_dir: Path, packaged: Packaged, python: str | None) -> None:
    """After `sam build`: the accounts file copied in when it lives outside the code folder, then
    bytecode for every module (unchecked-hash: the zip's timestamps never invalidate it, and the
    package never changes after this). sam build starts from an empty build folder every time."""
    root = task_root(build_dir)
    if packaged.copied and packaged.choice.path is not None:
        shutil.copyfile(packaged.choice.path, root / packaged.parameter)
    if python is None:
        print(
            "deploy: built in a container: the package ships without bytecode (each cold start compiles it)"
        )
        return
    compiled = subprocess.run(
        [python, "-m", "compileall", "-q", "-f", "--invalidation-mode", "unchecked-hash", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    if compiled.returncode != 0:
        print(
            f"deploy: some modules did not compile; they are compiled at each cold start:\n{compiled.stdout}"
        )


# --- the commands -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    tracked: dict[str, Any]
    local: dict[str, Any]
    merged: dict[str, Any]
    local_path: Path

    @property
    def files(self) -> dict[str, dict[str, Any]]:
        return {SAMCONFIG: self.tracked, self.local_path.name: self.local}


def load_settings(config_file: Path, local_file: Path) -> Settings:
    try:
        tracked, local = settings.read_config(config_file), settings.read_config(local_file)
    except settings.SettingsError as exc:
        raise Refusal(str(exc)) from None
    return Settings(tracked, local, settings.merge(tracked, local, skip=RECORD_TABLE), local_file)


def setting_problems(config: Settings, template: Mapping[str, Any], values: Mapping[str, str]) -> list[str]:
    """What CloudFormation would refuse of this deploy: each file's overrides (a misspelt key, a value
    out of bounds), the values the deploy sets itself, then the template's Rules on every value."""
    problems = [
        f"{name}: {problem}"
        for name, parsed in config.files.items()
        for problem in settings.config_problems(parsed, template, rules=False)
    ]
    declared = template.get("Parameters", {})
    problems += [
        f"{key}={values[key]!r}: {problem}"
        for key in SET_BY_DEPLOY
        for problem in settings.value_problems(declared[key], values[key])
    ]
    known = {key: value for key, value in values.items() if key in declared}
    return problems + settings.rule_problems(template, known)


def record(path: Path, table: str, key: str, value: str | None) -> None:
    try:
        settings.record(path, table, key, value, LOCAL_HEADER)
    except settings.SettingsError as exc:
        print(f"deploy: could not keep {key} for the next deploys: {exc}", file=sys.stderr)


def recorded_path(path: Path | None) -> str | None:
    """How the accounts file is recorded: relative to the repository when inside it."""
    if path is None:
        return None
    resolved = path.resolve()
    return resolved.relative_to(REPO).as_posix() if resolved.is_relative_to(REPO) else str(resolved)


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument(
        "--alert-email", help="the e-mail subscribed to the alerts (first deploy, or to change it)"
    )
    parser.add_argument("--no-email", action="store_true", help="deploy without an e-mail subscription")
    parser.add_argument("--region", help="default: the settings', else AWS_REGION, else your AWS config's")
    parser.add_argument(
        "--accounts", type=Path, help="the accounts file to package (make deploy ACCOUNTS=...)"
    )
    parser.add_argument("--no-accounts", action="store_true", help="deploy the zero-config accounts")
    parser.add_argument("--force", action="store_true", help="deploy even when accounts have no key")
    parser.add_argument("--destroy", action="store_true", help="delete the stack instead (make destroy)")
    parser.add_argument("--config-file", type=Path, default=REPO / SAMCONFIG, help="the project's defaults")
    parser.add_argument(
        "--local-config-file", type=Path, default=REPO / LOCAL_SAMCONFIG, help="your settings"
    )
    parser.add_argument("--build-dir", type=Path, default=REPO / ".aws-sam" / "build")
    parser.add_argument("sam_args", nargs="*", help="more `sam deploy` (or `sam delete`) options, after --")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    try:
        return (destroy if args.destroy else deploy)(args)
    except Refusal as refusal:
        print(f"deploy: {refusal}", file=sys.stderr)
        return 2


@dataclass(frozen=True)
class Plan:
    """A deploy that every check passed: what to build and deploy, and what to keep afterwards."""

    config: Settings
    packaged: Packaged
    region: str
    region_asked: bool
    parameters: dict[str, str]
    """What `sam deploy` is given: the settings' overrides, AccountsFile, and AlertEmail when set."""
    email: str | None


def local_checks(args: argparse.Namespace) -> tuple[Settings, dict[str, Any], Packaged]:
    """The checks that need no AWS: the settings files read, the accounts file chosen and valid, and
    no AccountsFile of the settings naming another file. `make test` runs them on the clone's files."""
    if args.accounts and args.no_accounts:
        raise Refusal("give either an accounts file (ACCOUNTS=...) or NO_ACCOUNTS=1, not both")
    config = load_settings(args.config_file.resolve(), args.local_config_file.resolve())
    template = settings.load_template()
    code = code_folder(template)
    if args.no_accounts:
        choice = AccountsChoice(None, Origin.DECLINED)
    else:
        choice = choose_accounts_file(args.accounts, recorded_accounts_file(config.local), REPO, Path.is_file)
    packaged = package_accounts(choice, code)
    if problem := accounts_file_override_problem(config.files, packaged, code):
        raise Refusal(problem)
    if problem := route_topics_override_problem(config.files, packaged):
        raise Refusal(problem)
    return config, template, packaged


def prepare(args: argparse.Namespace) -> Plan:
    """Every check, before anything is built; Refusal naming what stops the deploy and the fix."""
    import boto3

    config, template, packaged = local_checks(args)  # first: a wrong file needs no credentials to be told
    stack = settings.deploy_setting(config.merged, "stack_name") or "credit-monitor"
    profile = settings.deploy_setting(config.merged, "profile")
    region = region_of(args.region, config.merged)
    asked = False
    if not region:
        region = ask("AWS region for the stack and its secret (e.g. eu-west-1): ")
        asked = bool(region)
    if not region:
        raise Refusal(
            "no AWS region: `aws configure set region eu-west-1`, or `make deploy REGION=eu-west-1`"
        )
    session = boto3.session.Session(region_name=region, profile_name=profile)
    deployed = deployed_parameters(stack, session)
    given = {
        **settings.overrides_of(config.merged),
        "AccountsFile": packaged.parameter,
        ROUTE_TOPICS: packaged.route_topics_parameter,  # always given: SAM CLI would keep a stale grant
    }
    email: str | None = None
    if deployed is None:
        print(f"deploy: first deploy of stack {stack!r} in {region}")
        email = alert_email(args.alert_email, args.no_email)
    elif args.alert_email or args.no_email:
        email = alert_email(args.alert_email, args.no_email)
    if email is not None:
        given["AlertEmail"] = email
    values = parameter_values(template, deployed or {}, given)
    if problems := setting_problems(config, template, values):
        raise Refusal("CloudFormation would refuse these settings:\n" + "\n".join(f"  {p}" for p in problems))

    accounts = deployed_accounts(packaged, template, values)
    if packaged.choice.path is None:
        print(
            f"deploy: no accounts file ({packaged.choice.origin.value}): the zero-config accounts"
            f" {', '.join(account.id for account in accounts)}"
        )
    else:
        print(
            f"deploy: accounts file {shown(packaged.choice.path)} ({packaged.choice.origin.value}):"
            f" {len(accounts)} account(s), valid; packaged as AccountsFile={packaged.parameter}"
        )
    if packaged.route_topics:
        print(
            f"deploy: the routes publish to {len(packaged.route_topics)} SNS topic(s) of their own; the"
            f" function may publish to exactly these ({ROUTE_TOPICS}): {', '.join(packaged.route_topics)}"
        )
    if warning := capacity_warning(len(accounts), int(values["MemorySize"])):
        print(f"deploy: warning: {warning}")
    try:
        check_keys(accounts, values["ApiKeysSecretName"], session, packaged.routing)
    except Refusal as refusal:
        if not args.force:
            raise
        print(f"deploy: FORCE=1, deploying anyway:\n{refusal}")
    return Plan(config, packaged, region, asked, given, email)


def check_keys(
    accounts: Sequence[Account], secret: str, session: Any, routing: Routing | None = None
) -> None:
    """Refusal listing the accounts the function would find no usable key for, and the route
    receivers it would find no usable entry for, or saying why the secret could not be read to tell."""
    exists, secret_string = read_secret(secret, session)
    try:
        missing = key_problems(accounts, secret_string, routing)
    except SecretJsonError as exc:
        raise Refusal(f"secret {secret!r} ({session.region_name}): {exc}; or `make deploy FORCE=1`") from None
    if missing:
        raise Refusal(key_report(missing, secret, session.region_name, exists))


def deploy(args: argparse.Namespace) -> int:
    plan = prepare(args)
    sam = str(Path(sys.executable).parent / "sam")
    merged_config = args.build_dir.resolve().parent / MERGED_CONFIG
    try:
        settings.write_config(plan.config.merged, merged_config, MERGED_HEADER)
    except settings.SettingsError as exc:
        raise Refusal(str(exc)) from None
    build, build_env, compiler = build_command(sam, args.build_dir, merged_config)
    if plan.region_asked:
        record(plan.config.local_path, "default.deploy.parameters", "region", plan.region)

    built = subprocess.run(build, cwd=REPO, env=build_env, check=False)
    if built.returncode != 0:
        return built.returncode
    complete_package(args.build_dir, plan.packaged, compiler)
    command = [sam, "deploy", "--config-file", str(merged_config), "--region", plan.region]
    command += ["--template-file", str(args.build_dir / "template.yaml")]
    command += ["--parameter-overrides", settings.format_overrides(plan.parameters), *args.sam_args]
    print("deploy:", shlex.join(command), flush=True)
    done = subprocess.run(command, cwd=REPO, check=False)
    if done.returncode != 0:
        return done.returncode
    record(plan.config.local_path, RECORD_TABLE, RECORD_KEY, recorded_path(plan.packaged.choice.path))
    if plan.email:
        print(f"deploy: confirm the subscription e-mail sent to {plan.email}: nothing arrives until you do.")
    return 0


def destroy(args: argparse.Namespace) -> int:
    """`sam delete` of the stack the settings name, in their region."""
    sam = str(Path(sys.executable).parent / "sam")
    config = load_settings(args.config_file.resolve(), args.local_config_file.resolve())
    stack = settings.deploy_setting(config.merged, "stack_name") or "credit-monitor"
    region = args.region or settings.deploy_setting(config.merged, "region")
    profile = settings.deploy_setting(config.merged, "profile")
    command = [sam, "delete", "--stack-name", stack, *(["--region", region] if region else [])]
    command += [*(["--profile", profile] if profile else []), *args.sam_args]
    print("deploy:", shlex.join(command), flush=True)
    done = subprocess.run(command, cwd=REPO, check=False)
    if done.returncode == 0:
        print(
            "deploy: kept: the keys' secret, SAM CLI's bucket for packages, and your settings;"
            " docs/removal.md says how to remove each."
        )
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
