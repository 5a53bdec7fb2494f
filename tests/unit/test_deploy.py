"""scripts/deploy.py's refusals and choices, without AWS: the rehearsal (tests/template) deploys for real."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from scripts import deploy

from tests.support.harness import REPO


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

    command, _ = deploy.build_command("sam", Path("build"))

    assert command == ["sam", "build", "--build-dir", "build", "--use-container"]


def test_with_python_313_it_comes_first_on_the_build_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deploy, "python313", lambda: "/opt/py313/bin/python3.13")

    command, environment = deploy.build_command("sam", Path("build"))

    assert "--use-container" not in command
    assert environment["PATH"].startswith("/opt/py313/bin:")


def test_without_python_313_or_docker_it_says_how_to_get_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deploy, "python313", lambda: None)
    monkeypatch.setattr(deploy, "docker_runs", lambda: False)

    with pytest.raises(deploy.Refusal) as refused:
        deploy.build_command("sam", Path("build"))

    assert "pyenv install 3.13" in str(refused.value)
    assert "--use-container" in str(refused.value)


def test_a_region_asked_for_is_kept_for_later_deploys(tmp_path: Path) -> None:
    config = tmp_path / "samconfig.toml"
    config.write_text((REPO / "samconfig.toml").read_text())

    deploy.save_region(config, "eu-west-1")

    assert deploy.deploy_setting(deploy.samconfig(config), "region") == "eu-west-1"
    assert deploy.deploy_setting(deploy.samconfig(config), "stack_name") == "credit-monitor"


def test_make_deploy_passes_its_variables_to_the_script() -> None:
    printed = subprocess.run(
        [
            "make",
            "-n",
            "-o",
            ".venv-sam/.installed",
            "deploy",
            "ALERT_EMAIL=ops@example.com",
            "REGION=eu-west-1",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    assert '.venv-sam/bin/python scripts/deploy.py --alert-email "ops@example.com"' in printed
    assert '--region "eu-west-1"' in printed
    assert "--no-email" not in printed
