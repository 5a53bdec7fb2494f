"""The accounts file: what a valid one gives, and an error naming file, account and field for each
way to get it wrong."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from credit_monitor.accounts_file import MAX_ACCOUNTS, load_accounts
from credit_monitor.config import ConfigError, load_check_settings
from credit_monitor.providers import fullenrich, lemlist

TWO_LEMLIST_TEAMS = """
[[account]]
id = "acme-lemlist"
provider = "lemlist"
warning = 500
critical = 100
labels = { client = "acme", owner = "sales-emea" }

[[account]]
id = "globex-lemlist"
provider = "lemlist"
warning = 2000
balance_metric = false

[[account]]
id = "acme-fullenrich"
provider = "fullenrich"
warning = 1000
url = "https://eu.fullenrich.example/api/v2/"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "accounts.toml"
    path.write_text(text)
    return path


def test_two_accounts_of_one_provider_have_their_own_thresholds_and_labels(tmp_path: Path) -> None:
    acme, globex, fe = load_accounts(write(tmp_path, TWO_LEMLIST_TEAMS))

    assert (acme.id, acme.provider, acme.threshold, acme.critical_threshold) == (
        "acme-lemlist",
        lemlist.PROVIDER,
        500,
        100,
    )
    assert acme.labels == {"client": "acme", "owner": "sales-emea"}
    assert acme.api_url == lemlist.PROVIDER.default_api_url
    assert acme.display_name == "lemlist (acme-lemlist)"
    assert (globex.provider, globex.threshold, globex.balance_metric) == (lemlist.PROVIDER, 2000, False)
    assert (fe.provider, fe.api_url) == (fullenrich.PROVIDER, "https://eu.fullenrich.example/api/v2")


def test_the_environment_points_at_the_file_relative_to_the_deployed_package(tmp_path: Path) -> None:
    write(tmp_path, TWO_LEMLIST_TEAMS)
    env = {"ACCOUNTS_FILE": "accounts.toml", "LAMBDA_TASK_ROOT": str(tmp_path)}

    settings = load_check_settings(env)

    assert [a.id for a in settings.accounts] == ["acme-lemlist", "globex-lemlist", "acme-fullenrich"]


def test_without_a_file_the_two_zero_config_accounts_come_from_the_environment() -> None:
    settings = load_check_settings({"FULLENRICH_THRESHOLD": "1000", "LEMLIST_THRESHOLD": "100"})

    assert [(a.id, a.provider.name, a.threshold) for a in settings.accounts] == [
        ("fullenrich", "fullenrich", 1000),
        ("lemlist", "lemlist", 100),
    ]


