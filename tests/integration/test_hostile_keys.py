"""Keys as people paste them (issue #7): surrounding whitespace is stripped; a stray character
inside fails that provider's check alone, before anything is sent; and no form of a key (raw,
escaped, URL-encoded, an HTTP Basic token) ever reaches a log line, the summary or a notification.
The `invoke` fixture checks every form of every test key after each invocation.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path

import pytest
import trustme

from credit_monitor import app
from credit_monitor.config import Account
from credit_monitor.keys import key_forms
from credit_monitor.providers import CATALOGUE, lemlist
from tests.support.aws import Stack, state_text
from tests.support.harness import SCHEDULED_EVENT, FakeLambdaContext, Invoke, SimClock
from tests.support.keys import (
    FULLENRICH_KEY,
    KEY_WITH_CONTROL_CHARACTER,
    KEY_WITH_LINE_BREAK,
    KEY_WITH_NON_ASCII,
    LEMLIST_KEY,
    LONG_KEY,
    assert_no_key_leaked,
)
from tests.support.simulators import ApiSimulator, Reply
from tests.support.vendors import CATALOGUE_VENDORS, VendorSimulator, run_check


@pytest.mark.parametrize(
    "secret_string",
    [
        json.dumps({"fullenrich": FULLENRICH_KEY + "\n", "lemlist": LEMLIST_KEY + "\r\n"}),
        json.dumps({"fullenrich": "  " + FULLENRICH_KEY + " ", "lemlist": "\t" + LEMLIST_KEY + "  "}),
    ],
    ids=["trailing-line-break", "surrounding-spaces"],
)
def test_whitespace_around_a_key_is_stripped(
    invoke: Invoke, fullenrich_api: ApiSimulator, lemlist_api: ApiSimulator
) -> None:
    run = invoke()

    assert run.check_failed() == {"fullenrich": 0, "lemlist": 0}
    assert fullenrich_api.credit_requests[0].headers["authorization"] == f"Bearer {FULLENRICH_KEY}"
    assert (
        lemlist_api.credit_requests[0].headers["authorization"]
        == lemlist.auth_headers(LEMLIST_KEY)["Authorization"]
    )


@pytest.mark.parametrize(
    "secret_string",
    ["\ufeff" + json.dumps({"fullenrich": FULLENRICH_KEY, "lemlist": LEMLIST_KEY})],
    ids=["utf8-byte-order-mark"],
)
def test_a_secret_saved_with_a_byte_order_mark_is_read(invoke: Invoke) -> None:
    """Notepad saves UTF-8 with a byte-order mark first: the secret is still JSON to the function."""
    run = invoke()

    assert run.check_failed() == {"fullenrich": 0, "lemlist": 0}


HOSTILE_SECRETS = [
    ("fullenrich", KEY_WITH_LINE_BREAK, "a line break"),
    ("lemlist", KEY_WITH_LINE_BREAK, "a line break"),
    ("lemlist", KEY_WITH_CONTROL_CHARACTER, "a control character"),
    ("lemlist", KEY_WITH_NON_ASCII, "a non-ASCII character"),
]


@pytest.mark.parametrize(
    ("secret_string", "broken", "problem"),
    [
        (json.dumps({"fullenrich": FULLENRICH_KEY, "lemlist": LEMLIST_KEY, provider: key}), provider, problem)
        for provider, key, problem in HOSTILE_SECRETS
    ],
    ids=[f"{provider}-{problem.split()[-2]}" for provider, _, problem in HOSTILE_SECRETS],
)
def test_a_key_with_a_stray_character_inside_fails_its_check_only_and_is_never_sent_or_shown(
    invoke: Invoke,
    stack: Stack,
    fullenrich_api: ApiSimulator,
    lemlist_api: ApiSimulator,
    broken: str,
    problem: str,
) -> None:
    apis = {"fullenrich": fullenrich_api, "lemlist": lemlist_api}
    [healthy] = set(apis) - {broken}

    runs = [invoke() for _ in range(3)]  # enough failures in a row for CHECK FAILING

    summary = runs[-1].summary()
    assert summary[broken]["failure"] == "secret"
    assert f"the {broken} API key contains {problem}" in summary[broken]["reason"]
    assert summary[healthy]["status"] == "OK"
    assert apis[broken].requests == []
    [alert] = stack.inbox.messages()
    assert alert["MessageAttributes"]["provider"]["Value"] == broken
    assert problem in alert["Message"]


def test_a_rotated_key_with_a_line_break_is_reported_as_such_after_a_401(
    invoke: Invoke, stack: Stack, lemlist_api: ApiSimulator
) -> None:
    assert invoke().check_failed()["lemlist"] == 0  # warm: the old key is now cached
    rotated = json.dumps({"fullenrich": FULLENRICH_KEY, "lemlist": KEY_WITH_LINE_BREAK})
    stack.secrets.put_secret_value(SecretId=stack.secret_id, SecretString=rotated)
    lemlist_api.valid_keys = {"lm_revoked_the_old_one"}

    run = invoke()

    assert run.summary()["lemlist"]["failure"] == "secret"
    assert "the lemlist API key contains a line break" in run.summary()["lemlist"]["reason"]
    assert len(lemlist_api.credit_requests) == 2  # ok, then 401 with the cached key; the new one unsent


@pytest.mark.parametrize("provider", ["fullenrich", "lemlist"])
def test_a_401_that_echoes_the_authorization_header_shows_no_form_of_the_key(
    invoke: Invoke, fullenrich_api: ApiSimulator, lemlist_api: ApiSimulator, provider: str
) -> None:
    api = {"fullenrich": fullenrich_api, "lemlist": lemlist_api}[provider]
    echo = Reply(
        401,
        "The authentication you supplied is incorrect: {authorization}",
        {"Content-Type": "text/plain"},
        action="echo_authorization",
    )
    api.then(echo, echo)

    run = invoke()  # the fixture looks for every form of every key, including the Basic token

    reason = run.summary()[provider]["reason"]
    assert run.summary()[provider]["failure"] == "auth"
    assert "The authentication you supplied is incorrect: " in reason
    assert "***" in reason


# --- issue 12: keys echoed escaped, in other encodings, or logged by an SDK ------------------------


def escaped(key: str, which: str) -> str:
    """`key` as a vendor's JSON encoder or a proxy may echo it: some characters escaped."""
    if which == "underscores":
        return key.replace("_", "\\u005f")
    if which == "every-character":
        return "".join(f"\\u{ord(c):04x}" for c in key)
    if which == "every-other-character":
        return "".join(f"\\u{ord(c):04X}" if i % 2 else c for i, c in enumerate(key))
    return "".join(f"%{ord(c):02x}" if i % 3 else c for i, c in enumerate(key))  # percent, mixed


