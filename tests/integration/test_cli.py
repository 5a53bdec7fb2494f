"""`credit-monitor check` against the loopback simulators, as cron or CI would run it."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import trustme

from credit_monitor import cli
from credit_monitor.cli import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_LOW, EXIT_OK, EXIT_USAGE, main
from credit_monitor.sizing import ACCOUNTS_PER_SIZE
from tests.support.keys import FULLENRICH_KEY, LEMLIST_KEY, assert_no_key_leaked
from tests.support.simulators import ApiSimulator, Reply
from tests.support.vendors import BRIGHTDATA, VendorSimulator


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
    lemlist_api.valid_keys = {"acme-key-7d2e5b9c1a", "globex-key-4f1c9a7e2b"}
    lemlist_api.balance = 300
    env = {
        **cli_env,
        "ACME_LEMLIST_API_KEY": "acme-key-7d2e5b9c1a",
        "GLOBEX_LEMLIST_API_KEY": "globex-key-4f1c9a7e2b",
    }

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


def test_validate_reports_three_mistakes_in_one_run_one_line_each(tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.toml"
    accounts.write_text(
        ACCOUNTS.replace("warning = 500", "warnign = 500")
        .replace("warning = 100", 'warning = "100"')
        .replace('provider = "lemlist"', 'provider = "lemlst"', 1)
    )

    done = run_process({}, "validate", str(accounts))

    assert done.returncode == EXIT_USAGE
    assert done.stdout == b""
    assert done.stderr.decode("utf-8", "strict").splitlines() == [
        f"credit-monitor: {accounts}: account 'acme-lemlist': provider: must be one of apify, bettercontact,"
        " bouncer, brevo, brightdata, clearout, dropcontact, emailable, findymail, fullenrich, hunter,"
        " icypeas, leadmagic, lemlist, lusha, millionverifier, neverbounce, prospeo, scrapingbee, sendgrid,"
        " serpapi, snovio, twilio, vonage, zerobounce, http-json, got 'lemlst'; did you mean lemlist?"
        ' For any other API that answers JSON, write provider = "http-json" (see docs/vendors.md)',
        f"credit-monitor: {accounts}: account 'acme-lemlist': warnign: unknown field; did you mean warning?",
        f"credit-monitor: {accounts}: account 'globex-lemlist': warning: must be a number of credits, not the"
        ' string "100"; drop the quotes: warning = 100',
    ]


def test_a_lemlist_only_zero_config_check_watches_lemlist_alone_and_exits_zero(
    lemlist_api: ApiSimulator, ca_file: Path
) -> None:
    env = {
        "LEMLIST_API_KEY": LEMLIST_KEY,
        "LEMLIST_THRESHOLD": "100",
        "LEMLIST_API_URL": lemlist_api.base_url,
        "CHECK_DEADLINE_SECONDS": "6",
        "SSL_CERT_FILE": str(ca_file),
    }
    inherited = {name: "" for name in os.environ if name.startswith(("FULLENRICH_", "ACCOUNTS_FILE"))}

    done = run_process({**inherited, **env}, "check")

    assert done.returncode == EXIT_OK, done.stderr
    lines = done.stdout.decode("utf-8", "strict").splitlines()
    assert [line.split() for line in lines[1:]] == [["lemlist", "800", "100", "OK"]]
    assert done.stderr == b""
    assert_no_key_leaked(done.stdout.decode(), done.stderr.decode())


def test_check_help_lists_the_variables_it_reads_and_its_exit_statuses() -> None:
    done = run_process({}, "check", "--help")

    assert done.returncode == 0
    text = done.stdout.decode("utf-8", "strict")
    for variable in (
        "ACCOUNTS_FILE",
        "FULLENRICH_THRESHOLD",
        "LEMLIST_THRESHOLD",
        "LEMLIST_CRITICAL_THRESHOLD",
        "LEMLIST_API_URL",
        "LEMLIST_API_KEY",
        "<ID>_API_KEY",
        "CHECK_DEADLINE_SECONDS",
        "SCHEDULE_PERIOD_SECONDS",
    ):
        assert variable in text
    statuses = [line.split(None, 1) for line in text.splitlines() if re.match(r"\s+(0|1|2|3|130)\s", line)]
    assert [code for code, _ in statuses] == ["0", "1", "2", "3", "130"]
    assert "low" in statuses[1][1]


LONE_SURROGATE_BODY = b'{"code": "error.api.key", "message": "Unknown api key \\ud800 \\u001b[31mred\\u0007"}'
"""A vendor's error text with a lone surrogate escape and a terminal escape in it: valid JSON."""


