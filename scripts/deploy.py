"""`make deploy`: build with Python 3.13 (or in a container), then deploy with the pinned SAM CLI.

The first deploy of a stack (none of that name in the region yet) asks only what has no sensible
default: the region when none is configured, and the e-mail that receives the alerts. Everything else
comes from samconfig.toml and the template's defaults. An empty e-mail is refused, unless e-mail is
declined explicitly (`--no-email`, `make deploy NO_EMAIL=1`): a monitor nobody hears from is worse
than none. Later deploys run `sam deploy` with samconfig.toml alone, and SAM CLI keeps every parameter
samconfig.toml does not set (the e-mail among them) at its deployed value.

Runs with the Python of .venv-sam (`make deploy` does so), for boto3 and the SAM CLI next to it.
Exit status: 0 deployed, 2 a clear refusal (no e-mail, no region, no Python 3.13 nor Docker,
no AWS credentials), else sam's own.
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
import tomllib
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
GET_PYTHON_313 = """\
sam build needs Python 3.13 (the Lambda runtime's), and Docker is not running either. Any one of:
  pyenv install 3.13                     # then run `make deploy` again: ~/.pyenv/versions/3.13* is found
  sudo apt install python3.13            # Debian/Ubuntu with a 3.13 package (deadsnakes PPA on Ubuntu)
  brew install python@3.13               # macOS
  start Docker                           # `sam build --use-container` builds in Lambda's own image"""


class Refusal(Exception):
    """A reason not to deploy, said plainly; exit status 2."""


def samconfig(path: Path) -> dict[str, Any]:
    with path.open("rb") as file:
        return tomllib.load(file)


def deploy_setting(config: dict[str, Any], name: str) -> Any:
    """A setting as SAM CLI reads it: [default.deploy.parameters] first, then [default.global.parameters]."""
    default = config.get("default", {})
    for section in ("deploy", "global"):
        value = default.get(section, {}).get("parameters", {}).get(name)
        if value is not None:
            return value
    return None


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


def build_command(sam: str, build_dir: Path) -> tuple[list[str], dict[str, str]]:
    """`sam build` with python3.13 first on PATH, or in Lambda's build image; Refusal when neither works."""
    command = [sam, "build", "--build-dir", str(build_dir)]
    python = python313()
    if python is not None:
        path = f"{Path(python).parent}{os.pathsep}{os.environ.get('PATH', '')}"
        return command, {**os.environ, "PATH": path}
    if docker_runs():
        print("deploy: no Python 3.13 here; building in Lambda's image with Docker (--use-container)")
        return [*command, "--use-container"], dict(os.environ)
    raise Refusal(GET_PYTHON_313)


def region_of(given: str | None, config: dict[str, Any]) -> str | None:
    import boto3  # .venv-sam's: imported here so --help works anywhere

    return (
        given
        or deploy_setting(config, "region")
        or os.environ.get("AWS_REGION")
        or boto3.session.Session(profile_name=deploy_setting(config, "profile")).region_name
    )


def stack_exists(stack: str, region: str, profile: str | None) -> bool:
    import boto3
    import botocore.exceptions

    session = boto3.session.Session(region_name=region, profile_name=profile)
    try:
        session.client("cloudformation").describe_stacks(StackName=stack)
    except botocore.exceptions.NoCredentialsError as error:
        raise Refusal(
            f"no AWS credentials: {error}. Run `aws configure` (or set AWS_PROFILE) first."
        ) from None
    except botocore.exceptions.ClientError as error:
        if "does not exist" in str(error):
            return False
        raise Refusal(f"could not look up stack {stack!r} in {region}: {error}") from None
    return True


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


def save_region(path: Path, region: str) -> None:
    """Keep a region that had to be asked for in samconfig.toml, so later deploys find the stack."""
    text = path.read_text(encoding="utf-8")
    header = "[default.deploy.parameters]\n"
    if header not in text:
        text += f"\n{header}"
    path.write_text(text.replace(header, f'{header}region = "{region}"\n', 1), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument(
        "--alert-email", help="the e-mail subscribed to the alerts (first deploy, or to change it)"
    )
    parser.add_argument("--no-email", action="store_true", help="deploy without an e-mail subscription")
    parser.add_argument("--region", help="default: samconfig.toml's, else AWS_REGION, else your AWS config's")
    parser.add_argument("--config-file", type=Path, default=REPO / "samconfig.toml")
    parser.add_argument("--build-dir", type=Path, default=REPO / ".aws-sam" / "build")
    parser.add_argument("sam_args", nargs="*", help="more `sam deploy` options, after --")
    args = parser.parse_args(argv)
    sam = str(Path(sys.executable).parent / "sam")
    config_file = args.config_file.resolve()
    config = samconfig(config_file)
    stack = deploy_setting(config, "stack_name") or "credit-monitor"
    profile = deploy_setting(config, "profile")
    try:
        region = region_of(args.region, config)
        asked = False
        if not region:
            region = ask("AWS region for the stack and its secret (e.g. eu-west-1): ")
            asked = bool(region)
        if not region:
            raise Refusal(
                "no AWS region: `aws configure set region eu-west-1`, or `make deploy REGION=eu-west-1`"
            )
        first = not stack_exists(stack, region, profile)
        deploy = [sam, "deploy", "--config-file", str(config_file), "--region", region]
        deploy += ["--template-file", str(args.build_dir / "template.yaml")]
        email: str | None = None
        if first:
            print(f"deploy: first deploy of stack {stack!r} in {region}")
            email = alert_email(args.alert_email, args.no_email)
        elif args.alert_email or args.no_email:
            email = alert_email(args.alert_email, args.no_email)
        if email is not None:
            overrides = deploy_setting(config, "parameter_overrides") or ""
            if isinstance(overrides, list):
                overrides = " ".join(overrides)
            deploy += ["--parameter-overrides", f'{overrides} AlertEmail="{email}"'.strip()]
        build, build_env = build_command(sam, args.build_dir)
    except Refusal as refusal:
        print(f"deploy: {refusal}", file=sys.stderr)
        return 2
    if asked:
        save_region(config_file, region)
    built = subprocess.run(build, cwd=REPO, env=build_env, check=False)
    if built.returncode != 0:
        return built.returncode
    command = [*deploy, *args.sam_args]
    print("deploy:", shlex.join(command), flush=True)
    done = subprocess.run(command, cwd=REPO, check=False)
    if done.returncode == 0 and email:
        print(f"deploy: confirm the subscription e-mail sent to {email}: nothing arrives until you do.")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
