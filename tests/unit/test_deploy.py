"""scripts/deploy.py's refusals and choices, without AWS: the rehearsal (tests/template) deploys for real."""

from __future__ import annotations

import io
import json
import subprocess
import tomllib
from pathlib import Path

import pytest
from scripts import deploy, settings

from credit_monitor.account import Account
from credit_monitor.accounts_file import parse_accounts, parse_config
from credit_monitor.deploy_settings import AccountsChoice, Origin
from tests.support.harness import REPO
from tests.support.keys import (
    FULLENRICH_KEY,
    LEMLIST_KEY,
    PAGERDUTY_ROUTING_KEY,
    RECEIVER_SECRETS,
    SLACK_PATH,
    assert_no_key_leaked,
)


@pytest.fixture(autouse=True)
def no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))


def test_a_first_deploy_without_an_email_says_how_to_give_one_or_decline_it() -> None:
    with pytest.raises(deploy.Refusal) as refused:
        deploy.alert_email(None, no_email=False)

    assert "AlertEmail is required" in str(refused.value)
    assert "make deploy ALERT_EMAIL=you@example.com" in str(refused.value)
    assert "make deploy NO_EMAIL=1" in str(refused.value)


def test_declining_email_is_explicit_and_exclusive() -> None:
    assert deploy.alert_email(None, no_email=True) == ""
    with pytest.raises(deploy.Refusal, match="not both"):
        deploy.alert_email("ops@example.com", no_email=True)


def test_an_address_that_is_not_one_is_refused() -> None:
    assert deploy.alert_email("ops@example.com", no_email=False) == "ops@example.com"
    with pytest.raises(deploy.Refusal, match="not an e-mail address"):
        deploy.alert_email("ops", no_email=False)


def test_without_python_313_it_builds_in_docker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deploy, "python313", lambda: None)
    monkeypatch.setattr(deploy, "docker_runs", lambda: True)

    command, _, compiler = deploy.build_command("sam", Path("build"), Path("cfg.toml"))

    assert command == ["sam", "build", "--config-file", "cfg.toml", "--build-dir", "build", "--use-container"]
    assert compiler is None, "no Python 3.13 here to compile the bytecode with"


def test_with_python_313_it_comes_first_on_the_build_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deploy, "python313", lambda: "/opt/py313/bin/python3.13")

    command, environment, compiler = deploy.build_command("sam", Path("build"), Path("cfg.toml"))

    assert "--use-container" not in command
    assert compiler == "/opt/py313/bin/python3.13"
    assert environment["PATH"].startswith("/opt/py313/bin:")


def test_without_python_313_or_docker_it_says_how_to_get_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deploy, "python313", lambda: None)
    monkeypatch.setattr(deploy, "docker_runs", lambda: False)

    with pytest.raises(deploy.Refusal) as refused:
        deploy.build_command("sam", Path("build"), Path("cfg.toml"))

    assert "pyenv install 3.13" in str(refused.value)
    assert "--use-container" in str(refused.value)


def test_a_region_asked_for_is_kept_in_your_settings_not_the_projects(tmp_path: Path) -> None:
    local = tmp_path / "samconfig.local.toml"

    deploy.record(local, "default.deploy.parameters", "region", "eu-west-1")

    merged = settings.merge(settings.read_config(REPO / "samconfig.toml"), settings.read_config(local))
    assert settings.deploy_setting(merged, "region") == "eu-west-1"
    assert settings.deploy_setting(merged, "stack_name") == "credit-monitor"
    assert local.read_text().startswith("# Your settings for `make deploy`. Git ignores this file")


def test_your_settings_file_is_ignored_by_git() -> None:
    for path in ("samconfig.local.toml", "src/accounts.toml"):
        ignored = subprocess.run(["git", "check-ignore", "-q", path], cwd=REPO, check=False)
        assert ignored.returncode == 0, f"{path} would be tracked, and conflict on `git pull`"