ONE = '[[account]]\nid = "acme"\nprovider = "lemlist"\nwarning = 500\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[account]\n", "accounts.toml: not valid TOML"),
        ("title = 'x'\n" + ONE, "accounts.toml: unknown top-level key 'title'"),
        ("", "accounts.toml: no [[account]] tables"),
        (
            '[[account]]\nid = "Acme Corp"\nprovider = "lemlist"\nwarning = 1\n',
            "account #1: id: must be a slug",
        ),
        (ONE + ONE, "account 'acme': id: 'acme' is declared twice"),
        (ONE.replace('"lemlist"', '"lemlst"'), "account 'acme': provider: must be one of"),
        (ONE.replace("warning = 500\n", ""), "account 'acme': warning: is missing"),
        (
            ONE.replace("500", '"500"'),
            "account 'acme': warning: must be a number of credits, not the string \"500\"; drop the quotes:"
            " warning = 500",
        ),
        (ONE.replace("500", "[500]"), "account 'acme': warning: must be a number of credits, got array"),
        (ONE.replace("500", "1e13"), "account 'acme': warning: must be from 0 to 1,000,000,000,000"),
        (ONE + "critical = 500\n", "account 'acme': critical: (500) must be below warning (500)"),
        (ONE + 'labels = "acme"\n', "account 'acme': labels: must be a table"),
        (ONE + "labels = { kind = 'x' }\n", "account 'acme': labels.kind: a label name is"),
        (ONE + "labels = { client = '' }\n", "account 'acme': labels.client: must be a non-empty string"),
        (
            ONE + "labels = { a = '1', b = '2', c = '3', d = '4', e = '5', f = '6' }\n",
            "account 'acme': labels: at most 5",
        ),
        (ONE + "balance_metric = 'no'\n", "account 'acme': balance_metric: must be true or false"),
        (ONE + "key = 'lm_9f8e7d6c5b4a'\n", "account 'acme': key: must name the secret entry"),
        (ONE + "key = 3\n", "account 'acme': key: must name the secret entry"),
        (ONE + "path = '/x'\n", "account 'acme': path: unknown field for the built-in provider 'lemlist'"),
        (
            ONE + "labls = { a = 'b' }\n",
            "account 'acme': labls: unknown field for the built-in provider 'lemlist'; did you mean labels?",
        ),
        (ONE.replace('"lemlist"', '"lemlst"'), "provider: must be one of apify, bettercontact, bouncer"),
        (ONE.replace('"lemlist"', '"lemlst"'), "got 'lemlst'; did you mean lemlist?"),
        ("acount = []\n", "accounts.toml: unknown top-level key 'acount'; did you mean account?"),
        (ONE + "url = 'http://api.lemlist.com'\n", "account 'acme': url: must be an https:// URL"),
        (ONE + "url = 'https://h:99999/v2'\n", "account 'acme': url: is not a valid URL"),
        (ONE + "url = 'https://[::1/v2'\n", "account 'acme': url: is not a valid URL"),
        (
            ONE + "url = 'https://h/v2\\r\\nX-Injected: y'\n",
            "account 'acme': url: must be a URL of printable",
        ),
        (ONE.replace('"acme"', '"acme\\n"'), "account #1: id: must be a slug"),
        (ONE + 'labels = { "client\\n" = "acme" }\n', "account 'acme': labels.client\n: a label name is"),
        (
            ONE + "labels = { client = ' acme ' }\n",
            "account 'acme': labels.client: must be a non-empty string",
        ),
        (
            ONE + 'labels = { client = "a\\u0000b" }\n',
            "account 'acme': labels.client: must be a non-empty string",
        ),
        ("warning = " + "9" * 5000 + "\n", "accounts.toml: not valid TOML: a number has too many digits"),
        (
            "x = " + "[" * 50_000 + "]" * 50_000 + "\n",
            "accounts.toml: not valid TOML: arrays or tables nested",
        ),
        (ONE + "url = 'https://u:p@api.lemlist.com'\n", "account 'acme': url: must be a plain base URL"),
        (
            "\n".join(ONE.replace('"acme"', f'"a{n}"') for n in range(MAX_ACCOUNTS + 1)),
            f"accounts.toml: {MAX_ACCOUNTS + 1} accounts; at most {MAX_ACCOUNTS}",
        ),
    ],
)
def test_each_mistake_is_refused_naming_the_file_the_account_and_the_field(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_accounts(write(tmp_path, text))


def test_a_missing_file_is_an_error_not_the_zero_config_pair(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=re.escape("accounts.toml: cannot read the accounts file")):
        load_check_settings({"ACCOUNTS_FILE": str(tmp_path / "accounts.toml")})


def test_a_refused_url_is_never_repeated_since_a_key_may_be_pasted_in_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        load_accounts(write(tmp_path, ONE + "url = 'http://api.zerobounce.net/v2?api_key=SECRETKEY123456'\n"))
    assert "SECRETKEY123456" not in str(refused.value)


def test_a_utf8_byte_order_mark_is_accepted_from_the_file_and_the_environment(tmp_path: Path) -> None:
    """Windows editors save UTF-8 "with BOM"; the mark is an encoding detail, not TOML."""
    path = tmp_path / "accounts.toml"
    path.write_bytes(b"\xef\xbb\xbf" + TWO_LEMLIST_TEAMS.encode())

    assert load_accounts(path)[0].id == "acme-lemlist"
    assert len(load_check_settings({"ACCOUNTS_FILE": str(path)}).accounts) == 3


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (TWO_LEMLIST_TEAMS.encode("utf-16"), "is UTF-16 (it starts with a UTF-16 byte-order mark)"),
        (TWO_LEMLIST_TEAMS.encode("utf-16-le"), "contains NUL bytes: UTF-16 or a binary file"),
        (TWO_LEMLIST_TEAMS.encode("utf-32"), "is UTF-32 (it starts with a UTF-32 byte-order mark)"),
        (b"# caf\xe9\n" + TWO_LEMLIST_TEAMS.encode(), "is not UTF-8: byte 0xe9 at line 1"),
        (TWO_LEMLIST_TEAMS.encode() + b"\n# \xff", "is not UTF-8: byte 0xff at line 21"),
    ],
    ids=["utf-16", "utf-16-no-bom", "utf-32", "latin-1", "late-bad-byte"],
)
def test_a_file_not_in_utf8_is_refused_naming_the_file_and_the_encoding(
    tmp_path: Path, data: bytes, problem: str
) -> None:
    path = tmp_path / "accounts.toml"
    path.write_bytes(data)

    with pytest.raises(ConfigError) as refused:
        load_accounts(path)

    assert str(refused.value).startswith(f"{path}: the accounts file {problem}")
    assert "save it as UTF-8" in str(refused.value)


