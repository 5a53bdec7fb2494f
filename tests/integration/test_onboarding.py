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
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import trustme

from credit_monitor.adapters.secret_store import PENDING_PREFIX, SecretChanged, SecretStore
from credit_monitor.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from credit_monitor.keys import key_forms
from tests.support.aws import REGION, MotoServer, Stack
from tests.support.keys import (
    FULLENRICH_KEY,
    KEY_WITH_LINE_BREAK,
    LEMLIST_KEY,
    LONG_KEY,
    PAGERDUTY_ROUTING_KEY,
    RECEIVER_SECRETS,
    SLACK_PATH,
    SLACK_TOKEN,
    WEBHOOK_PATH,
    WEBHOOK_SIGNING_SECRET,
    assert_no_key_leaked,
)
from tests.support.simulators import ApiSimulator, Reply
from tests.support.vendors import ZEROBOUNCE, VendorSimulator

STACK = "credit-monitor"
NEW_KEY = "lm_9f3b6d1e8a2c4f7b0e5d"
"""The key being stored: it must never appear in any output, in any form."""
OTHERS = {"fullenrich": FULLENRICH_KEY, "lemlist": LEMLIST_KEY, "note": {"owner": "ops", "n": 3}}
"""Entries the command must keep as they are, including one that is not a key at all."""


@pytest.fixture
def secret_string() -> str:
    return json.dumps(OTHERS)


ACCOUNTS = "".join(
    f'[[account]]\nid = "{account_id}"\nprovider = "lemlist"\nwarning = 10\n'
    for account_id in ("acme", "acme-lemlist", "lemlist", "fullenrich")
)
"""The accounts whose entries the tests store: `keys set` refuses an id no account reads."""


@pytest.fixture(autouse=True)
def accounts_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """ACCOUNTS_FILE, as `--accounts` defaults to it, for every command the module runs."""
    path = tmp_path / "watched.toml"
    path.write_text(ACCOUNTS)
    monkeypatch.setenv("ACCOUNTS_FILE", str(path))
    return path


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
            f"secret 'no-such-secret' in {REGION} does not exist; pass --create",
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
    returncode, shown = typed_at_a_terminal(["keys", "set", "acme", "--secret", stack.secret_id], NEW_KEY)

    assert returncode == EXIT_OK, shown
    assert stored(stack)["acme"] == NEW_KEY
    assert b"API key for acme (not shown): " in shown
    assert b"acme: key stored in secret" in shown
    assert_key_never_shown(shown)


