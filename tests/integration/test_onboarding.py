"""`credit-monitor keys set | list` against moto's Secrets Manager, and `init` then `validate`, each
as a real process on strict UTF-8 streams: the other entries of the secret are kept, a secret
written by someone else in between is never overwritten, and no form of a key is ever printed."""

from __future__ import annotations

import io
import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from credit_monitor.adapters.secret_store import PENDING_PREFIX, SecretChanged, SecretStore
from credit_monitor.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from credit_monitor.keys import key_forms
from tests.support.aws import REGION, MotoServer, Stack
from tests.support.keys import FULLENRICH_KEY, KEY_WITH_LINE_BREAK, LEMLIST_KEY, assert_no_key_leaked

STACK = "credit-monitor"
NEW_KEY = "lm_9f3b6d1e8a2c4f7b0e5d"
"""The key being stored: it must never appear in any output, in any form."""
OTHERS = {"fullenrich": FULLENRICH_KEY, "lemlist": LEMLIST_KEY, "note": {"owner": "ops", "n": 3}}
"""Entries the command must keep as they are, including one that is not a key at all."""


@pytest.fixture
def secret_string() -> str:
    return json.dumps(OTHERS)


@pytest.fixture
def deployed(stack: Stack, aws: str) -> str:
    """A CloudFormation stack in moto whose ApiKeysSecretName output names the test's secret."""
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"ApiKeysSecretName": {"Value": stack.secret_id}},
    }
    boto3.client("cloudformation", endpoint_url=aws, region_name=REGION).create_stack(
        StackName=STACK, TemplateBody=json.dumps(template)
    )
    return STACK


