"""`make deploy`'s checks before anything is built (scripts/deploy.py `prepare`), against moto's
CloudFormation and Secrets Manager: the accounts file it packages, and every account's key, read with
the deployer's credentials. Nothing is built here; the rehearsal (tests/template) deploys for real."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from scripts import deploy

from tests.support.aws import REGION, MotoServer
from tests.support.harness import REPO
from tests.support.keys import (
    FULLENRICH_KEY,
    LEMLIST_KEY,
    PAGERDUTY_ROUTING_KEY,
    RECEIVER_SECRETS,
    SLACK_PATH,
    assert_no_key_leaked,
)

SECRET = "credit-monitor/api-keys"
"""The template's ApiKeysSecretName default: samconfig.toml's too."""
ACCOUNTS = (
    '[[account]]\nid = "acme-sales"\nprovider = "lemlist"\nwarning = 100\nkey = "acme-team"\n'
    '[[account]]\nid = "acme-ops"\nprovider = "lemlist"\nwarning = 100\nkey = "acme-team"\n'
    '[[account]]\nid = "globex-fullenrich"\nprovider = "fullenrich"\nwarning = 100\n'
)


def create_secret(keys: dict[str, str]) -> None:
    client = boto3.client("secretsmanager", region_name=REGION)
    client.create_secret(Name=SECRET, SecretString=json.dumps(keys))


def prepare(tmp_path: Path, *options: str) -> deploy.Plan:
    """`make deploy` up to the build: the project's samconfig.toml, settings of the test's own."""
    argv = ["--region", REGION, "--local-config-file", str(tmp_path / "samconfig.local.toml"), *options]
    return deploy.prepare(deploy.arguments(argv))


def test_a_forgotten_accounts_file_stops_the_deploy_of_two_accounts_without_keys(
    aws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    create_secret({})

    with pytest.raises(deploy.Refusal) as refused:
        prepare(tmp_path, "--no-accounts", "--alert-email", "ops@example.com")

    said = str(refused.value)
    assert said.startswith(f"2 account(s) would fail for want of a key in secret '{SECRET}' ({REGION}):")
    assert "  fullenrich: missing\n  lemlist: missing\n" in said
    assert "make deploy FORCE=1" in said
    assert "the zero-config accounts fullenrich, lemlist" in capsys.readouterr().out


def test_every_account_has_its_key_by_the_entry_the_function_reads(
    aws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = {"acme-team": LEMLIST_KEY, "globex-fullenrich": FULLENRICH_KEY}
    create_secret(keys)
    (tmp_path / "mine.toml").write_text(ACCOUNTS)

    plan = prepare(tmp_path, "--accounts", str(tmp_path / "mine.toml"), "--alert-email", "ops@example.com")

    assert plan.parameters["AccountsFile"] == "accounts.toml"
    assert plan.packaged.copied
    assert plan.parameters["AlertEmail"] == "ops@example.com"
    assert plan.parameters["ScheduleExpression"] == "rate(1 hour)", "samconfig.toml's overrides are given"
    assert plan.parameters["RouteTopicArns"] == "", "always given: a removed route's grant goes with it"
    out = capsys.readouterr().out
    assert f"deploy: accounts file {tmp_path / 'mine.toml'} (given): 3 account(s), valid" in out
    assert "RouteTopicArns" not in out
    assert_no_key_leaked(out)


def test_the_routes_topics_are_granted_by_the_parameter_the_deploy_sets_and_says(
    aws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    create_secret({"acme-team": LEMLIST_KEY, "globex-fullenrich": FULLENRICH_KEY})
    topics = ["arn:aws:sns:eu-west-1:123456789012:acme-alerts", "arn:aws:sns:us-east-1:123456789012:globex"]
    routes = f'[[route]]\nname = "clients"\ntopic = {json.dumps(topics)}\n'
    (tmp_path / "mine.toml").write_text(ACCOUNTS + routes)

    plan = prepare(tmp_path, "--accounts", str(tmp_path / "mine.toml"), "--alert-email", "ops@example.com")

    assert plan.parameters["RouteTopicArns"] == ",".join(topics)
    assert (
        "deploy: the routes publish to 2 SNS topic(s) of their own; the function may publish to exactly"
        f" these (RouteTopicArns): {topics[0]}, {topics[1]}\n"
    ) in capsys.readouterr().out


def test_a_missing_shared_key_names_its_entry_and_force_goes_on_without_showing_any_key(
    aws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = {"acme-sales": LEMLIST_KEY, "globex-fullenrich": FULLENRICH_KEY}  # acme-team is what is read
    create_secret(keys)
    (tmp_path / "mine.toml").write_text(ACCOUNTS)
    options = ("--accounts", str(tmp_path / "mine.toml"), "--alert-email", "ops@example.com")

    with pytest.raises(deploy.Refusal, match=r"  acme-sales, acme-ops \(entry 'acme-team'\): missing\n"):
        prepare(tmp_path, *options)
    plan = prepare(tmp_path, *options, "--force")

    assert plan.parameters["AccountsFile"] == "accounts.toml"
    out = capsys.readouterr().out
    assert "deploy: FORCE=1, deploying anyway:\n2 account(s) would fail" in out
    assert_no_key_leaked(out)


def test_a_receivers_entry_missing_or_that_the_function_would_refuse_stops_the_deploy_until_forced(
    aws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every account has its key; the route's Slack URL is http:// and its PagerDuty key missing:
    deployed, the client's alerts would go nowhere."""
    create_secret(
        {
            "acme-team": LEMLIST_KEY,
            "globex-fullenrich": FULLENRICH_KEY,
            "acme-slack": f"http://hooks.slack.com{SLACK_PATH}",
            "old-pagerduty": PAGERDUTY_ROUTING_KEY,
        }
    )
    route = '[[route]]\nname = "acme"\nslack = "acme-slack"\npagerduty = "acme-pagerduty"\n'
    (tmp_path / "mine.toml").write_text(ACCOUNTS + route)
    options = ("--accounts", str(tmp_path / "mine.toml"), "--alert-email", "ops@example.com")

    with pytest.raises(deploy.Refusal) as refused:
        prepare(tmp_path, *options)
    plan = prepare(tmp_path, *options, "--force")

    said = str(refused.value)
    assert said.splitlines()[:3] == [
        f"the routes' receivers lack 2 usable entries in secret '{SECRET}' ({REGION}):",
        "  acme-slack (the Slack incoming-webhook URL of route acme): stored, but the function would refuse"
        " it: it is an http:// URL; only https:// is accepted, since http would send alerts and the URL in"
        " clear",
        "  acme-pagerduty (the PagerDuty Events API v2 routing key of route acme): missing",
    ]
    assert f"  .venv/bin/credit-monitor keys set acme-slack --secret {SECRET} --region {REGION}\n" in said
    assert f"  .venv/bin/credit-monitor keys set acme-pagerduty --secret {SECRET} --region {REGION}\n" in said
    assert plan.parameters["AccountsFile"] == "accounts.toml"
    out = capsys.readouterr().out
    assert "deploy: FORCE=1, deploying anyway:\nthe routes' receivers lack 2 usable entries" in out
    assert_no_key_leaked(said, out, keys=RECEIVER_SECRETS)
    assert_no_key_leaked(said, out)
    assert "hooks." not in said + out