def typed_at_a_terminal(argv: list[str], typed: str) -> tuple[int, bytes]:
    """The CLI on a terminal (a pty) where `typed` is typed at its prompt: its exit status, and all
    the terminal showed."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "credit_monitor", *argv],
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
        os.write(controller, typed.encode() + b"\n")
        while process.poll() is None or select.select([controller], [], [], 0)[0]:
            chunk = _read(controller)
            if not chunk and process.poll() is not None:
                break
            shown += chunk
    finally:
        process.wait(timeout=60)
        os.close(controller)
    return process.returncode, shown


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


def test_init_takes_the_owners_email_a_vendor_asks_for_by_flag_or_question(tmp_path: Path) -> None:
    flagged, asked = tmp_path / "flagged.toml", tmp_path / "asked.toml"
    refused = run_process("init", str(flagged), "--provider", "bettercontact", "--warning", "100")
    written = run_process(
        "init", str(flagged), "--provider", "bettercontact", "--warning", "100", "--email", "ops@acme.example"
    )  # fmt: skip
    interviewed = run_process(
        "init", str(asked), stdin=b"icypeas\nacme-icy\nowner@acme.example\n500\n\n\nn\n"
    )

    assert refused.returncode == EXIT_USAGE
    assert "email: is missing; BetterContact asks for it next to the key" in refused.stderr.decode()
    assert written.returncode == interviewed.returncode == EXIT_OK, (written.stderr, interviewed.stderr)
    assert "E-mail of the Icypeas account's owner: " in interviewed.stderr.decode()
    assert 'email = "ops@acme.example"' in flagged.read_text()
    assert 'email = "owner@acme.example"' in asked.read_text()
    for path in (flagged, asked):
        assert run_process("validate", str(path)).returncode == EXIT_OK


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


@pytest.mark.parametrize("value", ["acme", "short", "characters"])
def test_a_refusal_quotes_its_own_words_whole_whatever_the_value_was(value: str, stack: Stack) -> None:
    """Nothing but a key is masked: a value too short to be a key never damages the message."""
    completed = run_process("keys", "set", "acme", "--secret", stack.secret_id, stdin=value.encode())

    assert completed.returncode == EXIT_USAGE
    assert completed.stderr.decode("utf-8").startswith(
        "credit-monitor: key not stored: the acme API key is shorter than 12 characters, so it is not a key"
    ), completed.stderr


def test_keys_set_accepts_a_secret_saved_with_a_byte_order_mark(stack: Stack) -> None:
    stack.secrets.put_secret_value(SecretId=stack.secret_id, SecretString="\ufeff" + json.dumps(OTHERS))

    completed = run_process("keys", "set", "lemlist", "--secret", stack.secret_id, stdin=NEW_KEY.encode())

    assert completed.returncode == EXIT_OK, completed.stderr
    assert stored(stack) == {**OTHERS, "lemlist": NEW_KEY}


SHARED = (
    '[[account]]\nid = "acme-sales"\nprovider = "lemlist"\nwarning = 10\nkey = "acme-team"\n'
    '[[account]]\nid = "acme-support"\nprovider = "lemlist"\nwarning = 10\nkey = "acme-team"\n'
    '[[account]]\nid = "agency-fullenrich"\nprovider = "fullenrich"\nwarning = 10\n'
)
"""Two accounts reading one shared entry, as the function does, and one reading its own."""


@pytest.fixture
def shared(tmp_path: Path, stack: Stack) -> Path:
    path = tmp_path / "shared.toml"
    path.write_text(SHARED)
    stack.secrets.put_secret_value(
        SecretId=stack.secret_id, SecretString=json.dumps({"acme-team": LEMLIST_KEY, "old-acme": NEW_KEY})
    )
    return path


def test_keys_list_shows_accounts_sharing_an_entry_as_covered_and_the_entry_as_theirs(
    shared: Path, stack: Stack
) -> None:
    completed = run_process("keys", "list", "--secret", stack.secret_id, "--accounts", str(shared))

    assert completed.returncode == EXIT_OK, completed.stderr
    assert completed.stdout.decode("utf-8").splitlines() == [
        "ACCOUNT            KEY",
        "acme-sales         stored (shared entry acme-team)",
        "acme-support       stored (shared entry acme-team)",
        "agency-fullenrich  missing",
        "acme-team          shared entry, read by acme-sales, acme-support",
        "old-acme           stored, for no account here",
    ]
    assert_key_never_shown(completed.stdout, completed.stderr)


def test_keys_set_of_an_account_reading_a_shared_entry_points_to_it_and_writes_nothing(
    shared: Path, stack: Stack
) -> None:
    before = stored(stack)

    completed = run_process(
        "keys", "set", "acme-sales", "--secret", stack.secret_id, "--accounts", str(shared),
        stdin=NEW_KEY.encode(),
    )  # fmt: skip

    assert completed.returncode == EXIT_USAGE
    assert completed.stdout == b""
    assert completed.stderr.decode("utf-8") == (
        f"credit-monitor: acme-sales reads its key from the shared entry 'acme-team' (its `key` in {shared}),"
        " as do acme-support; `keys set acme-team` sets the key they share; to give acme-sales a key of"
        " its own, remove its `key` line first. Nothing stored\n"
    )
    assert stored(stack) == before


def test_keys_set_of_a_shared_entry_writes_it_and_says_who_reads_it(shared: Path, stack: Stack) -> None:
    completed = run_process(
        "keys", "set", "acme-team", "--secret", stack.secret_id, "--accounts", str(shared),
        stdin=NEW_KEY.encode(),
    )  # fmt: skip

    assert completed.returncode == EXIT_OK, completed.stderr
    assert stored(stack) == {"acme-team": NEW_KEY, "old-acme": NEW_KEY}
    assert completed.stdout.decode("utf-8").endswith(
        "1 other entry kept. Read by acme-sales, acme-support: the function reads it within 6 hours,"
        " or at once after a 401.\n"
    )
    assert_key_never_shown(completed.stdout, completed.stderr)


def test_keys_set_refuses_an_id_no_account_reads_and_suggests_the_close_one(
    shared: Path, stack: Stack
) -> None:
    before = stored(stack)
    argv = ("keys", "set", "agency-fulenrich", "--secret", stack.secret_id, "--accounts", str(shared))

    refused = run_process(*argv, stdin=NEW_KEY.encode())

    assert refused.returncode == EXIT_USAGE
    assert refused.stderr.decode("utf-8") == (
        f"credit-monitor: no account in {shared} reads a key from 'agency-fulenrich'; did you mean"
        " agency-fullenrich? Nothing stored; --force stores it all the same\n"
    )
    assert stored(stack) == before

    forced = run_process(*argv, "--force", stdin=NEW_KEY.encode())

    assert forced.returncode == EXIT_OK, forced.stderr
    assert stored(stack)["agency-fulenrich"] == NEW_KEY
    assert forced.stdout.decode("utf-8").endswith(
        f"No account in {shared} reads it: the function ignores it until one does.\n"
    )


def test_keys_list_never_prints_a_name_that_may_be_a_key(stack: Stack, tmp_path: Path) -> None:
    """A secret written name and value swapped holds the key as a name: counted, never printed."""
    stack.secrets.put_secret_value(
        SecretId=stack.secret_id, SecretString=json.dumps({LONG_KEY: "lemlist", "fullenrich": FULLENRICH_KEY})
    )

    completed = run_process("keys", "list", "--secret", stack.secret_id)

    assert completed.returncode == EXIT_OK, completed.stderr
    out = completed.stdout.decode("utf-8")
    assert_no_key_leaked(out, completed.stderr.decode("utf-8"))
    assert (
        "lemlist       missing; the secret holds 'lemlist' as a value: are its name and key swapped?" in out
    )
    assert out.splitlines()[-1].startswith("and 1 more entry for no account here, whose names are not shown")


def test_a_missing_secret_is_named_with_the_region_it_was_looked_for_in(stack: Stack) -> None:
    completed = run_process("keys", "list", "--secret", "team/keys", "--region", "eu-west-3")

    assert completed.returncode == EXIT_USAGE
    assert completed.stderr.decode("utf-8") == (
        "credit-monitor: secret 'team/keys' in eu-west-3 does not exist; `keys set ID --create` creates it\n"
    )


# --- keys set --check: one check with the new key, through the function's own check code ----------


@pytest.fixture
def vendors(
    tmp_path: Path, lemlist_api: ApiSimulator, server_cert: trustme.LeafCert, ca_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[Path, ApiSimulator, VendorSimulator]]:  # fmt: skip
    """An accounts file whose lemlist and ZeroBounce (key in the query) accounts are the loopback
    simulators, trusted through the test CA."""
    with VendorSimulator(ZEROBOUNCE, server_cert, "zb_2f4a6c8e0b1d3f5a7c9e") as zerobounce:
        path = tmp_path / "vendors.toml"
        path.write_text(
            "".join(
                f'[[account]]\nid = "{account_id}"\nprovider = "{provider}"\nwarning = 10\nurl = "{url}"\n'
                for account_id, provider, url in (
                    ("acme-lemlist", "lemlist", lemlist_api.base_url),
                    ("acme-zb", "zerobounce", zerobounce.base_url),
                )
            )
        )
        monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
        yield path, lemlist_api, zerobounce


def test_keys_set_check_reports_the_balance_the_vendor_gave_then_stores_the_key(
    vendors: tuple[Path, ApiSimulator, VendorSimulator], stack: Stack
) -> None:
    accounts, lemlist_api, _ = vendors

    completed = run_process(
        "keys", "set", "acme-lemlist", "--check", "--accounts", str(accounts), "--secret", stack.secret_id,
        stdin=LEMLIST_KEY.encode(),
    )  # fmt: skip

    assert completed.returncode == EXIT_OK, completed.stderr
    said = completed.stdout.decode("utf-8").splitlines()
    assert said[0] == "acme-lemlist: lemlist answered this key with a balance of 800 credits"
    assert said[1].startswith("acme-lemlist: key stored in secret credit-monitor/api-keys")
    assert stored(stack)["acme-lemlist"] == LEMLIST_KEY
    assert len(lemlist_api.credit_requests) == 1
    assert_no_key_leaked(completed.stdout.decode(), completed.stderr.decode())


def test_keys_set_check_refused_by_the_vendor_says_why_and_stores_nothing(
    vendors: tuple[Path, ApiSimulator, VendorSimulator], stack: Stack
) -> None:
    accounts, lemlist_api, _ = vendors
    before = stored(stack)

    completed = run_process(
        "keys", "set", "acme-lemlist", "--check", "--accounts", str(accounts), "--secret", stack.secret_id,
        stdin=NEW_KEY.encode(),
    )  # fmt: skip

    assert completed.returncode == EXIT_FAILED
    assert completed.stdout == b""
    assert completed.stderr.decode("utf-8").startswith(
        "credit-monitor: acme-lemlist: lemlist did not give a balance for this key (auth): HTTP 401, key"
        " rejected"
    ), completed.stderr
    assert completed.stderr.decode("utf-8").endswith("; the key was not stored\n")
    assert stored(stack) == before
    assert len(lemlist_api.credit_requests) == 1, "one request: the key read again is the same key"
    assert_key_never_shown(completed.stdout, completed.stderr)


def test_keys_set_check_never_shows_a_key_the_vendor_echoes(
    vendors: tuple[Path, ApiSimulator, VendorSimulator], stack: Stack
) -> None:
    """ZeroBounce takes the key in the query; a reply echoing the request shows it back."""
    accounts, _, zerobounce = vendors
    zerobounce.then(Reply(400, {"error": "bad request {request_target} with key {key}"}))

    completed = run_process(
        "keys", "set", "acme-zb", "--check", "--accounts", str(accounts), "--secret", stack.secret_id,
        stdin=NEW_KEY.encode(),
    )  # fmt: skip

    assert completed.returncode == EXIT_FAILED
    assert completed.stderr.decode("utf-8") == (
        "credit-monitor: acme-zb: ZeroBounce did not give a balance for this key (http): HTTP 400:"
        ' {"error": "bad request /v2/getcredits?api_key=*** with key ***"}; the key was not stored\n'
    )
    assert len(zerobounce.requests) == 1
    assert_key_never_shown(completed.stdout, completed.stderr)


def test_keys_set_check_of_an_entry_no_account_reads_is_refused_before_the_key_is_read(
    vendors: tuple[Path, ApiSimulator, VendorSimulator], stack: Stack
) -> None:
    accounts, _, _ = vendors

    completed = run_process(
        "keys", "set", "spare", "--force", "--check", "--accounts", str(accounts),
        "--secret", stack.secret_id, stdin=NEW_KEY.encode(),
    )  # fmt: skip

    assert completed.returncode == EXIT_USAGE
    assert completed.stderr.decode("utf-8") == (
        "credit-monitor: --check asks the vendor of an account that reads the entry, and no account in"
        f" {accounts} reads 'spare'; nothing stored\n"
    )


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


# --- the routes' receiver entries: read by the function from the same secret ------------------------

SLACK_URL = f"https://hooks.slack.com{SLACK_PATH}"
HOOK_URL = f"https://hooks.example.com{WEBHOOK_PATH}"
ROUTED = """
[[account]]
id = "acme-lemlist"
provider = "lemlist"
warning = 10
labels = { client = "acme" }