def run_process(*argv: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """The CLI as a real process: stdin a pipe, stdout and stderr strict UTF-8, AWS from the environment."""
    return subprocess.run(
        [sys.executable, "-m", "credit_monitor", *argv],
        input=stdin,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        capture_output=True,
        timeout=60,
        check=False,
    )


def assert_key_never_shown(*streams: bytes) -> None:
    for stream in streams:
        text = stream.decode("utf-8")  # strict: every byte printed is UTF-8
        assert not [form for form in key_forms(NEW_KEY) if form in text], "the new key was printed"
        assert_no_key_leaked(text)


def stored(stack: Stack) -> dict[str, object]:
    """The secret's current JSON. Asked for by label: moto (5.2) does not move its default version
    when UpdateSecretVersionStage moves AWSCURRENT, as Secrets Manager does, so a GetSecretValue
    without a label would return the version before the last `keys set`."""
    document: dict[str, object] = json.loads(
        stack.secrets.get_secret_value(SecretId=stack.secret_id, VersionStage="AWSCURRENT")["SecretString"]
    )
    return document


def test_keys_set_merges_one_key_and_keeps_every_other_entry(deployed: str, stack: Stack) -> None:
    completed = run_process(
        "keys", "set", "acme-lemlist", "--stack", deployed, stdin=NEW_KEY.encode() + b"\n"
    )

    assert completed.returncode == EXIT_OK, completed.stderr
    assert stored(stack) == {**OTHERS, "acme-lemlist": NEW_KEY}  # stripped of the pipe's newline
    assert list(stored(stack)) == [*OTHERS, "acme-lemlist"]  # the order too
    assert completed.stdout.decode("utf-8").startswith(
        "acme-lemlist: key stored in secret credit-monitor/api-keys"
    )
    assert "3 other entries kept" in completed.stdout.decode("utf-8")
    assert_key_never_shown(completed.stdout, completed.stderr)


def test_keys_set_replaces_an_existing_key_in_place(stack: Stack, aws: str) -> None:
    completed = run_process("keys", "set", "lemlist", "--secret", stack.secret_id, stdin=NEW_KEY.encode())

    assert completed.returncode == EXIT_OK, completed.stderr
    assert list(stored(stack).items()) == [
        ("fullenrich", FULLENRICH_KEY),
        ("lemlist", NEW_KEY),
        ("note", OTHERS["note"]),
    ]
    versions = stack.secrets.list_secret_version_ids(SecretId=stack.secret_id)["Versions"]
    labels = [label for version in versions for label in version.get("VersionStages", [])]
    assert sorted(labels) == ["AWSCURRENT", "AWSPREVIOUS"]  # the run's own label is gone
    assert_key_never_shown(completed.stdout, completed.stderr)


@pytest.mark.parametrize(
    ("argv", "key", "secret", "message"),
    [
        (
            (),
            "lm_3c5e7a9b\n1d2f4a6c8e0b" + NEW_KEY,
            None,
            "key not stored: the acme API key contains a line break",
        ),
        ((), "", None, "key not stored: no API key for 'acme'"),
        (
            ("--secret", "no-such-secret"),
            NEW_KEY,
            None,
            "secret 'no-such-secret' does not exist; pass --create",
        ),
        ((), NEW_KEY, "not json " + NEW_KEY, "the secret is not JSON"),
        ((), NEW_KEY, json.dumps([NEW_KEY]), "the secret must be a JSON object, got array"),
        ((), NEW_KEY, '{"acme": "a", "acme": "b"}', "the secret's JSON names 'acme' twice"),
    ],
    ids=["line-break-in-key", "empty", "no-secret", "secret-not-json", "secret-not-object", "name-twice"],
)
def test_a_refusal_writes_nothing_and_never_shows_the_key(
    argv: tuple[str, ...], key: str, secret: str | None, message: str, stack: Stack
) -> None:
    if secret is not None:
        stack.secrets.put_secret_value(SecretId=stack.secret_id, SecretString=secret)
    before = stack.secrets.get_secret_value(SecretId=stack.secret_id)["VersionId"]

    completed = run_process(
        "keys", "set", "acme", *(argv or ("--secret", stack.secret_id)), stdin=key.encode()
    )

    assert completed.returncode == EXIT_USAGE
    assert completed.stdout == b""
    assert completed.stderr.decode("utf-8").startswith(f"credit-monitor: {message}"), completed.stderr
    assert stack.secrets.get_secret_value(SecretId=stack.secret_id)["VersionId"] == before
    assert_key_never_shown(completed.stdout, completed.stderr)
    assert not [form for form in key_forms(KEY_WITH_LINE_BREAK) if form in completed.stderr.decode()]


def test_keys_set_creates_a_missing_secret_only_when_asked(stack: Stack) -> None:
    completed = run_process(
        "keys", "set", "acme", "--secret", "team/keys", "--create", stdin=NEW_KEY.encode()
    )

    assert completed.returncode == EXIT_OK, completed.stderr
    assert json.loads(
        stack.secrets.get_secret_value(SecretId="team/keys", VersionStage="AWSCURRENT")["SecretString"]
    ) == {"acme": NEW_KEY}
    assert completed.stdout.decode("utf-8").startswith("acme: key created secret team/keys")
    assert_key_never_shown(completed.stdout, completed.stderr)


def test_keys_set_fills_a_secret_created_without_a_value(stack: Stack) -> None:
    stack.secrets.create_secret(Name="empty/keys")

    completed = run_process("keys", "set", "acme", "--secret", "empty/keys", stdin=NEW_KEY.encode())

    assert completed.returncode == EXIT_OK, completed.stderr
    current = stack.secrets.get_secret_value(SecretId="empty/keys", VersionStage="AWSCURRENT")
    assert json.loads(current["SecretString"]) == {"acme": NEW_KEY}


def test_a_write_between_the_read_and_the_write_is_refused_and_kept(stack: Stack) -> None:
    store = SecretStore(stack.secret_id)
    read = store.read()
    stack.secrets.put_secret_value(SecretId=stack.secret_id, SecretString=json.dumps({"theirs": "kept"}))

    with pytest.raises(SecretChanged, match="changed after it was read"):
        store.write(read, json.dumps({"mine": NEW_KEY}))

    assert stored(stack) == {"theirs": "kept"}
    versions = stack.secrets.list_secret_version_ids(SecretId=stack.secret_id)["Versions"]
    assert not [s for v in versions for s in v.get("VersionStages", []) if s.startswith(PENDING_PREFIX)]


def test_the_command_refuses_a_concurrent_write_with_exit_three(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another writer between the command's read and its write: its write stands, the command says so."""
    read = SecretStore.read

    def read_then_someone_writes(self: SecretStore) -> object:
        seen = read(self)
        stack.secrets.put_secret_value(SecretId=stack.secret_id, SecretString=json.dumps({"theirs": "kept"}))
        return seen

    monkeypatch.setattr(SecretStore, "read", read_then_someone_writes)
    monkeypatch.setattr(sys, "stdin", io.StringIO(NEW_KEY))

    status = main(["keys", "set", "acme", "--secret", stack.secret_id], out=io.StringIO())

    assert status == EXIT_FAILED
    assert stored(stack) == {"theirs": "kept"}
    err = capsys.readouterr().err
    assert (
        "changed after it was read (someone else wrote it); nothing was changed: run the command again" in err
    )
    assert NEW_KEY not in err


def test_keys_list_says_who_has_a_key_and_never_shows_one(stack: Stack, tmp_path: Path) -> None:
    stack.secrets.put_secret_value(
        SecretId=stack.secret_id,
        SecretString=json.dumps(
            {"fullenrich": FULLENRICH_KEY, "broken": KEY_WITH_LINE_BREAK, "old": NEW_KEY, "blank": " "}
        ),
    )
    accounts = tmp_path / "accounts.toml"
    accounts.write_text(
        "".join(
            f'[[account]]\nid = "{name}"\nprovider = "lemlist"\nwarning = 10\n'
            for name in ("fullenrich", "acme", "broken", "blank")
        )
    )

    completed = run_process("keys", "list", "--secret", stack.secret_id, "--accounts", str(accounts))

    assert completed.returncode == EXIT_OK, completed.stderr
    assert [line.split(None, 1) for line in completed.stdout.decode("utf-8").splitlines()] == [
        ["ACCOUNT", "KEY"],
        ["fullenrich", "stored"],
        ["acme", "missing"],
        ["broken", "stored, but the function would refuse it; store it again with `keys set`"],
        ["blank", "missing"],
        ["old", "stored, for no account here"],
    ]
    assert_key_never_shown(completed.stdout, completed.stderr)
    assert not [form for form in key_forms(KEY_WITH_LINE_BREAK) if form in completed.stdout.decode()]


def test_keys_list_with_zero_config_lists_both_vendors(
    deployed: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # outside a clone: no accounts file of a deploy to read
    monkeypatch.delenv("ACCOUNTS_FILE", raising=False)
    completed = run_process("keys", "list", "--stack", deployed)

    assert completed.returncode == EXIT_OK, completed.stderr
    lines = completed.stdout.decode("utf-8").splitlines()
    assert [line.split()[:2] for line in lines[1:]] == [["fullenrich", "stored"], ["lemlist", "stored"]]
    assert_key_never_shown(completed.stdout, completed.stderr)


def test_the_prompt_does_not_echo_the_key(stack: Stack) -> None:
    """On a terminal the key is typed at a getpass prompt: the terminal shows nothing of it."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "credit_monitor", "keys", "set", "acme", "--secret", stack.secret_id],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    os.close(terminal)
    shown = b""
    try:
        while b"(not shown): " not in shown:
            shown += _read(controller)
        os.write(controller, NEW_KEY.encode() + b"\n")
        while process.poll() is None or select.select([controller], [], [], 0)[0]:
            chunk = _read(controller)
            if not chunk and process.poll() is not None:
                break
            shown += chunk
    finally:
        process.wait(timeout=60)
        os.close(controller)

    assert process.returncode == EXIT_OK, shown
    assert stored(stack)["acme"] == NEW_KEY
    assert b"acme: key stored in secret" in shown
    assert_key_never_shown(shown)


def _read(fd: int) -> bytes:
    deadline = time.monotonic() + 60
    while not select.select([fd], [], [], 0.1)[0]:
        if time.monotonic() > deadline:
            raise TimeoutError("the command printed nothing more")
    try:
        return os.read(fd, 4096)
    except OSError:  # EIO: the process has closed the terminal
        return b""


def test_init_then_validate_accepts_what_init_wrote(tmp_path: Path) -> None:
    path = tmp_path / "accounts.toml"
    written = run_process(
        "init", str(path), "--provider", "lemlist", "--id", "acme-lemlist", "--warning", "500",
        "--critical", "100", "--label", "owner=ops", "--label", "client=acme",
        "--provider", "fullenrich", "--warning", "1,000",
    )  # fmt: skip
    assert written.returncode == EXIT_OK, written.stderr

    validated = run_process("validate", str(path))

    assert validated.returncode == EXIT_OK, validated.stderr
    lines = validated.stdout.decode("utf-8").splitlines()
    assert lines[0] == f"{path}: 2 account(s), valid"
    assert lines[1].split() == [
        "acme-lemlist",
        "lemlist",
        "warning",
        "500",
        "/",
        "critical",
        "100",
        "owner=ops",
        "client=acme",
    ]
    assert lines[2].split() == ["fullenrich", "fullenrich", "warning", "1,000"]


def test_init_asks_when_no_account_is_given_and_asks_again_after_a_mistake(tmp_path: Path) -> None:
    path = tmp_path / "accounts.toml"
    answers = (
        "lemlist\nAcme Corp\n500\n\n\n"
        + "lemlist\nacme\nfive hundred\n"
        + "lemlist\nacme\n500\n100\nowner=ops\nn\n"
    )

    written = run_process("init", str(path), stdin=answers.encode())

    assert written.returncode == EXIT_OK, written.stderr
    questions = written.stderr.decode("utf-8")
    assert "id: must be a slug of lower-case letters" in questions
    assert "warning: must be a number of credits, e.g. 500, got 'five hundred'" in questions
    assert run_process("validate", str(path)).returncode == EXIT_OK
    assert 'id = "acme"' in path.read_text()


def test_init_refuses_to_replace_a_file_unless_forced(tmp_path: Path) -> None:
    path = tmp_path / "accounts.toml"
    path.write_text("# mine\n")
    argv = ("init", str(path), "--provider", "lemlist", "--warning", "500")

    refused = run_process(*argv)

    assert refused.returncode == EXIT_USAGE
    assert refused.stderr.decode("utf-8") == f"credit-monitor: {path} exists; pass --force to replace it\n"
    assert path.read_text() == "# mine\n"
    assert run_process(*argv, "--force").returncode == EXIT_OK
    assert run_process("validate", str(path)).returncode == EXIT_OK


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--provider", "lemlist"), "account 'lemlist': warning: is missing"),
        (
            ("--provider", "lemlist", "--warning", "5", "--critical", "9"),
            "critical: (9) must be below warning (5)",
        ),
        (("--provider", "lemlist", "--warning", "5", "--label", "Owner=x"), "labels.Owner: a label name is"),
    ],
)
def test_init_writes_nothing_the_function_would_refuse(
    argv: tuple[str, ...], message: str, tmp_path: Path
) -> None:
    path = tmp_path / "accounts.toml"

    refused = run_process("init", str(path), *argv)

    assert refused.returncode == EXIT_USAGE
    assert message in refused.stderr.decode("utf-8")
    assert refused.stderr.decode("utf-8").startswith("credit-monitor: nothing written: ")
    assert not path.exists()


def test_a_bad_key_is_refused_before_any_aws_call(
    stack: Stack, moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("lm_3c5e7a9b\x001d2f4a6c8e0b"))

    with moto_server.recording() as calls:
        status = main(["keys", "set", "acme", "--secret", stack.secret_id], out=io.StringIO())

    assert status == EXIT_USAGE
    assert calls == []
    assert "key not stored: the acme API key contains a control character" in capsys.readouterr().err


def test_keys_set_finds_the_stack_in_samconfig_and_takes_region_and_profile(
    deployed: str, stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "samconfig.toml").write_text(f'[default.deploy.parameters]\nstack_name = "{deployed}"\n')
    monkeypatch.chdir(tmp_path)

    completed = run_process("keys", "set", "acme-lemlist", "--region", REGION, stdin=b"lm_new_key_0123456789")

    assert completed.returncode == EXIT_OK, completed.stderr
    assert stored(stack)["acme-lemlist"] == "lm_new_key_0123456789"
    assert_key_never_shown(completed.stdout, completed.stderr)
    refused = run_process("keys", "list", "--profile", "no-such-profile")
    assert refused.returncode == EXIT_USAGE
    assert b"AWS profile 'no-such-profile' is not configured" in refused.stderr


def _clone(root: Path, stack: str) -> None:
    """A folder `make deploy` would run in: a samconfig.toml naming the stack, and src/."""
    (root / "samconfig.toml").write_text(f'[default.deploy.parameters]\nstack_name = "{stack}"\n')
    (root / "src").mkdir()


def _accounts(path: Path, *ids: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f'[[account]]\nid = "{i}"\nprovider = "lemlist"\nwarning = 10\n' for i in ids))


def test_keys_list_reads_the_accounts_file_the_deploy_packages(
    deployed: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --accounts or $ACCOUNTS_FILE: src/accounts.toml, as `make deploy` finds it."""
    _clone(tmp_path, deployed)
    _accounts(tmp_path / "src" / "accounts.toml", "acme-lemlist", "lemlist")
    monkeypatch.chdir(tmp_path / "src")  # anywhere inside the clone
    monkeypatch.delenv("ACCOUNTS_FILE", raising=False)

    completed = run_process("keys", "list")

    assert completed.returncode == EXIT_OK, completed.stderr
    lines = completed.stdout.decode("utf-8").splitlines()
    assert [line.split()[:2] for line in lines[1:]] == [
        ["acme-lemlist", "missing"],
        ["lemlist", "stored"],
        ["fullenrich", "stored,"],  # stored, for no account here
    ]


def test_keys_list_reads_the_accounts_file_an_earlier_deploy_recorded(
    deployed: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _clone(tmp_path, deployed)
    _accounts(tmp_path / "src" / "accounts.toml", "ignored")
    _accounts(tmp_path / "clients" / "all.toml", "globex-lemlist")
    (tmp_path / "samconfig.local.toml").write_text('[make_deploy]\naccounts_file = "clients/all.toml"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ACCOUNTS_FILE", raising=False)

    completed = run_process("keys", "list")

    assert completed.returncode == EXIT_OK, completed.stderr
    lines = completed.stdout.decode("utf-8").splitlines()
    assert [line.split()[:2] for line in lines[1:]] == [
        ["globex-lemlist", "missing"],
        ["fullenrich", "stored,"],
        ["lemlist", "stored,"],
    ]


def test_keys_list_says_so_when_your_settings_cannot_be_read(
    deployed: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _clone(tmp_path, deployed)
    (tmp_path / "samconfig.local.toml").write_text("[make_deploy\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ACCOUNTS_FILE", raising=False)

    refused = run_process("keys", "list")

    assert refused.returncode == EXIT_USAGE
    assert "samconfig.local.toml: cannot read it" in refused.stderr.decode("utf-8")


def test_init_writes_where_the_deploy_looks_and_says_to_deploy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _clone(tmp_path, "credit-monitor")
    monkeypatch.chdir(tmp_path)

    written = run_process("init", "--provider", "lemlist", "--id", "acme-lemlist", "--warning", "500")

    assert written.returncode == EXIT_OK, written.stderr
    assert run_process("validate", "src/accounts.toml").returncode == EXIT_OK
    said = written.stdout.decode("utf-8")
    assert said.startswith("wrote src/accounts.toml: 1 account(s). Next:\n")
    assert said.rstrip().endswith("\n  make deploy")
    assert "AccountsFile" not in said


def test_init_elsewhere_says_how_to_deploy_that_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _clone(tmp_path, "credit-monitor")
    monkeypatch.chdir(tmp_path)

    written = run_process("init", "clients.toml", "--provider", "lemlist", "--warning", "500")

    assert written.returncode == EXIT_OK, written.stderr
    assert written.stdout.decode("utf-8").rstrip().endswith("\n  make deploy ACCOUNTS=clients.toml")