def test_a_secret_that_does_not_exist_is_said_with_its_region_and_how_to_create_it(
    aws: str, tmp_path: Path
) -> None:
    with pytest.raises(deploy.Refusal) as refused:
        prepare(tmp_path, "--no-accounts", "--alert-email", "ops@example.com")

    said = str(refused.value)
    assert f"secret '{SECRET}' ({REGION}), which does not exist:" in said
    assert f"keys set fullenrich --secret {SECRET} --region {REGION} --create\n" in said


def test_a_secret_scheduled_for_deletion_says_how_to_restore_it(aws: str, tmp_path: Path) -> None:
    client = boto3.client("secretsmanager", region_name=REGION)
    client.create_secret(Name=SECRET, SecretString=json.dumps({"lemlist": LEMLIST_KEY}))
    client.delete_secret(SecretId=SECRET, RecoveryWindowInDays=7)

    with pytest.raises(deploy.Refusal) as refused:
        prepare(tmp_path, "--no-accounts", "--alert-email", "ops@example.com")

    assert f"aws secretsmanager restore-secret --secret-id {SECRET} --region {REGION}" in str(refused.value)


def test_force_goes_on_when_the_secret_cannot_be_read_and_says_so(
    aws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client = boto3.client("secretsmanager", region_name=REGION)
    client.create_secret(Name=SECRET, SecretString=json.dumps({"lemlist": LEMLIST_KEY}))
    client.delete_secret(SecretId=SECRET, RecoveryWindowInDays=7)

    plan = prepare(tmp_path, "--no-accounts", "--alert-email", "ops@example.com", "--force")

    assert plan.parameters["AccountsFile"] == ""
    out = capsys.readouterr().out
    assert (
        f"deploy: FORCE=1, deploying anyway:\nsecret '{SECRET}' ({REGION}) is scheduled for deletion" in out
    )


def test_a_later_deploy_checks_the_accounts_the_deployed_thresholds_watch(
    aws: str, tmp_path: Path, moto_server: MotoServer
) -> None:
    """SAM CLI keeps a parameter not given at its deployed value: FullenrichThreshold="" deployed
    earlier leaves lemlist alone to need a key, and no e-mail is asked for."""
    create_secret({"lemlist": LEMLIST_KEY})
    template = {
        "Parameters": {"FullenrichThreshold": {"Type": "String"}},
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
    }
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName="credit-monitor",
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": "FullenrichThreshold", "ParameterValue": ""}],
    )

    plan = prepare(tmp_path, "--no-accounts")

    assert plan.email is None
    assert "AlertEmail" not in plan.parameters
    assert plan.parameters["AccountsFile"] == ""