ESCAPES = ["underscores", "every-character", "every-other-character", "percent-mixed"]


@pytest.mark.parametrize("which", ESCAPES)
def test_a_key_echoed_escaped_in_an_error_message_reaches_no_output_whole_or_cut(
    invoke: Invoke, stack: Stack, fullenrich_api: ApiSimulator, which: str
) -> None:
    """The message is cut at 160 characters in the middle of the echoed key: redaction of the raw
    body missed the escaped key, and the cut prefix of the decoded one reached every output."""
    body = '{{"code": "error.api.key", "message": "{} Unknown api key {}"}}'.format(
        "y" * 113,
        escaped(FULLENRICH_KEY, which),
    )
    fullenrich_api.then(*[Reply(401, body)] * 6)

    runs = [invoke() for _ in range(3)]  # each checks every output; the third sends CHECK FAILING

    reason = runs[-1].summary()["fullenrich"]["reason"]
    assert reason.startswith("HTTP 401, key rejected: error.api.key: yyy")
    assert reason.endswith("Unknown api key ***")
    [alert] = stack.inbox.messages()
    assert "Unknown api key ***" in alert["Message"]


@pytest.mark.parametrize("which", ESCAPES)
def test_a_key_echoed_escaped_in_a_plain_text_error_is_redacted(
    invoke: Invoke, lemlist_api: ApiSimulator, which: str
) -> None:
    echo = Reply(
        401, f"No user found for this API key: {escaped(LEMLIST_KEY, which)}", {"Content-Type": "text/plain"}
    )
    lemlist_api.then(echo, echo)

    run = invoke()

    assert run.summary()["lemlist"]["reason"] == "HTTP 401, key rejected: No user found for this API key: ***"