[[route]]
name = "acme"
match = { client = "acme" }
slack = "acme-slack"
pagerduty = "acme-pagerduty"

[[route]]
name = "ops"
slack = "acme-slack"
webhook = "ops-hook"
webhook_signing = "ops-hook-signing"
"""
"""One account, and two routes whose receivers read four entries of the secret: the Slack one by both."""


def assert_no_receiver_secret_shown(*streams: bytes) -> None:
    """Nothing of a URL's path, a routing key or a signing secret, in any form; nor the URLs' hosts."""
    texts = [stream.decode("utf-8") for stream in streams]  # strict: every byte printed is UTF-8
    assert_no_key_leaked(*texts, keys=RECEIVER_SECRETS)
    assert_no_key_leaked(*texts)
    assert not [text for text in texts if "hooks." in text], "a receiver's URL was printed"


@pytest.fixture
def routed(tmp_path: Path, stack: Stack) -> Path:
    path = tmp_path / "routed.toml"
    path.write_text(ROUTED)
    stack.secrets.put_secret_value(
        SecretId=stack.secret_id,
        SecretString=json.dumps(
            {
                "acme-lemlist": LEMLIST_KEY,
                "acme-slack": SLACK_URL.replace("https:", "http:"),  # the function refuses it
                "ops-hook": HOOK_URL,
                "ops-hook-signing": WEBHOOK_SIGNING_SECRET,
            }
        ),
    )
    return path


def test_keys_list_shows_each_receiver_entry_as_its_routes_and_never_its_value(
    routed: Path, stack: Stack
) -> None:
    """Not "stored, for no account here": tidied away, the client's alerts would stop reaching Slack."""
    completed = run_process("keys", "list", "--secret", stack.secret_id, "--accounts", str(routed))

    assert completed.returncode == EXIT_OK, completed.stderr
    assert completed.stdout.decode("utf-8").splitlines() == [
        "ACCOUNT           KEY",
        "acme-lemlist      stored",
        "acme-slack        the Slack incoming-webhook URL of routes acme, ops: stored, but the function"
        " would refuse it: it is an http:// URL; only https:// is accepted, since http would send alerts and"
        " the URL in clear",
        "acme-pagerduty    the PagerDuty Events API v2 routing key of route acme: missing",
        "ops-hook          the webhook's URL of route ops: stored",
        "ops-hook-signing  the webhook's signing secret of route ops: stored",
    ]
    assert completed.stderr == b""
    assert_no_receiver_secret_shown(completed.stdout, completed.stderr)


