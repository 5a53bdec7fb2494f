"""scripts/settings.py: samconfig.toml and samconfig.local.toml merged as `make deploy` gives them to
SAM CLI, and samconfig.local.toml edited one line at a time. (The overrides' checks: tests/template.)"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from scripts import settings

from tests.support.harness import REPO

TRACKED = tomllib.loads((REPO / "samconfig.toml").read_text())


def test_your_settings_win_and_overrides_merge_by_name() -> None:
    local = {
        "default": {
            "deploy": {
                "parameters": {
                    "region": "eu-west-1",
                    "confirm_changeset": False,
                    "parameter_overrides": 'MemorySize=512 ScheduleExpression="rate(15 minutes)"',
                }
            }
        },
        "make_deploy": {"accounts_file": "src/accounts.toml"},
    }

    merged = settings.merge(TRACKED, local, skip="make_deploy")

    deploy = merged["default"]["deploy"]["parameters"]
    assert deploy["region"] == "eu-west-1"
    assert deploy["confirm_changeset"] is False
    assert deploy["capabilities"] == "CAPABILITY_IAM", "the project's defaults stay"
    assert settings.overrides_of(merged) == {
        "ScheduleExpression": "rate(15 minutes)",
        "AlarmPeriodSeconds": "3600",
        "ApiKeysSecretName": "credit-monitor/api-keys",
        "MemorySize": "512",
    }
    assert "make_deploy" not in merged, "SAM CLI would read it as an environment"
    assert merged["default"]["global"] == TRACKED["default"]["global"]


def test_no_local_settings_is_the_projects_defaults() -> None:
    assert settings.merge(TRACKED, {}) == TRACKED


@pytest.mark.parametrize(
    "values",
    [{"A": "rate(1 hour)", "B": "", "C": 'say "hi"', "D": "a=b c"}, {}],
)
def test_overrides_format_as_sam_parses_them_back(values: dict[str, str]) -> None:
    formatted = settings.format_overrides(values)
    assert settings.overrides_of(settings.merge({}, {"default": {"deploy": {"parameters": {}}}})) == {}
    parsed, problems = settings.parse_overrides("s", formatted)
    assert problems == []
    assert {o.key: o.value for o in parsed} == values


def test_the_merged_file_reads_back_as_written(tmp_path: Path) -> None:
    config = {**TRACKED, "default": {**TRACKED["default"], "odd": {"parameters": {"a key": ["x", 1, True]}}}}
    path = tmp_path / "out" / "samconfig.deploy.toml"

    settings.write_config(config, path, "generated\ndo not edit")

    assert tomllib.loads(path.read_text()) == config
    assert path.read_text().startswith("# generated\n# do not edit\n")


def test_recording_creates_your_file_with_its_header(tmp_path: Path) -> None:
    path = tmp_path / "samconfig.local.toml"

    settings.record(path, "default.deploy.parameters", "region", "eu-west-1", "Your settings.\nMine.")
    settings.record(path, "make_deploy", "accounts_file", "src/accounts.toml", "unused")

    assert path.read_text() == (
        '# Your settings.\n# Mine.\n\n[default.deploy.parameters]\nregion = "eu-west-1"\n\n'
        '[make_deploy]\naccounts_file = "src/accounts.toml"\n'
    )


def test_recording_changes_one_line_and_keeps_your_comments(tmp_path: Path) -> None:
    path = tmp_path / "samconfig.local.toml"
    mine = (
        "# my settings\n"
        "[default.deploy.parameters]\n"
        'region = "us-east-1"   # the old one\n'
        'parameter_overrides = "LemlistThreshold=500"  # lemlist only\n'
        "\n"
        "[make_deploy]\n"
        'accounts_file = "old.toml"\n'
    )
    path.write_text(mine)

    settings.record(path, "default.deploy.parameters", "region", "eu-west-1", "")
    settings.record(path, "make_deploy", "accounts_file", None, "")

    assert path.read_text() == mine.replace('"us-east-1"   # the old one', '"eu-west-1"').replace(
        'accounts_file = "old.toml"\n', ""
    )


def test_a_file_one_line_cannot_change_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "samconfig.local.toml"
    mine = 'default.deploy.parameters.region = "us-east-1"\n'  # dotted keys: no [table] line to edit
    path.write_text(mine)

    with pytest.raises(settings.SettingsError, match="set it by hand"):
        settings.record(path, "default.deploy.parameters", "region", "eu-west-1", "")
    assert path.read_text() == mine


def test_a_broken_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "samconfig.local.toml"
    path.write_text("[default\n")

    with pytest.raises(settings.SettingsError, match=r"samconfig\.local\.toml: cannot read it"):
        settings.read_config(path)
    with pytest.raises(settings.SettingsError, match=r"samconfig\.local\.toml: not valid TOML"):
        settings.record(path, "make_deploy", "accounts_file", "x", "")
    assert settings.read_config(tmp_path / "none.toml") == {}