@pytest.mark.parametrize(
    ("encoding", "content_type"),
    [
        ("utf-16", "text/plain"),  # with a BOM
        ("utf-16-le", "text/plain"),  # without
        ("utf-16-be", "text/plain; charset=utf-16be"),
        ("utf-16-le", "text/plain; charset=utf-8"),  # a header that lies
        ("utf-32", "text/plain"),
        ("utf-8-sig", "text/plain"),
    ],
    ids=["utf-16-bom", "utf-16-le", "utf-16-be-charset", "utf-16-le-lying-charset", "utf-32", "utf-8-bom"],
)
def test_an_error_body_in_another_encoding_is_decoded_before_it_is_redacted_and_quoted(
    invoke: Invoke, lemlist_api: ApiSimulator, encoding: str, content_type: str
) -> None:
    body = f"No user found for this API key: {LEMLIST_KEY}".encode(encoding)
    echo = Reply(401, body, {"Content-Type": content_type})
    lemlist_api.then(echo, echo)

    run = invoke()  # the fixture also looks for the key with NULs between its characters

    assert run.summary()["lemlist"]["reason"] == "HTTP 401, key rejected: No user found for this API key: ***"


@pytest.mark.parametrize(
    ("separator", "content_type"),
    [
        (" ", "text/plain; charset=utf-16le"),  # UTF-8 bytes under a header that says UTF-16
        (" ", "text/plain; charset=cp037"),  # an EBCDIC code page
    ],
    ids=["utf-16-lying", "ebcdic"],
)
def test_a_charset_that_turns_the_keys_bytes_into_other_characters_is_not_trusted(
    invoke: Invoke, lemlist_api: ApiSimulator, separator: str, content_type: str
) -> None:
    """Decoded in the declared charset, the key's bytes became other characters: no 8 of the key's
    in a row for the redaction to find, and the key again for anyone who re-encodes them."""
    body = f"No user found for this API key:{separator}{LEMLIST_KEY}".encode()
    echo = Reply(401, body, {"Content-Type": content_type})
    lemlist_api.then(echo, echo)

    run = invoke()

    assert run.summary()["lemlist"]["reason"] == (
        f"HTTP 401, key rejected: No user found for this API key:{separator}***"
    )


@pytest.fixture
def trust_the_test_ca(ca_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))


@pytest.mark.usefixtures("trust_the_test_ca")
@pytest.mark.parametrize(
    ("vendor", "body"),
    [
        ("neverbounce", '{"status": "%s", "message": "bad"}'),
        ("neverbounce", '{{"status": "general_failure", "message": "{} {}"}}'.format("m" * 140, "%s")),
        ("clearout", '{"status": "%s"}'),
        ("zerobounce", '{{"error": "{} {}", "Credits": "0"}}'.format("z" * 140, "%s")),
    ],
    ids=["neverbounce-status", "neverbounce-message", "clearout-status", "zerobounce-error"],
)
@pytest.mark.parametrize("which", ESCAPES)
def test_a_provider_quoting_a_field_never_shows_an_escaped_key_or_a_cut_of_it(
    server_cert: trustme.LeafCert, vendor: str, body: str, which: str
) -> None:
    echo = body % escaped(LONG_KEY, which)
    with VendorSimulator(CATALOGUE_VENDORS[vendor], server_cert, LONG_KEY).then(Reply(200, echo)) as api:
        result = run_check(Account(vendor, CATALOGUE[vendor], api.base_url, threshold=100), LONG_KEY)

    assert result.error is not None
    assert_no_key_leaked(result.error.message)  # the ERROR line, the summary and CHECK FAILING quote it
    assert "***" in result.error.message


@pytest.mark.parametrize(
    "secret_string",
    [json.dumps({"fullenrich": 41234567890123456789, "lemlist": LEMLIST_KEY})],
    ids=["number"],
)
def test_a_key_stored_as_a_json_number_is_named_as_such_and_never_shown(invoke: Invoke) -> None:
    run = invoke()

    summary = run.summary()
    assert summary["fullenrich"]["failure"] == "secret"
    assert summary["fullenrich"]["reason"].startswith(
        "the key for fullenrich must be a JSON string, got a number"
    )
    assert summary["lemlist"]["status"] == "OK"
    assert "41234567890123456789" not in run.output


@pytest.mark.parametrize(
    "secret_string", [json.dumps({"fullenrich": FULLENRICH_KEY, "lemlist": "0"})], ids=["placeholder-0"]
)
def test_a_placeholder_fails_its_own_account_and_never_changes_anothers_reply(
    invoke: Invoke, fullenrich_api: ApiSimulator, lemlist_api: ApiSimulator
) -> None:
    fullenrich_api.balance = 50  # {"balance": 50}: "0" is in it, and must stay there

    run = invoke()

    summary = run.summary()
    assert summary["fullenrich"]["balance"] == 50
    assert summary["lemlist"]["failure"] == "secret"
    assert "the lemlist API key is a placeholder" in summary["lemlist"]["reason"]
    assert lemlist_api.requests == []


