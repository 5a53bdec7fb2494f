"""`credit-monitor check` against the loopback simulators, as cron or CI would run it."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from credit_monitor.cli import EXIT_FAILED, EXIT_LOW, EXIT_OK, EXIT_USAGE, main
from credit_monitor.sizing import ACCOUNTS_PER_SIZE
from tests.support.keys import FULLENRICH_KEY, LEMLIST_KEY, assert_no_key_leaked
from tests.support.simulators import ApiSimulator


@pytest.fixture
def cli_env(
    fullenrich_api: ApiSimulator, lemlist_api: ApiSimulator, ca_file: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # read by OpenSSL itself, so it must be real env
    return {
        "FULLENRICH_API_KEY": FULLENRICH_KEY,
        "LEMLIST_API_KEY": LEMLIST_KEY,
        "FULLENRICH_THRESHOLD": "1000",
        "LEMLIST_THRESHOLD": "100",
        "FULLENRICH_API_URL": fullenrich_api.base_url,
        "LEMLIST_API_URL": lemlist_api.base_url,
        "CHECK_DEADLINE_SECONDS": "6",
    }


def run(env: dict[str, str]) -> tuple[int, str]:
    out = io.StringIO()
    status = main(["check"], environ=env, out=out)
    assert_no_key_leaked(out.getvalue())
    return status, out.getvalue()


def test_healthy_balances_print_a_table_and_exit_zero(cli_env: dict[str, str]) -> None:
    status, table = run(cli_env)
    assert status == EXIT_OK
    lines = table.splitlines()
    assert lines[0].split() == ["ACCOUNT", "BALANCE", "THRESHOLD", "STATUS"]
    assert lines[1].split() == ["fullenrich", "5,000", "1,000", "OK"]
    assert lines[2].split() == ["lemlist", "800", "100", "OK"]


def test_low_balance_exits_one(cli_env: dict[str, str], lemlist_api: ApiSimulator) -> None:
    lemlist_api.balance = 3
    status, table = run(cli_env)
    assert status == EXIT_LOW
    assert "LOW" in table


def test_below_the_critical_level_says_critical(cli_env: dict[str, str], lemlist_api: ApiSimulator) -> None:
    lemlist_api.balance = 3
    status, table = run({**cli_env, "LEMLIST_CRITICAL_THRESHOLD": "10"})
    assert status == EXIT_LOW
    assert table.splitlines()[2].split() == ["lemlist", "3", "100", "CRITICAL"]


def test_missing_key_fails_that_check_and_exits_three(
    cli_env: dict[str, str], lemlist_api: ApiSimulator
) -> None:
    del cli_env["LEMLIST_API_KEY"]
    status, table = run(cli_env)
    assert status == EXIT_FAILED
    assert "no API key for 'lemlist' (set LEMLIST_API_KEY)" in table
    assert lemlist_api.requests == []


def test_bad_configuration_exits_two_naming_the_variable(
    cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    status, _ = run({**cli_env, "LEMLIST_THRESHOLD": "a hundred"})
    assert status == EXIT_USAGE
    err = capsys.readouterr().err
    assert "LEMLIST_THRESHOLD must be a number" in err
    assert_no_key_leaked(err)


def test_module_entry_point_runs_as_a_real_process(
    cli_env: dict[str, str], lemlist_api: ApiSimulator
) -> None:
    lemlist_api.valid_keys = {"another"}
    completed = subprocess.run(
        [sys.executable, "-m", "credit_monitor", "check"],
        env={**os.environ, **cli_env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == EXIT_FAILED
    assert "FAILED (auth)" in completed.stdout
    assert_no_key_leaked(completed.stdout, completed.stderr)


ACCOUNTS = """
[[account]]
id = "acme-lemlist"
provider = "lemlist"
warning = 500
labels = { client = "acme" }

[[account]]
id = "globex-lemlist"
provider = "lemlist"
warning = 100
critical = 20
"""


def test_two_teams_of_one_provider_each_with_its_own_key_and_threshold(
    cli_env: dict[str, str], lemlist_api: ApiSimulator, tmp_path: Path
) -> None:
    """Both teams live on the one lemlist simulator; each key is its own team (same balance here)."""
    accounts = tmp_path / "accounts.toml"
    accounts.write_text(
        ACCOUNTS.replace("warning = 500", f'warning = 500\nurl = "{lemlist_api.base_url}"').replace(
            "warning = 100", f'warning = 100\nurl = "{lemlist_api.base_url}"'
        )
    )
    lemlist_api.valid_keys = {"acme-key", "globex-key"}
    lemlist_api.balance = 300
    env = {**cli_env, "ACME_LEMLIST_API_KEY": "acme-key", "GLOBEX_LEMLIST_API_KEY": "globex-key"}

    out = io.StringIO()
    status = main(["check", "--accounts", str(accounts)], environ=env, out=out)

    rows = [line.split() for line in out.getvalue().splitlines()[1:]]
    assert rows == [["acme-lemlist", "300", "500", "LOW"], ["globex-lemlist", "300", "100", "OK"]]
    assert status == EXIT_LOW
    sent = sorted(r.headers["authorization"] for r in lemlist_api.credit_requests)
    assert len(sent) == 2
    assert len(set(sent)) == 2, "each account sends its own key"


def test_validate_lists_the_accounts_of_a_good_file(tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.toml"
    accounts.write_text(ACCOUNTS)
    out = io.StringIO()

    assert main(["validate", str(accounts)], out=out) == EXIT_OK
    lines = out.getvalue().splitlines()
    assert lines[0] == f"{accounts}: 2 account(s), valid"
    assert lines[1].split() == ["acme-lemlist", "lemlist", "warning", "500", "client=acme"]


def test_validate_names_the_file_account_and_field_of_a_mistake(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    accounts = tmp_path / "accounts.toml"
    accounts.write_text(ACCOUNTS.replace("critical = 20", "critical = 200"))

    assert main(["validate", str(accounts)]) == EXIT_USAGE
    assert f"{accounts}: account 'globex-lemlist': critical: (200) must be below warning (100)" in (
        capsys.readouterr().err
    )


def test_validate_warns_when_the_memory_size_cannot_check_that_many_accounts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    accounts = tmp_path / "accounts.toml"
    count = ACCOUNTS_PER_SIZE[128] + 1
    accounts.write_text(
        "".join(f'[[account]]\nid = "a-{n}"\nprovider = "lemlist"\nwarning = 100\n' for n in range(count))
    )

    assert main(["validate", str(accounts), "--memory-size", "128"], out=io.StringIO()) == EXIT_OK
    assert f"warning: {count} accounts is more than the {ACCOUNTS_PER_SIZE[128]}" in capsys.readouterr().err
    assert main(["validate", str(accounts), "--memory-size", "1024"], out=io.StringIO()) == EXIT_OK
    assert capsys.readouterr().err == ""