def run_process(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[bytes]:
    """The CLI as cron runs it: a real process writing bytes to pipes, stdout strict UTF-8."""
    return subprocess.run(
        [sys.executable, "-m", "credit_monitor", *argv],
        env={**os.environ, **env, "PYTHONIOENCODING": "utf-8"},
        capture_output=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("fmt", [[], ["--json"]], ids=["table", "json"])
def test_a_lone_surrogate_in_a_vendor_error_fails_the_check_and_prints_encodable_text(
    cli_env: dict[str, str], fullenrich_api: ApiSimulator, fmt: list[str]
) -> None:
    fullenrich_api.then(Reply(401, LONE_SURROGATE_BODY))

    completed = run_process(cli_env, "check", *fmt)

    stdout, stderr = completed.stdout.decode("utf-8"), completed.stderr.decode("utf-8")  # strict
    assert completed.returncode == EXIT_FAILED, stderr
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f]", stdout), "no control character but the line break"
    if fmt:
        rows = json.loads(stdout)
        assert [row["status"] for row in rows] == ["FAILED", "OK"]
        assert "\\x1b[31m" in rows[0]["reason"]
    else:
        assert "FAILED (auth)" in stdout
        assert "lemlist" in stdout.splitlines()[2]
    assert_no_key_leaked(stdout, stderr)


def test_an_unexpected_error_exits_three_never_one_and_withholds_its_message(
    cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError(f"unexpected, quoting {LEMLIST_KEY} \ud800")

    monkeypatch.setattr(cli, "run_checks", broken)
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")

    assert main(["check"], environ=cli_env, out=out) == EXIT_FAILED

    err = capsysbinary.readouterr().err.decode("utf-8")
    said = r"credit-monitor: internal error: RuntimeError at test_cli\.py:\d+; please report it\n"
    assert re.fullmatch(said, err), err
    assert_no_key_leaked(err)


def test_ctrl_c_exits_as_interrupted_not_as_low(
    cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(*_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "run_checks", interrupted)

    assert main(["check"], environ=cli_env, out=io.StringIO()) == EXIT_INTERRUPTED
    assert capsys.readouterr().err == "credit-monitor: interrupted\n"


def test_a_reader_that_has_gone_ends_the_output_not_the_exit_status(
    cli_env: dict[str, str], lemlist_api: ApiSimulator
) -> None:
    """`credit-monitor check | head -0`: the pipe is closed before a byte is written."""
    lemlist_api.balance = 3
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "credit_monitor", "check"],
            env={**os.environ, **cli_env, "PYTHONIOENCODING": "utf-8"},
            stdout=write_end,
            stderr=subprocess.PIPE,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)

    assert completed.returncode == EXIT_LOW
    assert completed.stderr == b""


def test_validate_accepts_a_byte_order_mark_and_names_another_encoding(tmp_path: Path) -> None:
    with_bom, utf16 = tmp_path / "bom.toml", tmp_path / "utf16.toml"
    with_bom.write_bytes(b"\xef\xbb\xbf" + ACCOUNTS.encode())
    utf16.write_text(ACCOUNTS, encoding="utf-16")

    good, bad = run_process({}, "validate", str(with_bom)), run_process({}, "validate", str(utf16))

    assert good.returncode == EXIT_OK
    assert good.stdout.decode().splitlines()[0] == f"{with_bom}: 2 account(s), valid"
    assert bad.returncode == EXIT_USAGE
    assert bad.stderr.decode() == (
        f"credit-monitor: {utf16}: the accounts file is UTF-16 (it starts with a UTF-16 byte-order mark);"
        " save it as UTF-8\n"
    )


def test_validate_of_a_file_whose_name_is_not_utf8_prints_it_escaped(tmp_path: Path) -> None:
    """A file name is bytes; Python hands undecodable ones over as lone surrogates."""
    path = os.fsencode(tmp_path) + b"/caf\xe9.toml"
    with open(path, "wb") as file:
        file.write(ACCOUNTS.encode())

    completed = run_process({}, "validate", os.fsdecode(path))

    assert completed.returncode == EXIT_OK
    assert completed.stdout.decode("utf-8").startswith(f"{tmp_path}/caf\\udce9.toml: 2 account(s), valid")


def shared_key_file(tmp_path: Path, count: int, url: str = "", different: bool = False) -> Path:
    """`count` accounts naming the key "team": lemlist's (one request for all), or, `different`, an
    API that takes each campaign in a POST body (as many requests as accounts), 20 / 2 s per key."""
    accounts = tmp_path / "accounts.toml"
    extra = f'url = "{url}"\n' if url else ""
    kind = 'provider = "lemlist"\n'
    if different:
        kind = (
            'provider = "http-json"\nurl = "https://api.campaigns.example/v1/credits"\nmethod = "POST"\n'
            'auth = { kind = "bearer" }\nbalance = "credits"\n'
            "rate_limit = { requests = 20, per_seconds = 2 }\n"
        )
    accounts.write_text(
        "".join(
            f'[[account]]\nid = "team-{n:03d}"\n{kind}warning = 100\nkey = "team"\n{extra}'
            + (f"body = {{ campaign = {n} }}\n" if different else "")
            + "\n"
            for n in range(count)
        )
    )
    return accounts


def test_validate_says_when_the_accounts_on_one_key_need_more_requests_than_its_window_allows(
    tmp_path: Path,
) -> None:
    """200 accounts naming one key, each its own request: valid, and validate says how they take turns."""
    buffer = io.BytesIO()
    out = io.TextIOWrapper(buffer, encoding="utf-8", errors="strict")

    assert main(["validate", str(shared_key_file(tmp_path, 200, different=True))], out=out) == EXIT_OK
    out.flush()
    text = buffer.getvalue().decode("utf-8")
    assert (
        "key 'team' (api.campaigns.example) is shared by 200 accounts making 200 different requests" in text
    )
    assert "allows 20 requests per 2 s per key, so a run makes 40 of them" in text
    assert "each account checked at least every 5 runs" in text
    assert "  accounts: team-000, team-001," in text


@pytest.mark.parametrize(
    ("count", "different"), [(40, True), (200, False)], ids=["fits", "one-request-for-all"]
)
def test_validate_says_nothing_of_a_shared_key_that_fits(tmp_path: Path, count: int, different: bool) -> None:
    """40 different requests fit in a run; 200 lemlist accounts on one key make one request."""
    out = io.StringIO()
    assert main(["validate", str(shared_key_file(tmp_path, count, different=different))], out=out) == EXIT_OK
    assert "shared by" not in out.getvalue()


def test_check_answers_the_accounts_on_one_key_with_one_request(
    cli_env: dict[str, str], lemlist_api: ApiSimulator, tmp_path: Path
) -> None:
    """30 lemlist accounts on one key, a 3 s deadline: their requests are the same, so one request
    answers all of them; none waits its turn."""
    accounts = shared_key_file(tmp_path, 30, lemlist_api.base_url)
    lemlist_api.valid_keys = {"lm-team-key-0123456789"}
    lemlist_api.balance = 5000
    env = {**cli_env, "TEAM_API_KEY": "lm-team-key-0123456789", "CHECK_DEADLINE_SECONDS": "3"}
    buffer = io.BytesIO()
    out = io.TextIOWrapper(buffer, encoding="utf-8", errors="strict")

    status = main(["check", "--accounts", str(accounts), "--json"], environ=env, out=out)

    out.flush()
    rows = json.loads(buffer.getvalue().decode("utf-8"))
    assert status == EXIT_OK
    assert [(row["status"], row["balance"]) for row in rows] == [("OK", 5000)] * 30
    assert len(lemlist_api.credit_requests) == 1


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


def test_validate_explains_a_wrong_http_json_form_naming_file_account_and_field(tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.toml"
    accounts.write_text(
        '[[account]]\nid = "acme-snov"\nprovider = "http-json"\nurl = "https://api.snov.io/v1/get-balance"\n'
        'token = { url = "http://api.snov.io/v1/oauth/access_token" }\nauth = { kind = "basic" }\n'
        'balance = "data.balance"\nrenewal = { date_path = "a", days_path = "b" }\ncurrency = "dollars"\n'
        "warning = 500\n\n"
        '[[account]]\nid = "acme-bc"\nprovider = "bettercontact"\nwarning = 500\n'
    )

    done = run_process({}, "validate", str(accounts))

    assert done.returncode == EXIT_USAGE
    snov, bettercontact = (
        f"credit-monitor: {accounts}: account 'acme-snov'",
        f"credit-monitor: {accounts}: account 'acme-bc'",
    )
    assert done.stderr.decode("utf-8", "strict").splitlines() == [
        f"{snov}: token.url: must be https:// (got 'http://'), so no key is sent in clear",
        f"{snov}: auth.kind: with a token exchange the access token is sent as the key: bearer, header or"
        " query (got basic)",
        f"{snov}: renewal: date_path or days_path, not both",
        f"{snov}: currency: must be an ISO 4217 code in capitals such as \"USD\" (got 'dollars')",
        f"{bettercontact}: email: is missing; BetterContact asks for it next to the key",
    ]


def test_validate_accepts_and_lists_the_new_vendors(tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.toml"
    accounts.write_text(
        '[[account]]\nid = "acme-twilio"\nprovider = "twilio"\nwarning = 20\n\n'
        '[[account]]\nid = "acme-icy"\nprovider = "icypeas"\nwarning = 500\nemail = "ops@acme.example"\n'
    )

    done = run_process({}, "validate", str(accounts))

    assert done.returncode == 0, done.stderr
    out = done.stdout.decode()
    assert "2 account(s), valid" in out
    assert "acme-twilio" in out
    assert "acme-icy" in out


def test_validate_says_what_to_write_instead_of_a_toml_mistake(tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.toml"
    accounts.write_text(ACCOUNTS.replace("warning = 500", "warning = 1,000"))

    done = run_process({}, "validate", str(accounts))

    assert done.returncode == EXIT_USAGE
    assert done.stderr.decode("utf-8", "strict") == (
        f"credit-monitor: {accounts}: not valid TOML: Expected newline or end of document after a statement"
        " (at line 5, column 12); write warning = 1000 or warning = 1_000: a number has no commas or spaces\n"
    )


MONEY_ACCOUNTS = """
[[account]]
id = "scraping"
provider = "brightdata"
warning = 20
critical = 5

[[account]]
id = "sms-eu"
provider = "vonage"
warning = 10.5

[[account]]
id = "voice"
provider = "twilio"
warning = 20

[[account]]
id = "acme-lemlist"
provider = "lemlist"
warning = 500
"""


def test_validate_lists_a_money_accounts_levels_in_its_currency(tmp_path: Path) -> None:
    """The levels of a vendor that reports money are amounts of its currency: in dollars, in euros,
    or, for a vendor whose reply names it, in that currency."""
    accounts = tmp_path / "accounts.toml"
    accounts.write_text(MONEY_ACCOUNTS)

    completed = run_process({}, "validate", str(accounts))

    assert completed.returncode == EXIT_OK, completed.stderr
    assert completed.stdout.splitlines()[1:] == [
        b"  scraping                 brightdata   warning $20.00 / critical $5.00",
        "  sms-eu                   vonage       warning €10.50".encode(),
        b"  voice                    twilio       warning 20 (in the reply's currency)",
        b"  acme-lemlist             lemlist      warning 500",
    ]


def test_check_shows_a_money_balance_and_its_level_in_its_currency(
    cli_env: dict[str, str], server_cert: trustme.LeafCert, tmp_path: Path
) -> None:
    key = "bd-key-5c8e1a7f3d9b"
    with VendorSimulator(BRIGHTDATA, server_cert, key, balance=12.4) as brightdata:
        accounts = tmp_path / "accounts.toml"
        accounts.write_text(
            '[[account]]\nid = "scraping"\nprovider = "brightdata"\nwarning = 20\n'
            f'url = "{brightdata.base_url}"\n'
        )
        env = {**cli_env, "SCRAPING_API_KEY": key}
        table = run_process(env, "check", "--accounts", str(accounts))
        listed = run_process(env, "check", "--accounts", str(accounts), "--json")

    assert table.returncode == listed.returncode == EXIT_LOW
    assert table.stdout.splitlines()[1].split() == [b"scraping", b"$12.40", b"$20.00", b"LOW"]
    [row] = json.loads(listed.stdout)
    assert (row["balance"], row["currency"], row["threshold"]) == (12.4, "USD", 20)


ROUTED = """
stack_topic = "unrouted"

[[account]]
id = "acme-lemlist"
provider = "lemlist"
warning = 500
labels = { client = "acme" }

[[account]]
id = "acme-fullenrich"
provider = "fullenrich"
warning = 1000
labels = { client = "acme" }

[[account]]
id = "globex-lemlist"
provider = "lemlist"
warning = 100
labels = { client = "globex" }

[[account]]
id = "agency-lemlist"
provider = "lemlist"
warning = 100

[[route]]
name = "acme"
match = { client = "acme" }
slack = "acme-slack"
pagerduty = "acme-pagerduty"
pagerduty_region = "eu"

[[route]]
match = { client = "globex" }
teams = ["globex-ops", "globex-finance"]
webhook = "globex-hook"
webhook_signing = "globex-hook-signing"
topic = "arn:aws:sns:eu-west-1:123456789012:globex-alerts"
"""
INITECH = """
[[route]]
match = { client = "initech", tier = "gold \\"vip\\"" }
slack = "initech-slack"
"""


def test_validate_lists_each_route_its_receivers_and_accounts_and_warns_of_one_matching_none(
    tmp_path: Path,
) -> None:
    accounts = tmp_path / "accounts.toml"
    accounts.write_text(ROUTED + INITECH)

    done = run_process({}, "validate", str(accounts))

    assert done.returncode == EXIT_OK, done.stderr
    assert (
        done.stdout
        == (
            f"{accounts}: 4 account(s), valid\n"
            "  acme-lemlist             lemlist      warning 500  client=acme\n"
            "  acme-fullenrich          fullenrich   warning 1,000  client=acme\n"
            "  globex-lemlist           lemlist      warning 100  client=globex\n"
            "  agency-lemlist           lemlist      warning 100\n"
            "3 route(s):\n"
            "  acme: 2 account(s): acme-lemlist, acme-fullenrich\n"
            "    slack acme-slack\n"
            "    pagerduty acme-pagerduty (EU region)\n"
            "  client=globex: 1 account(s): globex-lemlist\n"
            "    teams globex-ops\n"
            "    teams globex-finance\n"
            "    webhook globex-hook (signed with globex-hook-signing)\n"
            "    topic arn:aws:sns:eu-west-1:123456789012:globex-alerts\n"
            '  client=initech,tier=gold "vip": no account\n'
            "    slack initech-slack\n"
            'the stack\'s topic (stack_topic = "unrouted"): 1 account(s): agency-lemlist\n'
        ).encode()
    )
    warning = (
        "credit-monitor: warning: route 'client=initech,tier=gold \"vip\"' matches no account: no account"
        ' has the labels { client = "initech", tier = "gold \\"vip\\"" }, so its receivers hear nothing\n'
    )
    assert done.stderr == warning.encode()


@pytest.mark.parametrize(
    ("stack_topic", "heard"),
    [("all", 'the stack\'s topic: every account (stack_topic = "all")'), ("none", None)],
)
def test_validate_warns_of_accounts_no_receiver_hears_of(
    tmp_path: Path, stack_topic: str, heard: str | None
) -> None:
    accounts = tmp_path / "accounts.toml"
    accounts.write_text(ROUTED.replace('stack_topic = "unrouted"', f'stack_topic = "{stack_topic}"'))

    done = run_process({}, "validate", str(accounts))

    assert done.returncode == EXIT_OK
    last = done.stdout.decode("utf-8").splitlines()[-1]
    if heard is not None:
        assert last == heard
        assert done.stderr == b"", "every account reaches the stack's topic"
        return
    assert last == 'the stack\'s topic (stack_topic = "none"): no account'
    warning = (
        "credit-monitor: warning: 1 account(s) reach no receiver: no route matches them, and"
        ' stack_topic = "none" leaves them out of the stack\'s topic, so nobody hears of them:'
        " agency-lemlist\n"
    )
    assert done.stderr == warning.encode()


def test_validate_of_a_file_without_routes_says_nothing_of_routes(tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.toml"
    accounts.write_text(ACCOUNTS)

    done = run_process({}, "validate", str(accounts))

    assert b"route" not in done.stdout
    assert b"stack's topic" not in done.stdout
    assert done.stderr == b""