@contextmanager
def strict_utf8_output(root_level: int | None = None) -> Iterator[io.BytesIO]:
    """Everything the function writes, as Lambda's stdout receives it: bytes through a strict
    UTF-8 stream. With `root_level`, the root logger too, as Lambda's application log level sets it."""
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="utf-8", errors="strict", write_through=True)
    log_handler = app.logger.registered_handler
    previous = log_handler.setStream(stream)  # type: ignore[attr-defined]
    root, root_handler = logging.getLogger(), logging.StreamHandler(stream)
    level = root.level
    if root_level is not None:
        root.addHandler(root_handler)
        root.setLevel(root_level)
    try:
        with redirect_stdout(stream):
            yield raw
    finally:
        root.removeHandler(root_handler)
        root.setLevel(level)
        log_handler.setStream(previous)  # type: ignore[attr-defined]
        stream.detach()  # keep `raw` open for the test to read


@pytest.mark.usefixtures("function_env")
def test_at_debug_no_sdk_logger_writes_a_key(stack: Stack) -> None:
    """Lambda's application log level DEBUG puts the root logger at DEBUG: botocore would log
    GetSecretValue's reply, every key in it."""
    with strict_utf8_output(root_level=logging.DEBUG) as raw:
        result = app.lambda_handler(SCHEDULED_EVENT, FakeLambdaContext())  # type: ignore[arg-type]

    output = raw.getvalue().decode("utf-8")
    assert result["accounts"]["fullenrich"]["status"] == "OK"
    assert "credit check finished" in output
    assert_no_key_leaked(output)


@pytest.mark.usefixtures("function_env")
@pytest.mark.parametrize(
    "text", ["\ud800", "\udfff\x85", "\u2028"], ids=["surrogate", "low-surrogate-c1", "line-separator"]
)
def test_unencodable_vendor_text_never_loses_a_log_line(fullenrich_api: ApiSimulator, text: str) -> None:
    reply = Reply(401, json.dumps({"code": "error.api.key", "message": f"Unknown api key {text}"}))
    fullenrich_api.then(reply, reply)

    with strict_utf8_output() as raw:
        app.lambda_handler(SCHEDULED_EVENT, FakeLambdaContext())  # type: ignore[arg-type]

    lines = [json.loads(line) for line in raw.getvalue().decode("utf-8").splitlines() if line.startswith("{")]
    [error] = [line for line in lines if line.get("message", "").startswith("fullenrich check failed")]
    assert error["message"].startswith(
        "fullenrich check failed: HTTP 401, key rejected: error.api.key: Unknown"
    )
    [summary] = [line for line in lines if line.get("message") == "credit check finished"]
    assert summary["accounts"]["lemlist"]["status"] == "OK"


# --- tokens and two-part keys (issue 21) ----------------------------------------------------------------

SNOV_PAIR = "snov-client-3c5e7a9b1d2f:snov-secret-8b6d4f2a1c3e5a7b"
TWILIO_PAIR = "AC3c5e7a9b1d2f4a6c8e0b:tw-token-5a7c9e1b3d5f7a9c"


def assert_never_shown(secrets: list[str], *texts: str) -> None:
    """No form of a secret (a key, its parts, a token), nor any 8 of its characters in a row."""
    for secret in secrets:
        runs = {form[i : i + 8] for form in key_forms(secret) for i in range(max(1, len(form) - 7))}
        for text in texts:
            found = sorted(run for run in runs if run in text)
            assert not found, f"{found[:3]} of a secret in {text[:300]!r}"


@pytest.mark.usefixtures("trust_the_test_ca")
def test_a_token_exchange_refusal_that_echoes_the_form_never_shows_the_client_secret(
    server_cert: trustme.LeafCert,
) -> None:
    """The token request's body holds the client id and secret, URL-encoded: a refusal quoting it
    is redacted like a key."""
    refusal = Reply(400, "invalid_client for request: {body}", {"Content-Type": "text/plain"})
    with VendorSimulator(CATALOGUE_VENDORS["snovio"], server_cert, SNOV_PAIR) as api:
        api.token_script.append(refusal)
        result = run_check(Account("acme-snov", CATALOGUE["snovio"], api.base_url, threshold=100), SNOV_PAIR)

    assert result.error is not None
    assert result.error.message.startswith(
        "the token exchange answered HTTP 400: invalid_client for request:"
    )
    assert "***" in result.error.message
    assert_never_shown([SNOV_PAIR], result.error.message)


