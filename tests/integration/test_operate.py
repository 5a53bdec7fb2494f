"""Operating a deployed monitor from a terminal, against moto: status and snooze find the table
through the stack's outputs, and a snooze written while a run is writing loses nothing."""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from credit_monitor import app
from credit_monitor.adapters.state import DynamoStateStore, encode
from credit_monitor.alerting import AccountState
from credit_monitor.cli import EXIT_OK, EXIT_USAGE, main
from tests.support.aws import REGION, MotoServer, Stack
from tests.support.harness import Invoke, SimClock, captured_output, invoke_handler
from tests.support.simulators import ApiSimulator

STACK = "credit-monitor"


@pytest.fixture
def deployed(stack: Stack, aws: str) -> str:
    """A CloudFormation stack in moto whose StateTableName output names the test's table."""
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"StateTableName": {"Value": stack.table_name}},
    }
    boto3.client("cloudformation", endpoint_url=aws, region_name=REGION).create_stack(
        StackName=STACK, TemplateBody=json.dumps(template)
    )
    return STACK


def cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    status = main(list(argv), out=out)
    return status, out.getvalue()


def sent(stack: Stack) -> list[str]:
    return [m["MessageAttributes"]["kind"]["Value"] for m in stack.inbox.messages()]


def test_status_lists_each_account_most_urgent_first_with_its_history(
    deployed: str, invoke: Invoke, lemlist_api: ApiSimulator
) -> None:
    clock = SimClock()
    for balance in (160, 120, 80):
        lemlist_api.balance = balance
        invoke(clock)
        clock.advance(6)

    status, table = cli("status", "--stack", deployed)

    assert status == EXIT_OK
    header, first, second = table.splitlines()
    assert header.split()[:3] == ["ACCOUNT", "LEVEL", "BALANCE"]
    assert first.split()[:3] == ["lemlist", "WARNING", "80"]  # the one that needs money first
    assert first.rstrip().endswith("█▅▁")  # 160, 120, 80
    assert second.split()[:3] == ["fullenrich", "OK", "5,000"]


def test_status_json_for_scripts_and_an_account_with_no_history(
    deployed: str, invoke: Invoke, lemlist_api: ApiSimulator
) -> None:
    lemlist_api.valid_keys = {"revoked"}  # lemlist's first check fails: a state, but no balance yet
    invoke(SimClock())

    status, text = cli("status", "--stack", deployed, "--json")

    rows: list[dict[str, Any]] = json.loads(text)
    assert status == EXIT_OK
    assert [row["account"] for row in rows] == ["lemlist", "fullenrich"]  # failing before healthy
    lemlist = rows[0]
    assert (lemlist["balance"], lemlist["history"], lemlist["consecutive_failures"]) == (None, [], 1)
    assert set(lemlist) >= {"level", "days_left", "burn_per_day", "pending_notifications", "snoozed_until"}