def test_keys_set_stores_a_receivers_url_and_says_which_route_reads_it(routed: Path, stack: Stack) -> None:
    completed = run_process(
        "keys", "set", "acme-slack", "--secret", stack.secret_id, "--accounts", str(routed),
        stdin=SLACK_URL.encode() + b"\n",
    )  # fmt: skip

    assert completed.returncode == EXIT_OK, completed.stderr
    assert stored(stack)["acme-slack"] == SLACK_URL  # stripped of the newline, as the function reads it
    said = completed.stdout.decode("utf-8")
    assert said.startswith(
        "acme-slack: the Slack incoming-webhook URL stored in secret credit-monitor/api-keys (version "
    )
    assert said.endswith(
        "); 3 other entries kept. Read by routes acme, ops: the function reads it within 6 hours;"
        " `credit-monitor test-alert --route acme` sends that route's receivers a test.\n"
    )
    assert_no_receiver_secret_shown(completed.stdout, completed.stderr)


def test_a_receivers_url_is_asked_for_without_echo_too(routed: Path, stack: Stack) -> None:
    argv = ["keys", "set", "acme-slack", "--secret", stack.secret_id, "--accounts", str(routed)]

    returncode, shown = typed_at_a_terminal(argv, SLACK_URL)

    assert returncode == EXIT_OK, shown
    assert stored(stack)["acme-slack"] == SLACK_URL
    assert b"The Slack incoming-webhook URL for acme-slack (not shown): " in shown
    assert_no_receiver_secret_shown(shown)