def test_accounts_name_the_secret_entry_of_a_shared_key(tmp_path: Path) -> None:
    """`key` names the entry the key is read from (in the CLI, <KEY>_API_KEY); default the id."""
    path = write(
        tmp_path,
        TWO_LEMLIST_TEAMS.replace("warning = 2000", 'warning = 2000\nkey = "acme-lemlist"'),
    )
    acme, globex, _ = load_accounts(path)
    assert (acme.secret_entry, globex.secret_entry) == ("acme-lemlist", "acme-lemlist")
    env = {"ACCOUNTS_FILE": str(path), "ACME_LEMLIST_API_KEY": "lm-team-key-123456"}
    from credit_monitor.config import read_local_api_keys

    keys = read_local_api_keys(load_check_settings(env).accounts, env)
    assert keys == {"acme-lemlist": "lm-team-key-123456"}


THREE_MISTAKES = """
[[account]]
id = "acme"
provider = "lemlist"
warnign = 500

[[account]]
id = "globex"
provider = "lemlist"
warning = "500"

[[account]]
id = "initech"
provider = "lemlst"
warning = 100
"""


def test_a_file_with_three_mistakes_gets_three_errors_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, THREE_MISTAKES)

    with pytest.raises(ConfigError) as raised:
        load_accounts(path)

    assert raised.value.problems == (
        f"{path}: account 'acme': warnign: unknown field for the built-in provider 'lemlist'; did you mean"
        " warning?",
        f"{path}: account 'globex': warning: must be a number of credits, not the string \"500\"; drop the"
        " quotes: warning = 500",
        f"{path}: account 'initech': provider: must be one of apify, bettercontact, bouncer, brevo,"
        " brightdata, clearout, dropcontact, emailable, findymail, fullenrich, hunter, icypeas, leadmagic,"
        " lemlist, lusha, millionverifier, neverbounce, prospeo, scrapingbee, sendgrid, serpapi, snovio,"
        " twilio, vonage, zerobounce, http-json, got 'lemlst'; did you mean lemlist?"
        ' For any other API that answers JSON, write provider = "http-json" (see docs/vendors.md)',
    )
    assert str(raised.value) == "\n".join(raised.value.problems)


def test_each_field_of_one_account_is_reported_not_only_the_first(tmp_path: Path) -> None:
    text = ONE.replace('"acme"', '"Acme"') + "critical = 'x'\nlabels = 3\nbalance_metric = 1\nkey = 2\n"

    with pytest.raises(ConfigError) as raised:
        load_accounts(write(tmp_path, text))

    fields = [problem.split(": ")[2] for problem in raised.value.problems]
    assert fields == ["id", "critical", "balance_metric", "key", "labels"]
    assert all(": account #1: " in problem for problem in raised.value.problems)


def test_an_id_declared_twice_does_not_hide_a_later_accounts_mistake(tmp_path: Path) -> None:
    text = ONE + ONE + ONE.replace('"acme"', '"b"').replace("500", "-1")

    with pytest.raises(ConfigError) as raised:
        load_accounts(write(tmp_path, text))

    assert len(raised.value.problems) == 2
    assert "'acme' is declared twice" in raised.value.problems[0]
    assert "account 'b': warning: must be from 0" in raised.value.problems[1]


def test_each_http_json_field_at_fault_is_reported_with_the_account(tmp_path: Path) -> None:
    text = (
        '[[account]]\nid = "acme-api"\nprovider = "http-json"\nwarning = 5\nurl = "http://api.example.com"\n'
        'auth = { kind = "bearer" }\nbalance = ""\nwarnings = 3\n'
    )

    with pytest.raises(ConfigError) as raised:
        load_accounts(write(tmp_path, text))

    assert [problem.split(": ")[2] for problem in raised.value.problems] == ["warnings", "url", "balance"]
    assert "did you mean warning?" in raised.value.problems[0]