def test_a_snooze_holds_back_alerts_and_one_reminder_follows_when_it_ends_still_low(
    deployed: str, invoke: Invoke, stack: Stack, lemlist_api: ApiSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = SimClock(datetime.now(UTC))  # the CLI's snooze is relative to the real time
    invoke(clock)
    until = (clock.now + timedelta(hours=30)).isoformat()
    assert (
        cli("snooze", "lemlist", "--until", until, "--stack", deployed, "--reason", "renewal")[0] == EXIT_OK
    )
    lemlist_api.balance = 10
    for _ in range(4):  # low for 24 hours, snoozed
        clock.advance(6)
        run = invoke(clock)
    assert sent(stack) == []
    assert run.summary()["lemlist"]["snoozed_until"] == until  # the summary line shows it too
    _, table = cli("status", "--stack", deployed)
    assert until[:16].replace("T", " ") in table

    for _ in range(2):  # the snooze ends at +30 h, still low
        clock.advance(6)
        invoke(clock)

    assert sent(stack) == ["REMINDER"]


def test_a_snooze_racing_a_scheduled_run_keeps_both(
    deployed: str, stack: Stack, function_env: dict[str, str], lemlist_api: ApiSimulator
) -> None:
    """The run writes between the snooze's read and its write: the snooze's conditional write
    fails, it re-reads, and the item ends with the run's new sample and the snooze."""
    clock = SimClock()
    with captured_output():
        invoke_handler(clock=clock)
    store = DynamoStateStore(stack.table_name)
    original_put = store.put
    raced: list[bool] = []

    def run_wins_first(account: str, state: AccountState, expected_version: int) -> bool:
        if not raced:
            raced.append(True)
            clock.advance(1)
            with captured_output():
                invoke_handler(clock=clock)  # the scheduled run writes first
        return original_put(account, state, expected_version)

    store.put = run_wins_first  # type: ignore[method-assign]
    until = clock.now + timedelta(days=3)
    written = store.change("lemlist", lambda s: s.__class__(**{**s.__dict__, "snoozed_until": until}))

    assert raced == [True]
    assert written.snoozed_until == until
    assert len(written.samples) == 2, "the run's sample survived the snooze"
    assert written.version == 3


def test_snooze_and_status_say_what_is_wrong(deployed: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("snooze", "lemlist", "--for", "3 days", "--stack", deployed)[0] == EXIT_USAGE
    assert "--for must be a number and a unit" in capsys.readouterr().err
    assert cli("status", "--stack", "no-such-stack")[0] == EXIT_USAGE
    assert "cannot read stack 'no-such-stack'" in capsys.readouterr().err


def test_unsnooze_ends_it_now(deployed: str, invoke: Invoke, stack: Stack, lemlist_api: ApiSimulator) -> None:
    clock = SimClock(datetime.now(UTC))
    invoke(clock)
    status, said = cli("snooze", "lemlist", "--for", "3d", "--stack", deployed, "--reason", "renewal")
    assert status == EXIT_OK
    assert re.fullmatch(
        r"lemlist: snoozed until \d{4}-\d\d-\d\d \d\d:\d\d UTC \(in 3 days\) \(renewal\)\n", said
    )
    status, said = cli("unsnooze", "lemlist", "--stack", deployed)
    assert status == EXIT_OK
    assert re.fullmatch(
        r"lemlist: snooze ended \(it was until \d{4}-\d\d-\d\d \d\d:\d\d UTC\); a low balance is reported at"
        r" the next run\n",
        said,
    )
    lemlist_api.balance = 10
    clock.advance(1)
    invoke(clock)

    assert sent(stack) == ["LOW"]
    assert app  # the handler module is the one the fixtures reset


def test_snoozing_an_account_that_does_not_exist_is_refused(
    deployed: str, invoke: Invoke, stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    invoke(SimClock())

    assert cli("snooze", "lemlsit", "--for", "3d", "--stack", deployed)[0] == EXIT_USAGE

    assert "no account 'lemlsit'" in capsys.readouterr().err
    assert "lemlsit" not in [
        item["provider"]["S"] for item in stack.dynamodb.scan(TableName=stack.table_name)["Items"]
    ]


def test_unsnooze_while_low_reports_at_the_next_run_as_it_says(
    deployed: str, invoke: Invoke, stack: Stack, lemlist_api: ApiSimulator
) -> None:
    clock = SimClock(datetime.now(UTC))
    invoke(clock)
    cli("snooze", "lemlist", "--for", "3d", "--stack", deployed)
    lemlist_api.balance = 10
    clock.advance(1)
    invoke(clock)  # LOW held back
    assert sent(stack) == []

    status, said = cli("unsnooze", "lemlist", "--stack", deployed)
    clock.advance(1)
    invoke(clock)

    assert status == EXIT_OK
    assert "reported at the next run" in said
    assert sent(stack) == ["REMINDER"]


HOSTILE = "\x1b[2J\x1b]0;pwned\x07\u202e\ud800"
"""Clear the screen, retitle the terminal, ring the bell, reverse the text, a lone surrogate."""
SHOWN = "\\x1b[2J\\x1b]0;pwned\\x07\\u202e\\ud800"
CORRUPT_ID = "it's $(touch pwned) `id`\nnext"


def put_raw(stack: Stack, account: str, state: str) -> None:
    """An item as anything with write access might leave it: the key and the text are ours to choose."""
    item = {"provider": {"S": account}, "version": {"N": "1"}, "state": {"S": state}}
    stack.dynamodb.put_item(TableName=stack.table_name, Item=item)


def run_process(
    *argv: str, env: dict[str, str] | None = None, stdin: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    """The CLI as a terminal runs it: a real process, stdout strict UTF-8, AWS from the environment,
    or from exactly `env` (with PATH and PYTHONPATH) when given."""
    base = {name: os.environ[name] for name in ("PATH", "PYTHONPATH") if name in os.environ}
    return subprocess.run(
        [sys.executable, "-m", "credit_monitor", *argv],
        input=stdin,
        env={**(os.environ if env is None else base | env), "PYTHONIOENCODING": "utf-8"},
        capture_output=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def hostile_items(stack: Stack) -> Stack:
    # The surrogate is JSON-escaped in the item (DynamoDB stores UTF-8) and comes back decoded.
    snoozed = AccountState(snoozed_until=datetime.now(UTC) + timedelta(days=3), snooze_reason=HOSTILE)
    put_raw(stack, f"acct{HOSTILE[:-1]}", encode(snoozed))  # a key is UTF-8 too: no surrogate
    put_raw(stack, CORRUPT_ID, "not json")
    return stack


def test_status_of_hostile_items_prints_them_escaped_and_encodable(hostile_items: Stack) -> None:
    completed = run_process("status", "--table", hostile_items.table_name)

    text = completed.stdout.decode("utf-8")  # strict
    assert completed.returncode == EXIT_OK, completed.stderr
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]", text)
    _, corrupt, snoozed = text.splitlines()  # a line break in an id never starts a row
    assert re.match(r"it's \$\(touch pwned\) `id`\\nnext +UNREADABLE ", corrupt), corrupt
    assert re.match(rf"acct{re.escape(SHOWN[:-6])} +OK ", snoozed), snoozed
    assert f"({SHOWN})" in snoozed
    pasted = shlex.split(corrupt.split("reset with: ")[1].split(" (the next run")[0])
    assert pasted[-2:] == ["--key", json.dumps({"provider": {"S": CORRUPT_ID}})]


def test_status_json_of_hostile_items_is_escaped_the_same_way(hostile_items: Stack) -> None:
    completed = run_process("status", "--table", hostile_items.table_name, "--json")

    assert completed.returncode == EXIT_OK, completed.stderr
    corrupt, snoozed = json.loads(completed.stdout.decode("utf-8"))
    assert corrupt["account"] == "it's $(touch pwned) `id`\\nnext"
    assert (snoozed["account"], snoozed["snooze_reason"]) == (f"acct{SHOWN[:-6]}", SHOWN)


def test_a_snooze_reason_with_control_characters_is_refused_not_stored(
    deployed: str, invoke: Invoke, stack: Stack
) -> None:
    invoke(SimClock())

    completed = run_process("snooze", "lemlist", "--for", "3d", "--stack", deployed, "--reason", "a\x1b[2Jb")

    assert completed.returncode == EXIT_USAGE
    assert completed.stderr.decode("utf-8") == (
        "credit-monitor: --reason must be one line of text, without control or format characters\n"
    )
    assert DynamoStateStore(stack.table_name).scan()["lemlist"].snoozed_until is None  # type: ignore[union-attr]


@pytest.mark.parametrize("name", ["\x1b]0;x\x07", "two words", "9lives", "x" * 129])
def test_a_stack_name_that_cannot_be_one_is_refused_before_any_call(
    name: str, aws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli("status", "--stack", name)[0] == EXIT_USAGE
    assert "is not a stack name" in capsys.readouterr().err


OTHER_REGION = "eu-west-3"


@pytest.fixture
def deployed_elsewhere(aws: str) -> str:
    """A stack and its state table in another region than the environment's default."""
    table = "credit-monitor-state-paris"
    boto3.client("dynamodb", endpoint_url=aws, region_name=OTHER_REGION).create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "provider", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "provider", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"StateTableName": {"Value": table}},
    }
    boto3.client("cloudformation", endpoint_url=aws, region_name=OTHER_REGION).create_stack(
        StackName=STACK, TemplateBody=json.dumps(template)
    )
    return table


def test_region_reaches_the_stack_and_its_table_in_that_region(
    deployed_elsewhere: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli("status", "--stack", STACK)[0] == EXIT_USAGE  # not in the default region
    assert "cannot read stack 'credit-monitor'" in capsys.readouterr().err

    status, text = cli("status", "--stack", STACK, "--region", OTHER_REGION)

    assert status == EXIT_OK
    assert text.splitlines()[0] == f"no account has been checked yet ({deployed_elsewhere})"


def test_profile_gives_the_region_and_an_unknown_profile_is_refused(
    deployed_elsewhere: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = tmp_path / "config"
    config.write_text(
        f"[profile ops]\nregion = {OTHER_REGION}\n"
        "aws_access_key_id = testing\naws_secret_access_key = testing\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):  # they would outrank the profile's region
        monkeypatch.delenv(name)

    assert cli("status", "--stack", STACK, "--profile", "ops")[0] == EXIT_OK
    assert cli("status", "--stack", STACK, "--profile", "nope")[0] == EXIT_USAGE
    assert "AWS profile 'nope' is not configured" in capsys.readouterr().err


def test_the_stack_defaults_to_samconfigs_stack_name_found_up_from_here(
    deployed: str, stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "samconfig.toml").write_text(
        f'version = 0.1\n[default.deploy.parameters]\nstack_name = "{deployed}"\n'
    )
    below = tmp_path / "src" / "deep"
    below.mkdir(parents=True)
    monkeypatch.chdir(below)

    status, text = cli("status")

    assert status == EXIT_OK
    assert text.splitlines()[0] == f"no account has been checked yet ({stack.table_name})"


def test_without_stack_or_samconfig_the_error_says_what_to_pass(
    aws: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)

    assert cli("status")[0] == EXIT_USAGE
    assert "no --stack given, and no samconfig.toml with a stack_name" in capsys.readouterr().err


# --- regions as the AWS CLI resolves them; arguments checked before any AWS call ------------------


@pytest.fixture
def no_region(aws: str, tmp_path: Path) -> dict[str, str]:
    """Credentials and moto, but no region anywhere: no variable, and a profile without one."""
    config = tmp_path / "config"
    config.write_text("[default]\noutput = json\n")
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": aws,
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
        "HOME": str(tmp_path),
    }


AWS_COMMANDS = [
    ("status", "--stack", STACK),
    ("snooze", "lemlist", "--for", "3d", "--stack", STACK),
    ("unsnooze", "lemlist", "--stack", STACK),
    ("keys", "list", "--secret", "credit-monitor/api-keys"),
    ("keys", "set", "lemlist", "--secret", "credit-monitor/api-keys"),
    ("test-alert", "--stack", STACK),
]


@pytest.mark.parametrize("argv", AWS_COMMANDS, ids=lambda argv: " ".join(argv[:2]))
def test_without_a_region_every_aws_command_exits_two_saying_how_to_set_one(
    argv: tuple[str, ...], no_region: dict[str, str]
) -> None:
    completed = run_process(*argv, env=no_region, stdin=b"lm_7d2e5b9c1a3f4e8b6c0d")

    assert completed.returncode == EXIT_USAGE, completed.stderr
    assert completed.stdout == b""
    assert completed.stderr.decode("utf-8") == (
        "credit-monitor: no AWS region is set: pass --region (e.g. --region eu-west-1), set AWS_REGION"
        " (export AWS_REGION=eu-west-1), or give your profile one (aws configure set region eu-west-1)\n"
    )


@pytest.mark.parametrize(
    ("variables", "found"),
    [
        ({"AWS_REGION": OTHER_REGION}, True),
        ({"AWS_DEFAULT_REGION": OTHER_REGION}, True),
        ({"AWS_REGION": OTHER_REGION, "AWS_DEFAULT_REGION": REGION}, True),
        ({"AWS_REGION": REGION, "AWS_DEFAULT_REGION": OTHER_REGION}, False),
    ],
    ids=["aws-region", "aws-default-region", "aws-region-first", "aws-region-outranks"],
)
def test_the_region_comes_from_aws_region_then_aws_default_region(
    variables: dict[str, str], found: bool, deployed_elsewhere: str, no_region: dict[str, str]
) -> None:
    completed = run_process("status", "--stack", STACK, env=no_region | variables)

    if found:
        assert completed.returncode == EXIT_OK, completed.stderr
        assert completed.stdout.decode("utf-8").startswith("no account has been checked yet")
    else:
        assert completed.returncode == EXIT_USAGE
        assert f"cannot read stack 'credit-monitor' in {REGION}" in completed.stderr.decode("utf-8")


def test_the_region_option_outranks_the_variables(deployed_elsewhere: str, no_region: dict[str, str]) -> None:
    env = no_region | {"AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION}
    completed = run_process("status", "--stack", STACK, "--region", OTHER_REGION, env=env)
    assert completed.returncode == EXIT_OK, completed.stderr


def test_a_region_that_cannot_be_one_is_refused_before_any_call(
    no_region: dict[str, str], moto_server: MotoServer
) -> None:
    with moto_server.recording() as calls:
        completed = run_process("status", "--stack", STACK, "--region", "eu west 1", env=no_region)

    assert completed.returncode == EXIT_USAGE
    assert completed.stderr.decode("utf-8").startswith(
        "credit-monitor: --region 'eu west 1' is not an AWS region"
    )
    assert calls == []


@pytest.mark.parametrize(
    "argv",
    [
        ("snooze", "lemlist", "--for", "3days", "--stack", STACK),
        ("snooze", "lemlist", "--until", "someday", "--stack", STACK),
        ("snooze", "lemlist", "--for", "3d", "--reason", "a\x1b[2Jb", "--stack", STACK),
        ("snooze", "Acme Corp", "--for", "3d", "--stack", STACK),
        ("unsnooze", "Acme Corp", "--stack", STACK),
    ],
    ids=["duration", "date", "reason", "snooze-id", "unsnooze-id"],
)
def test_arguments_are_refused_before_any_aws_call(
    argv: tuple[str, ...], aws: str, moto_server: MotoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    with moto_server.recording() as calls:
        status, _ = cli(*argv)

    assert status == EXIT_USAGE
    assert calls == []
    assert capsys.readouterr().err.startswith("credit-monitor: ")


def test_after_the_first_deploy_status_says_when_the_first_run_is_due_and_what_to_run_now(
    stack: Stack, aws: str
) -> None:
    """The stack's own ScheduleExpression and creation time, from the DescribeStacks status makes
    anyway: no other call."""
    template = {
        "Parameters": {
            "ScheduleExpression": {"Type": "String", "Default": "rate(1 hour)"},
            "AlarmPeriodSeconds": {"Type": "Number", "Default": 3600},
        },
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"StateTableName": {"Value": stack.table_name}},
    }
    boto3.client("cloudformation", endpoint_url=aws, region_name=REGION).create_stack(
        StackName=STACK, TemplateBody=json.dumps(template)
    )

    completed = run_process("status", "--stack", STACK)

    assert completed.returncode == EXIT_OK, completed.stderr
    first, due, now = completed.stdout.decode("utf-8").splitlines()
    assert first == f"no account has been checked yet ({stack.table_name})"
    assert re.fullmatch(
        r"The first scheduled run \(rate\(1 hour\)\) is due by \d{4}-\d\d-\d\d \d\d:\d\d UTC \(in (59|60)"
        r" minutes\)\.",
        due,
    ), due
    assert now == "To see a message arrive now: credit-monitor test-alert --stack credit-monitor"


def test_a_profile_from_aws_profile_that_is_not_configured_is_named(
    no_region: dict[str, str], aws: str
) -> None:
    completed = run_process("status", "--stack", STACK, env=no_region | {"AWS_PROFILE": "nope"})

    assert completed.returncode == EXIT_USAGE
    assert completed.stderr.decode("utf-8").startswith(
        "credit-monitor: AWS profile 'nope' (AWS_PROFILE) is not configured"
    ), completed.stderr


def test_status_shows_the_deliveries_each_receiver_has_still_to_take(
    stack: Stack,
    invoke: Invoke,
    accounts_file: Callable[[str], Path],
    lemlist_api: ApiSimulator,
    fullenrich_api: ApiSimulator,
) -> None:
    """A route's Slack whose entry is not in the secret refuses, and the stack's topic is gone: the
    LOW stays owed to both, and status says so by receiver id (entry names, never a URL)."""
    accounts_file(
        f'[[account]]\nid = "lemlist"\nprovider = "lemlist"\nwarning = 100\nurl = "{lemlist_api.base_url}"\n'
        'labels = { client = "acme" }\n'
        '[[account]]\nid = "fullenrich"\nprovider = "fullenrich"\nwarning = 100\n'
        f'url = "{fullenrich_api.base_url}"\n'
        '[[route]]\nname = "acme"\nmatch = { client = "acme" }\nslack = "acme-slack"\n'
    )
    stack.sns.delete_topic(TopicArn=stack.topic_arn)
    lemlist_api.balance = 1
    assert invoke().error is not None  # nothing delivered: the run says so

    table = run_process("status", "--table", stack.table_name)
    as_json = run_process("status", "--table", stack.table_name, "--json")

    assert table.returncode == as_json.returncode == EXIT_OK, table.stderr
    header, lemlist, fullenrich, pending = table.stdout.decode("utf-8").splitlines()
    column = header.index("PEND")
    assert (lemlist[column:].split()[0], fullenrich[column:].split()[0]) == ("1", "-")
    assert pending == "pending deliveries: 1 for acme/slack:acme-slack, 1 for the stack's topic"
    assert table.stdout.endswith(pending.encode() + b"\n")
    rows = {row["account"]: row for row in json.loads(as_json.stdout)}
    assert rows["lemlist"]["pending_by_receiver"] == {"acme/slack:acme-slack": 1, "topic": 1}
    assert rows["fullenrich"]["pending_by_receiver"] == {}