@pytest.mark.parametrize(
    ("entry", "value", "problem"),
    [
        (
            "acme-slack",
            SLACK_URL.replace("https:", "http:"),
            "the Slack incoming-webhook URL for 'acme-slack' is an http:// URL; only https:// is accepted,"
            " since http would send alerts and the URL in clear",
        ),
        (
            "acme-slack",
            PAGERDUTY_ROUTING_KEY,
            "the Slack incoming-webhook URL for 'acme-slack' is not an https:// URL",
        ),
        (
            "acme-slack",
            SLACK_URL.replace("//", f"//ops:{SLACK_TOKEN}@", 1),
            "the Slack incoming-webhook URL for 'acme-slack' has credentials before the host",
        ),
        (
            "acme-pagerduty",
            SLACK_URL,
            "the PagerDuty Events API v2 routing key for 'acme-pagerduty' is not a PagerDuty routing key",
        ),
        (
            "ops-hook-signing",
            "hk_short",
            "the webhook's signing secret for 'ops-hook-signing' is shorter than 16 characters",
        ),
        ("acme-slack", " \n", "no value given for 'acme-slack' (the Slack incoming-webhook URL)"),
    ],
    ids=["http", "routing-key-as-url", "credentials", "url-as-routing-key", "short-signing-secret", "empty"],
)
def test_keys_set_refuses_a_receiver_value_the_function_would_refuse_and_never_shows_it(
    entry: str, value: str, problem: str, routed: Path, stack: Stack
) -> None:
    before = stack.secrets.get_secret_value(SecretId=stack.secret_id)["VersionId"]

    completed = run_process(
        "keys", "set", entry, "--secret", stack.secret_id, "--accounts", str(routed), stdin=value.encode()
    )

    assert completed.returncode == EXIT_USAGE
    assert completed.stdout == b""
    assert completed.stderr.decode("utf-8").startswith(f"credit-monitor: not stored: {problem}")
    assert stack.secrets.get_secret_value(SecretId=stack.secret_id)["VersionId"] == before
    assert_no_receiver_secret_shown(completed.stdout, completed.stderr)