def test_a_vendor_that_asks_for_its_owners_email_gets_it_from_the_account(tmp_path: Path) -> None:
    text = (
        '[[account]]\nid = "acme-bc"\nprovider = "bettercontact"\nwarning = 500\nemail = "ops@acme.example"\n'
        '[[account]]\nid = "acme-icy"\nprovider = "icypeas"\nwarning = 500\nemail = "owner@acme.example"\n'
    )
    bettercontact, icypeas = load_accounts(write(tmp_path, text))

    assert bettercontact.provider.build_request(bettercontact.api_url, "k").url.endswith(
        "/account?email=ops%40acme.example"
    )
    body = icypeas.provider.build_request(icypeas.api_url, "k").body
    assert body == b'{"email": "owner@acme.example"}'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[[account]]\nid = "bc"\nprovider = "bettercontact"\nwarning = 5\n',
            "account 'bc': email: is missing; BetterContact asks for it next to the key",
        ),
        (
            '[[account]]\nid = "bc"\nprovider = "bettercontact"\nwarning = 5\nemail = "bc_4f1c9a7e2b8d"\n',
            "account 'bc': email: must be the e-mail address of the vendor account's owner",
        ),
        (
            '[[account]]\nid = "bc"\nprovider = "icypeas"\nwarning = 5\nemail = ["a@b.c"]\n',
            "account 'bc': email: must be the e-mail address",
        ),
        (
            '[[account]]\nid = "lm"\nprovider = "lemlist"\nwarning = 5\nemail = "a@b.c"\n',
            "account 'lm': email: unknown field for the built-in provider 'lemlist'",
        ),
    ],
)
def test_a_missing_or_wrong_owner_email_is_named(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_accounts(write(tmp_path, text))


def test_an_http_json_account_declares_every_new_form(tmp_path: Path) -> None:
    text = """
[[account]]
id = "acme-snov"
provider = "http-json"
url = "https://api.snov.io/v1/get-balance"
token = { url = "https://api.snov.io/v1/oauth/access_token" }
auth = { kind = "bearer" }
balance = "data.balance"
numeric_string = true
error = { path = "success", ok = true, message = "message" }
renewal = { days_path = "data.limit_resets_in" }
rate_limit = { requests = 60, per_seconds = 60 }
warning = 500

[[account]]
id = "acme-twilio"
provider = "http-json"
url = "https://api.twilio.com/2010-04-01/Accounts/{id}/Balance.json"
auth = { kind = "basic" }
balance = "balance"
numeric_string = true
currency_path = "currency"
warning = 20
"""
    snov, twilio = load_accounts(write(tmp_path, text))
    assert snov.provider.token is not None
    assert (snov.provider.two_part_key, twilio.provider.two_part_key) == (True, True)
    assert twilio.provider.build_request(twilio.api_url, "AC1:t").url == (
        "https://api.twilio.com/2010-04-01/Accounts/AC1/Balance.json"
    )


def test_an_http_json_mistake_in_a_new_form_names_the_file_the_account_and_the_field(tmp_path: Path) -> None:
    text = (
        '[[account]]\nid = "acme"\nprovider = "http-json"\nurl = "https://a.example/b"\n'
        'auth = { kind = "bearer" }\nbalance = { limit = "max" }\nwarning = 5\n'
    )
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_accounts(path)
    assert raised.value.problems == (f"{path}: account 'acme': balance.used: required",)


@pytest.mark.parametrize(
    ("line", "advice"),
    [
        ("warning = 1,000", "write warning = 1000 or warning = 1_000: a number has no commas or spaces"),
        ("critical = 2 500", "write critical = 2500 or critical = 2_500: a number has no commas or spaces"),
        ("warning = 500 credits", "write warning = 500: a number stands alone (a comment starts with #)"),
        ("warning = 500credits", "write warning = 500: a number stands alone (a comment starts with #)"),
        ("provider = lemlist", 'write provider = "lemlist": text goes in double quotes'),
        ("labels = { client = acme }", 'write client = "acme": text goes in double quotes'),
        ("id = \u201cacme\u201d", 'write id = "acme" with straight quotes, not \u201c \u201d'),
    ],
    ids=[
        "thousands-comma",
        "thousands-space",
        "unit-after-number",
        "unit-glued-to-number",
        "bare-word",
        "bare-word-in-table",
        "curly",
    ],
)
def test_a_toml_mistake_says_what_to_write_instead(tmp_path: Path, line: str, advice: str) -> None:
    text = (
        ONE.replace("warning = 500\n", "warning = 500\n" if not line.startswith("warning") else "")
        + line
        + "\n"
    )
    path = write(tmp_path, text)

    with pytest.raises(ConfigError) as raised:
        load_accounts(path)

    [problem] = raised.value.problems
    assert problem.startswith(f"{path}: not valid TOML: ")
    assert problem.endswith(f"; {advice}"), problem


def test_an_account_table_declared_with_single_brackets_says_to_use_double_ones(tmp_path: Path) -> None:
    path = write(tmp_path, '[account]\nid = "a"\n[account]\nid = "b"\n')

    with pytest.raises(ConfigError) as raised:
        load_accounts(path)

    assert str(raised.value).endswith("; start each account with [[account]] (two brackets), not [account]")


def test_an_unknown_provider_points_to_http_json(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_accounts(write(tmp_path, ONE.replace('"lemlist"', '"acme-api"')))

    assert str(raised.value).endswith(
        "got 'acme-api'. For any other API that answers JSON, write provider = \"http-json\""
        " (see docs/vendors.md)"
    )
