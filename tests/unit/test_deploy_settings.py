"""Which accounts file a deploy packages, decided once for `make deploy` and the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from credit_monitor.account import ConfigError
from credit_monitor.deploy_settings import (
    AccountsChoice,
    Origin,
    accounts_file_to_write,
    choose_accounts_file,
    deployed_accounts_file,
    recorded_accounts_file,
)

ROOT = Path("/clone")


def test_the_path_given_wins_then_the_recorded_one_then_src_accounts_toml_then_none() -> None:
    every = {ROOT / "src" / "accounts.toml"}

    def exists(path: Path) -> bool:
        return path in every

    given = Path("/elsewhere/mine.toml")
    assert choose_accounts_file(given, "clients.toml", ROOT, exists) == AccountsChoice(given, Origin.GIVEN)
    assert choose_accounts_file(None, "clients.toml", ROOT, exists) == AccountsChoice(
        ROOT / "clients.toml", Origin.RECORDED
    )
    assert choose_accounts_file(None, None, ROOT, exists) == AccountsChoice(
        ROOT / "src" / "accounts.toml", Origin.DEFAULT
    )
    assert choose_accounts_file(None, None, ROOT, lambda path: False) == AccountsChoice(None, Origin.NONE)


def test_a_recorded_file_is_kept_even_when_it_is_gone() -> None:
    """A deployed file that disappeared is the deploy's to refuse, never a quiet fall back to the
    zero-config accounts."""
    choice = choose_accounts_file(None, "/gone/accounts.toml", ROOT, lambda path: False)
    assert choice == AccountsChoice(Path("/gone/accounts.toml"), Origin.RECORDED)


@pytest.mark.parametrize(
    ("settings", "recorded"),
    [
        ({"make_deploy": {"accounts_file": "src/accounts.toml"}}, "src/accounts.toml"),
        ({"make_deploy": {"accounts_file": "  "}}, None),
        ({"make_deploy": {"accounts_file": 3}}, None),
        ({"make_deploy": "src/accounts.toml"}, None),
        ({}, None),
    ],
)
def test_only_a_path_is_a_record(settings: dict[str, object], recorded: str | None) -> None:
    assert recorded_accounts_file(settings) == recorded


def test_init_writes_into_the_clones_src_from_anywhere_inside_it(tmp_path: Path) -> None:
    (tmp_path / "samconfig.toml").write_text("")
    (tmp_path / "src").mkdir()

    assert accounts_file_to_write(tmp_path) == Path("src/accounts.toml")
    assert accounts_file_to_write(tmp_path / "src") == Path("accounts.toml")
    assert accounts_file_to_write(tmp_path.parent) == Path("accounts.toml")  # outside a clone


def test_the_cli_sees_the_deploys_choice(tmp_path: Path) -> None:
    (tmp_path / "samconfig.toml").write_text("")
    (tmp_path / "src").mkdir()
    assert deployed_accounts_file(tmp_path / "src") is None
    (tmp_path / "src" / "accounts.toml").write_text("")
    assert deployed_accounts_file(tmp_path / "src") == tmp_path.resolve() / "src" / "accounts.toml"
    (tmp_path / "samconfig.local.toml").write_text('[make_deploy]\naccounts_file = "all.toml"\n')
    assert deployed_accounts_file(tmp_path) == tmp_path.resolve() / "all.toml"


def test_unreadable_settings_are_an_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "samconfig.toml").write_text("")
    (tmp_path / "samconfig.local.toml").write_text("[make_deploy\n")

    with pytest.raises(ConfigError, match=r"samconfig\.local\.toml: cannot read it"):
        deployed_accounts_file(tmp_path)
