"""The stack name from samconfig.toml: the nearest file, its deploy section before its global one."""

from __future__ import annotations

from pathlib import Path

import pytest

from credit_monitor.adapters.stack import StackError, samconfig_stack
from tests.support.cfn import REPO


def test_the_repositorys_own_samconfig_names_the_default_stack() -> None:
    found = samconfig_stack(REPO / "src" / "credit_monitor")
    assert found is not None
    assert found[1] == REPO / "samconfig.toml"
    assert found[0]


def test_the_deploy_section_wins_over_the_global_one(tmp_path: Path) -> None:
    (tmp_path / "samconfig.toml").write_text(
        '[default.global.parameters]\nstack_name = "g"\n[default.deploy.parameters]\nstack_name = "d"\n'
    )
    assert samconfig_stack(tmp_path) == ("d", tmp_path / "samconfig.toml")


def test_the_nearest_file_decides_even_without_a_stack_name(tmp_path: Path) -> None:
    (tmp_path / "samconfig.toml").write_text('[default.deploy.parameters]\nstack_name = "outer"\n')
    inner = tmp_path / "project"
    inner.mkdir()
    (inner / "samconfig.toml").write_text("version = 0.1\n")
    assert samconfig_stack(inner) is None


def test_a_samconfig_that_is_not_toml_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "samconfig.toml").write_text("[default.deploy.parameters\n")
    with pytest.raises(StackError, match=r"samconfig\.toml: cannot read the stack name"):
        samconfig_stack(tmp_path)


def test_your_samconfig_local_names_the_stack_you_deploy(tmp_path: Path) -> None:
    """make deploy reads samconfig.local.toml over samconfig.toml: a stack_name there is the stack."""
    (tmp_path / "samconfig.toml").write_text('[default.global.parameters]\nstack_name = "credit-monitor"\n')
    (tmp_path / "samconfig.local.toml").write_text('[default.deploy.parameters]\nstack_name = "mine"\n')
    inner = tmp_path / "src"
    inner.mkdir()

    assert samconfig_stack(inner) == ("mine", tmp_path / "samconfig.local.toml")
    (tmp_path / "samconfig.local.toml").write_text('[default.deploy.parameters]\nregion = "eu-west-1"\n')
    assert samconfig_stack(inner) == ("credit-monitor", tmp_path / "samconfig.toml")