@pytest.mark.usefixtures("trust_the_test_ca")
@pytest.mark.parametrize(
    "echo",
    [
        Reply(401, {"success": False, "message": "token {token} is not valid"}),
        Reply(200, {"success": False, "message": "token {key} expired"}),
        Reply(403, "Forbidden for Bearer {token}", {"Content-Type": "text/plain"}),
        Reply(200, {"success": True, "data": {"balance": "{token}"}}),
    ],
    ids=["401-json", "200-error", "403-text", "200-token-as-balance"],
)
def test_a_balance_reply_that_echoes_the_access_token_never_shows_it(
    server_cert: trustme.LeafCert, echo: Reply
) -> None:
    with VendorSimulator(CATALOGUE_VENDORS["snovio"], server_cert, SNOV_PAIR) as api:
        api.then(echo, echo, echo)
        result = run_check(Account("acme-snov", CATALOGUE["snovio"], api.base_url, threshold=100), SNOV_PAIR)
        issued = list(api.issued)

    assert result.error is not None
    assert issued, "a token was bought"
    assert_never_shown([SNOV_PAIR, *issued], result.error.message)


@pytest.mark.usefixtures("trust_the_test_ca")
def test_a_twilio_401_that_echoes_the_sid_and_token_never_shows_either_part(
    server_cert: trustme.LeafCert,
) -> None:
    echo = Reply(401, "no account {key} at {request_target}", {"Content-Type": "text/plain"})
    with VendorSimulator(CATALOGUE_VENDORS["twilio"], server_cert, TWILIO_PAIR) as api:
        api.then(echo, echo)
        result = run_check(
            Account("acme-twilio", CATALOGUE["twilio"], api.base_url, threshold=100), TWILIO_PAIR
        )

    assert result.error is not None
    sid, _, token = TWILIO_PAIR.partition(":")
    assert_never_shown([TWILIO_PAIR, sid, token], result.error.message)


@pytest.mark.parametrize("secret_string", [json.dumps({"acme-snov": SNOV_PAIR, "acme-twilio": TWILIO_PAIR})])
def test_through_the_handler_no_token_and_no_part_of_a_pair_reaches_logs_state_or_messages(
    invoke: Invoke,
    stack: Stack,
    server_cert: trustme.LeafCert,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Both vendors fail every check, echoing what they were sent, until CHECK FAILING goes out; the
    function's output, the state table and every message are searched for every form of the two
    pairs, of their parts and of every token bought."""
    with (
        VendorSimulator(CATALOGUE_VENDORS["snovio"], server_cert, SNOV_PAIR) as snov,
        VendorSimulator(CATALOGUE_VENDORS["twilio"], server_cert, TWILIO_PAIR) as twilio,
    ):
        snov.then(*[Reply(401, {"success": False, "message": "token {token} refused"})] * 12)
        twilio.then(*[Reply(401, "no account {key}", {"Content-Type": "text/plain"})] * 12)
        path = tmp_path / "accounts.toml"
        path.write_text(
            f'[[account]]\nid = "acme-snov"\nprovider = "snovio"\nwarning = 100\nurl = "{snov.base_url}"\n\n'
            f'[[account]]\nid = "acme-twilio"\nprovider = "twilio"\nwarning = 5\nurl = "{twilio.base_url}"\n'
        )
        monkeypatch.setenv("ACCOUNTS_FILE", str(path))
        app.runtime.cache_clear()
        clock = SimClock()
        outputs = []
        for _ in range(3):
            run = invoke(clock)
            assert run.error is None, run.error
            outputs.append(run.output)
            clock.advance(1)
        issued = list(snov.issued)

    assert {entry["failure"] for entry in run.summary().values()} == {"auth"}
    messages = json.dumps(stack.inbox.messages())
    assert "CHECK FAILING" in messages
    items = stack.dynamodb.scan(TableName=stack.table_name)["Items"]
    states = [state_text(item) for item in items if "state" in item]
    sid, _, token = TWILIO_PAIR.partition(":")
    client_id, _, client_secret = SNOV_PAIR.partition(":")
    secrets = [SNOV_PAIR, TWILIO_PAIR, sid, token, client_id, client_secret, *issued]
    assert issued
    assert_never_shown(secrets, *outputs, messages, *states)