def test_a_wrong_accounts_file_is_refused_before_any_aws_call(
    tmp_path: Path, moto_server: MotoServer
) -> None:
    (tmp_path / "samconfig.local.toml").write_text(
        '[default.deploy.parameters]\nparameter_overrides = "AccountsFile=src/accounts.toml"\n'
    )

    with moto_server.recording() as calls, pytest.raises(deploy.Refusal) as refused:
        prepare(tmp_path, "--no-accounts")

    assert "AccountsFile='src/accounts.toml'" in str(refused.value)
    assert "/var/task/src/accounts.toml" in str(refused.value)
    assert calls == []
    assert not (REPO / "src" / "src").exists()


def test_a_first_deploy_whose_change_set_was_declined_is_still_a_first_deploy(
    aws: str, tmp_path: Path
) -> None:
    """Declining the first change set leaves a stack in REVIEW_IN_PROGRESS, which SAM CLI creates
    afresh: the e-mail must still be asked for, or the stack is deployed with nobody to hear it."""
    create_secret({"fullenrich": FULLENRICH_KEY, "lemlist": LEMLIST_KEY})
    template = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    cloudformation.create_change_set(
        StackName="credit-monitor",
        ChangeSetName="declined",
        ChangeSetType="CREATE",
        TemplateBody=json.dumps(template),
    )
    [stack] = cloudformation.describe_stacks(StackName="credit-monitor")["Stacks"]
    assert stack["StackStatus"] == "REVIEW_IN_PROGRESS"

    with pytest.raises(deploy.Refusal, match="AlertEmail is required"):
        prepare(tmp_path, "--no-accounts")