def test_make_deploy_passes_its_variables_to_the_script() -> None:
    printed = make_n("deploy", "ALERT_EMAIL=ops@example.com", "REGION=eu-west-1")

    assert '.venv-sam/bin/python scripts/deploy.py --alert-email "ops@example.com"' in printed
    assert '--region "eu-west-1"' in printed
    for option in ("--no-email", "--accounts", "--no-accounts", "--force"):
        assert option not in printed
    words = (
        make_n("deploy", "ACCOUNTS=clients/all.toml", "FORCE=1", "NO_EMAIL=1").replace("\\\n", " ").split()
    )
    assert words[1:] == ["scripts/deploy.py", "--no-email", "--accounts", '"clients/all.toml"', "--force"]
    assert make_n("deploy", "NO_ACCOUNTS=1").split()[-1] == "--no-accounts"


def test_make_destroy_deletes_the_stack_your_settings_name() -> None:
    printed = make_n("destroy", "REGION=eu-west-1")
    assert '.venv-sam/bin/python scripts/deploy.py --destroy --region "eu-west-1"' in printed


def make_n(*argv: str) -> str:
    """What make would run, without running it (the virtualenv taken as installed). Run from a
    make of its own (`make mutate`), make would add "Entering directory" lines: not here."""
    return subprocess.run(
        ["make", "--no-print-directory", "-n", "-o", ".venv-sam/.installed", *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


LEMLIST = '[[account]]\nid = "{id}"\nprovider = "lemlist"\nwarning = 100\n'


@pytest.fixture
def clone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clone's code folder (src/), as the current folder's child."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "src").mkdir()
    return tmp_path / "src"


def test_a_file_in_the_code_folder_is_packaged_where_it_is(clone: Path) -> None:
    (clone / "clients").mkdir()
    (clone / "clients" / "all.toml").write_text(LEMLIST.format(id="acme-lemlist"))
    choice = AccountsChoice(clone / "clients" / "all.toml", Origin.GIVEN)

    packaged = deploy.package_accounts(choice, clone)

    assert packaged.parameter == "clients/all.toml"  # /var/task/clients/all.toml
    assert not packaged.copied
    assert [account.id for account in packaged.accounts] == ["acme-lemlist"]


ROUTES = (
    '[[route]]\nname = "acme"\nslack = "acme-slack"\n'
    'topic = ["arn:aws:sns:eu-west-1:123456789012:acme-alerts", "arn:aws:sns:us-east-1:123456789012:ops"]\n'
    '[[route]]\nname = "ops"\ntopic = "arn:aws:sns:us-east-1:123456789012:ops"\n'
)
ROUTE_TOPICS = ("arn:aws:sns:eu-west-1:123456789012:acme-alerts", "arn:aws:sns:us-east-1:123456789012:ops")


def test_the_route_topics_of_the_file_are_what_the_role_may_publish_to(clone: Path) -> None:
    (clone / "accounts.toml").write_text(LEMLIST.format(id="acme-lemlist") + ROUTES)

    packaged = deploy.package_accounts(AccountsChoice(clone / "accounts.toml", Origin.DEFAULT), clone)

    assert packaged.route_topics == ROUTE_TOPICS  # each once, in the file's order
    assert packaged.route_topics_parameter == ",".join(ROUTE_TOPICS)
    template = settings.load_template()
    assert settings.value_problems(template["Parameters"]["RouteTopicArns"], ",".join(ROUTE_TOPICS)) == []
    assert settings.value_problems(template["Parameters"]["RouteTopicArns"], "") == []
    assert settings.value_problems(template["Parameters"]["RouteTopicArns"], "arn:aws:sns:*") != []
    none = deploy.package_accounts(AccountsChoice(None, Origin.NONE), clone)
    assert none.route_topics_parameter == ""


def test_route_topics_set_by_hand_are_refused_unless_they_are_the_files(clone: Path) -> None:
    """make deploy sets RouteTopicArns: a hand-written one would grant more, or less, than the routes use."""
    (clone / "accounts.toml").write_text(LEMLIST.format(id="acme-lemlist") + ROUTES)
    packaged = deploy.package_accounts(AccountsChoice(clone / "accounts.toml", Origin.DEFAULT), clone)

    def local(value: str) -> dict[str, object]:
        return {"default": {"deploy": {"parameters": {"parameter_overrides": f'RouteTopicArns="{value}"'}}}}

    wider = local(",".join([*ROUTE_TOPICS, "arn:aws:sns:us-east-1:123456789012:other"]))
    assert deploy.route_topics_override_problem({"samconfig.local.toml": wider}, packaged) == (
        "samconfig.local.toml sets RouteTopicArns='arn:aws:sns:eu-west-1:123456789012:acme-alerts,"
        "arn:aws:sns:us-east-1:123456789012:ops,arn:aws:sns:us-east-1:123456789012:other' in"
        " parameter_overrides. make deploy sets RouteTopicArns from the route topics of the accounts file it"
        " packages (here: arn:aws:sns:eu-west-1:123456789012:acme-alerts,"
        " arn:aws:sns:us-east-1:123456789012:ops),"
        " so that the function may publish to exactly those: remove RouteTopicArns from samconfig.local.toml"
    )
    same = local(",".join(reversed(ROUTE_TOPICS)))
    assert deploy.route_topics_override_problem({"samconfig.local.toml": same}, packaged) is None
    none = deploy.package_accounts(AccountsChoice(None, Origin.NONE), clone)
    problem = deploy.route_topics_override_problem({"samconfig.toml": local(ROUTE_TOPICS[0])}, none)
    assert problem is not None
    assert "(here: none)" in problem


def test_a_file_elsewhere_is_copied_in_as_accounts_toml(clone: Path, tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text(LEMLIST.format(id="acme-lemlist"))

    packaged = deploy.package_accounts(AccountsChoice(tmp_path / "mine.toml", Origin.GIVEN), clone)

    assert (packaged.parameter, packaged.copied) == ("accounts.toml", True)


def test_an_invalid_file_stops_the_deploy_with_every_problem(clone: Path) -> None:
    (clone / "accounts.toml").write_text(
        LEMLIST.format(id="Acme") + '[[account]]\nid = "b"\nprovider = "lemlist"\nwarnign = 1\n'
    )

    with pytest.raises(deploy.Refusal) as refused:
        deploy.package_accounts(AccountsChoice(clone / "accounts.toml", Origin.DEFAULT), clone)

    said = str(refused.value)
    assert said.startswith(
        "the accounts file src/accounts.toml (found at src/accounts.toml) cannot be deployed:"
    )
    assert "account #1: id: must be a slug" in said
    assert "did you mean warning?" in said
    assert "make deploy NO_ACCOUNTS=1" in said


def test_a_recorded_file_that_is_gone_stops_the_deploy(clone: Path) -> None:
    with pytest.raises(deploy.Refusal, match="cannot read the accounts file"):
        deploy.package_accounts(AccountsChoice(clone / "gone.toml", Origin.RECORDED), clone)


def test_accounts_file_written_as_its_repository_path_is_caught_before_the_deploy(clone: Path) -> None:
    """The natural mistake: AccountsFile="src/accounts.toml" is /var/task/src/accounts.toml."""
    (clone / "accounts.toml").write_text(LEMLIST.format(id="acme-lemlist"))
    packaged = deploy.package_accounts(AccountsChoice(clone / "accounts.toml", Origin.DEFAULT), clone)
    local = {
        "default": {"deploy": {"parameters": {"parameter_overrides": 'AccountsFile="src/accounts.toml"'}}}
    }

    problem = deploy.accounts_file_override_problem({"samconfig.local.toml": local}, packaged, clone)

    assert problem == (
        "samconfig.local.toml sets AccountsFile='src/accounts.toml' in parameter_overrides: the function"
        " would read /var/task/src/accounts.toml, src/src/accounts.toml here, which does not exist. make"
        " deploy sets AccountsFile from the accounts file it packages, here src/accounts.toml"
        " (AccountsFile=accounts.toml): remove AccountsFile from samconfig.local.toml"
    )
    agreeing = {"default": {"deploy": {"parameters": {"parameter_overrides": "AccountsFile=accounts.toml"}}}}
    assert deploy.accounts_file_override_problem({"samconfig.toml": agreeing}, packaged, clone) is None


def test_an_accounts_file_set_by_hand_but_not_found_by_the_deploy_says_how_to_give_it(clone: Path) -> None:
    (clone / "clients.toml").write_text(LEMLIST.format(id="acme-lemlist"))
    none = deploy.package_accounts(AccountsChoice(None, Origin.NONE), clone)
    tracked = {"default": {"deploy": {"parameters": {"parameter_overrides": "AccountsFile=clients.toml"}}}}

    problem = deploy.accounts_file_override_problem({"samconfig.toml": tracked}, none, clone)

    assert problem is not None
    assert "here no accounts file" in problem
    assert problem.endswith("run `make deploy ACCOUNTS=src/clients.toml`")


def test_a_forgotten_accounts_file_deploys_only_the_zero_config_accounts_its_thresholds_turn_on() -> None:
    template = settings.load_template()
    none = deploy.Packaged(AccountsChoice(None, Origin.NONE), (), "", copied=False)
    defaults = deploy.parameter_values(template, {}, {})

    assert [a.id for a in deploy.deployed_accounts(none, template, defaults)] == ["fullenrich", "lemlist"]
    lemlist_only = deploy.parameter_values(template, {"FullenrichThreshold": ""}, {})
    assert [a.id for a in deploy.deployed_accounts(none, template, lemlist_only)] == ["lemlist"]
    nothing = deploy.parameter_values(template, {"FullenrichThreshold": ""}, {"LemlistThreshold": ""})
    with pytest.raises(deploy.Refusal, match="no account to watch"):
        deploy.deployed_accounts(none, template, nothing)


def test_given_values_win_over_deployed_ones_which_win_over_defaults() -> None:
    template = {"Parameters": {"A": {"Default": "a"}, "B": {"Default": 2}, "C": {}}}
    assert deploy.parameter_values(template, {"B": "deployed", "C": "x"}, {"C": "given"}) == {
        "A": "a",
        "B": "deployed",
        "C": "given",
    }


def _accounts(text: str) -> tuple[Account, ...]:
    return parse_accounts(tomllib.loads(text), "accounts.toml")


SHARED = (
    LEMLIST.format(id="acme-sales")
    + 'key = "acme-team"\n'
    + LEMLIST.format(id="acme-ops")
    + 'key = "acme-team"\n'
    + LEMLIST.format(id="globex")
    + LEMLIST.format(id="initech")
)


def test_missing_keys_are_found_by_the_entry_the_function_reads() -> None:
    secret = json.dumps({"globex": LEMLIST_KEY, "initech": "<your lemlist key>", "acme-sales": LEMLIST_KEY})

    problems = deploy.key_problems(_accounts(SHARED), secret)

    assert [(p.entry, p.accounts, p.problem.split(":")[0]) for p in problems] == [
        ("acme-team", ("acme-sales", "acme-ops"), "missing"),
        ("initech", ("initech",), "stored, but the function would refuse it"),
    ]
    assert deploy.key_problems(_accounts(LEMLIST.format(id="globex")), secret) == []


def test_the_report_says_how_to_store_each_key_and_how_to_go_on_and_never_shows_one() -> None:
    secret = json.dumps({"globex": LEMLIST_KEY, "initech": FULLENRICH_KEY[:6]})
    problems = deploy.key_problems(_accounts(SHARED), secret)

    report = deploy.key_report(problems, "credit-monitor/api-keys", "eu-west-1", exists=True)

    assert report.splitlines()[:3] == [
        "3 account(s) would fail for want of a key in secret 'credit-monitor/api-keys' (eu-west-1):",
        "  acme-sales, acme-ops (entry 'acme-team'): missing",
        "  initech: stored, but the function would refuse it: " + problems[1].problem.split(": ", 1)[1],
    ]
    assert (  # the shared entry: `keys set acme-sales` is refused, pointing to it
        "  .venv/bin/credit-monitor keys set acme-team --secret credit-monitor/api-keys --region eu-west-1\n"
        in (report)
    )
    assert "keys set acme-sales" not in report
    assert "make deploy FORCE=1" in report
    assert "--create" not in report
    assert_no_key_leaked(report)
    assert FULLENRICH_KEY[:6] not in report
    missing = deploy.key_report(problems, "s", "eu-west-1", exists=False)
    assert "'s' (eu-west-1), which does not exist:" in missing
    assert missing.count("--create") == 1, "the first `keys set` creates the secret"


RECEIVER_ROUTES = """
[[route]]
name = "acme"
slack = "acme-slack"
pagerduty = "acme-pd"

[[route]]
name = "ops"
webhook = "ops-hook"
webhook_signing = "ops-hook-signing"
"""


def test_receiver_entries_missing_or_refused_are_found_next_to_the_keys_and_never_shown() -> None:
    """A route's Slack URL stored as http:// is refused by the function at every delivery: the
    deploy says so before, as it does for a missing key."""
    config = parse_config(tomllib.loads(LEMLIST.format(id="globex") + RECEIVER_ROUTES), "accounts.toml")
    secret = json.dumps(
        {
            "globex": LEMLIST_KEY,
            "acme-slack": f"http://hooks.slack.com{SLACK_PATH}",
            "acme-pd": PAGERDUTY_ROUTING_KEY,
            "ops-hook": f"https://hooks.example.com{SLACK_PATH}",
        }
    )

    problems = deploy.key_problems(config.accounts, secret, config.routing)
    report = deploy.key_report(problems, "credit-monitor/api-keys", "eu-west-1", exists=True)

    assert report.splitlines() == [
        "the routes' receivers lack 2 usable entries in secret 'credit-monitor/api-keys' (eu-west-1):",
        "  acme-slack (the Slack incoming-webhook URL of route acme): stored, but the function would refuse"
        " it: it is an http:// URL; only https:// is accepted, since http would send alerts and the URL in"
        " clear",
        "  ops-hook-signing (the webhook's signing secret of route ops): missing",
        "Store each (asked without echo, never printed), then run `make deploy` again:",
        "  .venv/bin/credit-monitor keys set acme-slack --secret credit-monitor/api-keys --region eu-west-1",
        "  .venv/bin/credit-monitor keys set ops-hook-signing --secret credit-monitor/api-keys --region"
        " eu-west-1",
        "or deploy anyway with `make deploy FORCE=1`: those receivers are sent nothing until their entry is.",
    ]
    assert_no_key_leaked(report, keys=RECEIVER_SECRETS)
    assert "hooks." not in report
    assert deploy.key_problems(config.accounts, secret) == [], "without the routes, only keys are checked"


def test_a_report_of_keys_and_receiver_entries_says_both_and_what_each_costs() -> None:
    config = parse_config(tomllib.loads(SHARED + RECEIVER_ROUTES), "accounts.toml")

    report = deploy.key_report(deploy.key_problems(config.accounts, "{}", config.routing), "s", "r", True)

    assert report.startswith(
        "4 account(s) would fail for want of a key, and the routes' receivers lack 4 usable entries, in"
        " secret 's' (r):\n"
    )
    assert report.endswith(
        "or deploy anyway with `make deploy FORCE=1`: those accounts report CHECK FAILING until their key is"
        " stored, and those receivers are sent nothing until their entry is."
    )


def test_settings_cloudformation_would_refuse_are_named_with_their_file() -> None:
    template = settings.load_template()
    tracked = settings.read_config(REPO / "samconfig.toml")
    local = {
        "default": {
            "deploy": {"parameters": {"parameter_overrides": "LemlistTreshold=5 AlarmPeriodSeconds=900"}}
        }
    }
    config = deploy.Settings(tracked, local, settings.merge(tracked, local), Path("samconfig.local.toml"))
    values = deploy.parameter_values(
        template, {}, {**settings.overrides_of(config.merged), "AccountsFile": "a b"}
    )

    problems = deploy.setting_problems(config, template, values)

    assert problems[0].startswith(
        "samconfig.local.toml: [default.deploy.parameters] parameter_overrides: LemlistTreshold='5':"
        " template.yaml declares no parameter LemlistTreshold (did you mean LemlistThreshold?)"
    )
    assert "AccountsFile='a b': 'a b' does not match the AllowedPattern" in problems[1]
    # the project's rate(1 hour) with your 900 s: the files agree alone, not together
    assert problems[2].startswith("rule AlarmPeriodOf3600:")
    assert len(problems) == 3