def test_keys_set_check_of_a_receiver_entry_points_to_test_alert_and_stores_nothing(
    routed: Path, stack: Stack
) -> None:
    """--check asks a vendor for a balance; a receiver is checked by a test message, which the
    deployed function sends, never `keys set`."""
    before = stored(stack)

    completed = run_process(
        "keys", "set", "acme-pagerduty", "--check", "--secret", stack.secret_id, "--accounts", str(routed),
        stdin=PAGERDUTY_ROUTING_KEY.encode(),
    )  # fmt: skip

    assert completed.returncode == EXIT_USAGE
    assert completed.stderr.decode("utf-8") == (
        "credit-monitor: --check asks a vendor for a balance, and 'acme-pagerduty' is the PagerDuty Events"
        " API v2 routing key of route acme: store it without --check, then `credit-monitor test-alert"
        " --route acme` sends that route's receivers a test; nothing stored\n"
    )
    assert stored(stack) == before


def test_keys_set_suggests_a_receiver_entry_close_to_a_typo(routed: Path, stack: Stack) -> None:
    completed = run_process(
        "keys", "set", "acme-slak", "--secret", stack.secret_id, "--accounts", str(routed),
        stdin=SLACK_URL.encode(),
    )  # fmt: skip

    assert completed.returncode == EXIT_USAGE
    assert completed.stderr.decode("utf-8") == (
        f"credit-monitor: no account or route in {routed} reads 'acme-slak'; did you mean acme-slack?"
        " Nothing stored; --force stores it all the same\n"
    )
    assert_no_receiver_secret_shown(completed.stdout, completed.stderr)
