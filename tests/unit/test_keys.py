"""Where keys come from: both sources strip them, and the tests' leak check sees every form."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import quote, urlencode

import pytest
from aws_lambda_powertools.utilities.parameters import SecretsProvider

from credit_monitor.adapters.secrets import EnvironmentKeySource, SecretsManagerKeySource
from credit_monitor.keys import (
    MIN_KEY_CHARS,
    Redactor,
    clean_key,
    key_forms,
    parse_api_keys,
    redactor_for,
    split_pair,
)
from credit_monitor.model import CheckError, FailureKind
from credit_monitor.providers import lemlist
from tests.support.keys import ALL_KEYS, KEY_WITH_LINE_BREAK, LEMLIST_KEY, assert_no_key_leaked


class StoredSecret:
    """Stands in for Powertools' SecretsProvider: what GetSecretValue would return."""

    def __init__(self, secret_string: str) -> None:
        self.secret_string = secret_string

    def get(self, name: str, **options: Any) -> str:
        return self.secret_string


def test_the_lambda_strips_keys_read_from_the_secret() -> None:
    secret = StoredSecret(json.dumps({"fullenrich": " fe_1\n", "lemlist": "lm_2\r\n", "blank": " "}))
    source = SecretsManagerKeySource("credit-monitor/api-keys", cast(SecretsProvider, secret))
    assert source.api_keys() == {"fullenrich": "fe_1", "lemlist": "lm_2"}


def test_the_cli_strips_keys_from_the_environment() -> None:
    source = EnvironmentKeySource({"fullenrich": "fe_1\n", "lemlist": "\tlm_2 ", "other": ""})
    assert source.api_keys() == {"fullenrich": "fe_1", "lemlist": "lm_2"}


@pytest.mark.parametrize(
    "leaked",
    [
        LEMLIST_KEY,
        lemlist.auth_headers(LEMLIST_KEY)["Authorization"],
        repr(KEY_WITH_LINE_BREAK.encode()),
        json.dumps(KEY_WITH_LINE_BREAK),
        KEY_WITH_LINE_BREAK.split("\n")[1],
    ],
    ids=["raw", "basic-token", "bytes-repr", "json", "fragment"],
)
def test_the_leak_check_finds_a_key_in_any_form(leaked: str) -> None:
    with pytest.raises(AssertionError, match="leaked into output") as caught:
        assert_no_key_leaked(f"log line: {leaked}.")
    # The failure message must not repeat what it found.
    assert not any(form in str(caught.value) for key in ALL_KEYS.values() for form in key_forms(key))


def test_the_leak_check_passes_clean_output() -> None:
    assert_no_key_leaked("lemlist check failed: HTTP 401, key rejected: Basic ***")


def test_percent_encoding_in_lower_case_is_a_key_form_too() -> None:
    """Percent-encoding is case-insensitive; a server may echo %2f where we sent %2F."""
    key = "qk_7f/3a+9c=2e&b4?d%5E"
    assert "qk_7f%2f3a%2b9c%3d2e%26b4%3fd%255E" in key_forms(key)  # the key's own "%5E" is text


# --- what counts as a key -------------------------------------------------------------------------


PLACEHOLDER_VALUES = ["0", "null", "None", "changeme", "xxx", "<key>", "TODO", "<your lemlist key>"]
PLACEHOLDER_VALUES += ["${LEMLIST_KEY}", "YOUR_API_KEY_HERE", "x" * 24, "0" * 16, "PLACEHOLDER"]
PLACEHOLDER_VALUES += ["{{ lemlist_api_key }}", "%(LEMLIST_KEY)s"]


@pytest.mark.parametrize("value", PLACEHOLDER_VALUES)
def test_a_placeholder_is_refused_naming_the_account_never_the_value(value: str) -> None:
    with pytest.raises(CheckError) as caught:
        clean_key("acme-lemlist", value, "add it to the secret")
    assert caught.value.kind is FailureKind.SECRET
    assert caught.value.message.startswith("the acme-lemlist API key is a placeholder, not a key")
    assert value not in caught.value.message.replace("acme-lemlist", "")


@pytest.mark.parametrize("value", ["k3y", "a1b2c3d4e5f"])
def test_a_value_shorter_than_a_key_is_refused(value: str) -> None:
    with pytest.raises(CheckError) as caught:
        clean_key("acme-lemlist", value, "hint")
    assert caught.value.kind is FailureKind.SECRET
    assert f"the acme-lemlist API key is shorter than {MIN_KEY_CHARS} characters" in caught.value.message
    assert value not in caught.value.message


def test_a_key_as_short_as_the_minimum_is_a_key() -> None:
    assert clean_key("acme", "a1b2c3d4e5f6", "hint") == "a1b2c3d4e5f6"
    assert Redactor(["a1b2c3d4e5f6"]).redact("sent a1b2c3d4e5...") == "sent ***..."  # a cut one too


@pytest.mark.parametrize(
    "value",
    ["XK7Q2M9ZP4R8", "<k3y-7f2a9c1e", "k3y-7f2a9c1e>", "0f0f0f0f0f0f0f0f"],
    ids=["upper-case-x", "starts-with-angle", "ends-with-angle", "two-distinct-characters"],
)
def test_a_key_is_not_refused_for_characters_a_placeholder_also_has(value: str) -> None:
    assert clean_key("acme", value, "hint") == value


@pytest.mark.parametrize(
    ("secret_string", "message"),
    [
        (None, "secret has no SecretString (binary secrets are not supported)"),
        (
            "lm_7d2e5b9c1a3f4e8b6c0d",
            'secret is not JSON; expected {"fullenrich": "<key>", "lemlist": "<key>"}',
        ),
    ],
    ids=["binary", "not-json"],
)
def test_a_secret_of_the_wrong_shape_says_what_is_expected(secret_string: str | None, message: str) -> None:
    with pytest.raises(CheckError) as caught:
        parse_api_keys(secret_string)
    assert (caught.value.kind, caught.value.message) == (FailureKind.SECRET, message)


@pytest.mark.parametrize(
    ("value", "json_type"),
    [("12345678901234567890", "number"), ("true", "boolean"), ("null", "null"), ('{"k": "v"}', "object")],
)
def test_a_key_stored_as_another_json_type_is_named_as_such_not_as_missing(
    value: str, json_type: str
) -> None:
    keys = parse_api_keys(f'{{"acme-lemlist": {value}, "other": "lm_7d2e5b9c1a3f4e8b6c0d"}}')

    with pytest.raises(CheckError) as caught:
        clean_key("acme-lemlist", keys["acme-lemlist"], "hint")

    assert caught.value.kind is FailureKind.SECRET
    assert caught.value.message.startswith(
        f"the key for acme-lemlist must be a JSON string, got a {json_type}"
    )
    assert value not in caught.value.message or value == json_type
    assert keys["other"] == "lm_7d2e5b9c1a3f4e8b6c0d"


@pytest.mark.parametrize(
    "secret", ['{"acme-lemlist": 1' + "0" * 5000 + "}", "[" * 100_000, '{"a": ' * 100_000]
)
def test_a_secret_json_cannot_read_is_a_secret_error_that_says_so(secret: str) -> None:
    """json.loads raises ValueError for an integer of 4,301 digits and RecursionError for deep
    nesting: each is the secret's problem, said as such, not "unreadable keys" for every account."""
    with pytest.raises(CheckError) as caught:
        parse_api_keys(secret)

    assert caught.value.kind is FailureKind.SECRET
    assert "secret" in caught.value.message


# --- redaction ------------------------------------------------------------------------------------

KEY = "fe_live_4f1c9a7e2b8d4c06a1e3"


ESCAPED_CHARACTERS: dict[str, Callable[[int, str], bool]] = {
    "underscores": lambda i, c: c == "_",
    "every-character": lambda i, c: True,
    "every-other-character": lambda i, c: i % 2 == 0,
    "upper-case-hex": lambda i, c: i % 3 == 0,
}


def json_escaped(key: str, which: str) -> str:
    """`key` as a JSON encoder may write it: some characters as \\uXXXX."""
    escape = ESCAPED_CHARACTERS[which]
    hex_case = str.upper if which == "upper-case-hex" else str.lower
    return "".join(f"\\u{hex_case(format(ord(c), '04x'))}" if escape(i, c) else c for i, c in enumerate(key))


@pytest.mark.parametrize(
    "which", ["underscores", "every-character", "every-other-character", "upper-case-hex"]
)
def test_a_key_escaped_any_way_is_redacted_whole(which: str) -> None:
    text = f"unknown key {json_escaped(KEY, which)}, try again"
    assert redactor_for(KEY).redact(text) == "unknown key ***, try again"


@pytest.mark.parametrize(
    "written",
    [
        KEY[:20],  # a quote cut in the middle of the key
        KEY[5:13],  # any run of 8 of its characters
        "\x00".join(KEY),  # UTF-16 read as UTF-8
        "\u200b".join(KEY),  # zero-width spaces between its characters
        " ".join(KEY),
        KEY.upper(),
        "".join(f"%{ord(c):02X}" for c in KEY),
        "".join(f"&#{ord(c)};" for c in KEY),
        "fe\\u005flive%5F" + KEY[8:],
    ],
    ids=[
        "cut-prefix",
        "inner-run",
        "nul-separated",
        "zero-width-separated",
        "space-separated",
        "upper-case",
        "percent",
        "html",
        "mixed",
    ],
)
def test_a_fragment_or_a_disguised_key_is_redacted(written: str) -> None:
    redacted = redactor_for(KEY).redact(f"[{written}]")
    assert redacted == "[***]"
    assert_no_key_leaked(redacted)


@pytest.mark.parametrize("prefix", ['{"k":"', '{"id":"', '{"key":"'], ids=["0", "1", "2"])
def test_a_key_inside_a_longer_base64_text_is_redacted_at_every_alignment(prefix: str) -> None:
    """A vendor echoing a token or cursor that is base64 of JSON holding the key: the key's bytes
    start at offset 0, 1 or 2 of a 3-byte group, and each gives other base64 characters."""
    blob = base64.b64encode(f'{prefix}{KEY}","n":1}}'.encode()).decode()

    redacted = redactor_for(KEY).redact(f"cursor {blob}")

    kept = sum(len(piece) for piece in redacted.removeprefix("cursor ").split("***"))
    assert kept <= len(blob) - (len(KEY) * 4 // 3 - 6)  # the key's base64, but its edges, is gone


@pytest.mark.parametrize("space", ["\u00a0", "\u202f", "\u2009", "\u3000", "\ufe0f"])
def test_a_key_with_unicode_spaces_between_its_characters_is_redacted(space: str) -> None:
    """A no-break, thin or ideographic space between the characters is still the key, like a space."""
    redacted = redactor_for(KEY).redact(f"[{space.join(KEY)}]")
    assert redacted == "[***]"


def test_redaction_leaves_text_without_the_key_as_it_is() -> None:
    text = '{"balance": 50, "status": "fe_live", "note": "4f1c9a7"}'  # runs of 7, not 8
    assert redactor_for(KEY).redact(text) is text


def test_redact_json_redacts_every_string_and_name_and_keeps_numbers() -> None:
    payload = {"status": KEY, "list": [f"bad {KEY}", 50], KEY: {"n": 1.5}}

    assert redactor_for(KEY).redact_json(payload) == {
        "status": "***",
        "list": ["bad ***", 50],
        "***": {"n": 1.5},
    }


# --- the forms a key takes in real output, and redaction's corners -------------------------------

HOSTILE_KEY = "\\q/k+7f=3a\"9c'2e&b4?d é Ā"
"""Every character an encoder treats specially, one outside Latin-1 included."""


def test_each_rendering_real_output_uses_is_a_form_of_the_key_whole() -> None:
    """The leak check and the Redactor start from key_forms: each way output writes a key (a
    repr, a bytes repr, JSON either way, PHP's JSON, a query string, Basic credentials padded or
    not) must be one of its forms, exactly, not a form cut by a character."""
    key = HOSTILE_KEY
    latin = key.replace("Ā", "A")
    renderings = {
        key: [
            repr(key)[1:-1],
            str(key.encode())[2:-1],
            json.dumps({"k": key})[7:-2],
            json.dumps({"k": key}, ensure_ascii=False)[7:-2],
            json.dumps(key)[1:-1].replace("/", "\\/"),
            urlencode({"k": key})[2:],
            urlencode({"k": key}, quote_via=quote)[2:],
            re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), urlencode({"k": key}, quote_via=quote)[2:]),
        ],
        latin: [str(latin.encode("latin-1"))[2:-1]],
    }
    for variant, written in renderings.items():
        forms = key_forms(variant)
        for rendering in written:
            assert rendering in forms
    tokens = [
        encode(credentials.encode()).decode()
        for credentials in (f":{key}", f"{key}:", key)
        for encode in (base64.b64encode, base64.urlsafe_b64encode)
    ]
    assert any(token.endswith("=") for token in tokens)  # padded: a client may strip the padding
    assert {token.rstrip("=") for token in tokens} <= key_forms(key)


def test_a_basic_token_ending_in_a_letter_is_a_form_to_its_last_character() -> None:
    key = "lm_7d2e5b9c1a3f4e8b6?abW"  # "?" puts a "/" in the token, "_" in the URL-safe one
    token, url_safe = base64.b64encode(key.encode()).decode(), base64.urlsafe_b64encode(key.encode()).decode()
    assert (token[-1], url_safe[-1], token != url_safe) == ("X", "X", True)
    assert {token, url_safe} <= key_forms(key)


@pytest.mark.parametrize(
    "key", ["lm_?7d2e5b9c1a3f4e8b6abxW", "lm_?7d2e5b9c1a3f4e8b6abW"], ids=["ending-in-X", "padded"]
)
def test_a_key_at_the_third_byte_of_a_base64_group_is_a_form_to_its_last_character(key: str) -> None:
    """Inside a longer base64 text (a cursor, a token) the key can start at the third byte of a
    3-byte group: from the fourth character on, the characters carry the key's bytes alone, in
    either alphabet ("?" there gives "/" or "_"), up to its last one ("X") and without padding."""
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        token = encode(b"\0\0" + key.encode()).decode()
        assert token.rstrip("=")[3:] in key_forms(key)
    assert len(key) % 3 == 1 or base64.b64encode(b"\0\0" + key.encode()).endswith(b"=")


@pytest.mark.parametrize("value", [KEY, "XXXX", "0", " k3y"])
def test_a_value_is_always_one_of_its_own_forms(value: str) -> None:
    """Whatever it is, a placeholder or a value too short to be a key included: a Redactor given it
    removes it, and the leak check finds it."""
    assert value in key_forms(value)
    assert Redactor([value]).redact(f"[{value}]") == "[***]"


def test_a_value_that_is_only_whitespace_keeps_its_own_forms() -> None:
    """Stripped, it is nothing, and that variant is skipped; the raw one still has its forms.
    Several values, so the order a set happens to iterate its two variants in does not matter."""
    for value in (" ", "  ", "\t", "\n", " \t", "\r\n", "\t\t", " \n ", "\u3000", "\x0b"):
        assert {value, json.dumps(value)[1:-1]} <= key_forms(value)


def test_a_key_split_by_a_control_character_is_redacted_as_one() -> None:
    """Its first piece is exactly 8 characters, a run like any other: the whole key, control
    character included, becomes one REDACTED."""
    key = "lm_8b6d4\x01f2a1c3e5a7b9d"
    assert Redactor([key]).redact(f"[{key}]") == "[***]"


def test_a_key_with_surrounding_whitespace_has_the_forms_of_both_it_and_the_stripped_key() -> None:
    forms = key_forms(f" {KEY}\n")
    assert key_forms(KEY) <= forms
    assert {f" {KEY}\n", json.dumps(f" {KEY}\n")[1:-1]} <= forms


def test_a_key_split_by_control_characters_has_each_long_piece_as_a_form() -> None:
    pieces = ["lm_8b6d4", "f2a1c3e5a7b9d"]  # 8 characters and more
    assert set(pieces) <= key_forms("\x01".join(pieces))
    assert set(pieces) <= key_forms("\t".join(pieces))


def test_forms_of_a_key_with_a_character_outside_latin1_do_not_crash() -> None:
    assert "lm_7d2e5b9cĀ1a3f" in key_forms("lm_7d2e5b9cĀ1a3f")


LINE_BREAK_NEAR_THE_END = "lm_3c5e7a9b1d2f\n4a6c8"
"""Fewer than 8 characters after the line break: only its \\n, decoded, joins them to the key."""


@pytest.mark.parametrize(
    "written",
    [
        "".join(f"&#x{ord(c):x};" for c in KEY),
        "".join(f"&#X{ord(c):X};" for c in KEY),
        "".join(f"\\x{ord(c):x}" for c in KEY),
        "&#x110000;".join(KEY),  # a reference outside Unicode is nothing, between each character
        "\\u0066e_live\\/" + KEY[8:],
        "".join("\\n" if c == "\n" else f"\\u{ord(c):04x}" for c in LINE_BREAK_NEAR_THE_END),
    ],
    ids=["html-hex", "html-hex-upper", "python-hex", "out-of-range-reference", "escaped-slash", "line-break"],
)
def test_a_key_written_with_hex_escapes_is_redacted_whole(written: str) -> None:
    key = KEY if "\\/" not in written else KEY[:7] + "/" + KEY[8:]
    key = LINE_BREAK_NEAR_THE_END if "\\n" in written else key
    assert Redactor([key]).redact(f"[{written}]") == "[***]"


def test_a_field_that_is_only_the_key_escaped_or_cut_is_redacted() -> None:
    """Nothing before the key: the first character counts too."""
    assert Redactor([KEY]).redact("f\\u0065" + KEY[2:]) == "***"
    assert Redactor([KEY]).redact(KEY[:8]) == "***"


def test_a_key_whose_own_text_looks_like_an_escape_is_redacted_whole() -> None:
    key = "qk_7f/3a+9c=2e&b4?d%5E"
    assert Redactor([key]).redact(f"key {key} refused") == "key *** refused"


def test_several_keys_each_redacted_and_adjacent_ones_as_one() -> None:
    other = LEMLIST_KEY
    redactor = Redactor([KEY, other])
    assert redactor.redact(f"a {KEY} b {other} c") == "a *** b *** c"
    assert redactor.redact(f"[{KEY}{other}]") == "[***]"


def test_a_short_form_is_replaced_longest_first() -> None:
    """A value too short to be a key can still be given to a Redactor; its longest form goes first,
    so it is replaced by one REDACTED, not a part of it."""
    assert Redactor([" k3y"]).redact("[ k3y]") == "[***]"
    assert Redactor(["k3y", "k3y.x9"]).redact("(k3y.x9)") == "(***)"  # not "(***.x9)"


def test_redact_json_redacts_a_bare_string_and_nested_lists() -> None:
    redactor = Redactor([KEY])
    assert redactor.redact_json(f"bad {KEY}") == "bad ***"
    assert redactor.redact_json([[KEY], {"a": [KEY]}]) == [["***"], {"a": ["***"]}]


@pytest.mark.parametrize("key", ["AC0123:tok456", "key:se:cret", "abcd1234:ABCDEFGH01234abc"])
def test_a_two_part_key_splits_at_its_first_colon(key: str) -> None:
    ident, secret = split_pair("acme-twilio", key, "hint")
    assert f"{ident}:{secret}" == key
    assert ":" not in ident


@pytest.mark.parametrize("key", ["AC0123tok456xyz", ":tok456secret", "AC0123secret:", " :tok456", "AC0123: "])
def test_a_two_part_key_without_both_parts_is_refused_keylessly(key: str) -> None:
    with pytest.raises(CheckError) as raised:
        split_pair("acme-twilio", key, "run `credit-monitor keys set acme-twilio`")
    assert raised.value.kind is FailureKind.SECRET
    assert raised.value.message == (
        "the acme-twilio key must be two parts joined by a colon, <id>:<secret> (e.g. an account SID and"
        " its auth token), so it was not sent (run `credit-monitor keys set acme-twilio`)"
    )
    for part in (part for part in key.split(":") if len(part) > 3):
        assert part not in raised.value.message


# --- nothing but a key is masked ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("lemlist", "the acme-lemlist API key is shorter than 12 characters"),
        ("short", "the acme API key is shorter than 12 characters"),
        ("acme", "the acme-lemlist API key is a placeholder"),
        ("acme", "acme_sales: no key for acme2"),
        ("k3y", "the k3y-store account"),
    ],
    ids=["id-inside-an-id", "inside-a-word", "account-prefix", "underscore-and-digit", "before-a-dash"],
)
def test_a_value_too_short_to_be_a_key_is_never_masked_inside_a_word(value: str, text: str) -> None:
    """A value shorter than a key is never sent; given to a Redactor anyway, it is masked only where
    it stands alone, never where text merely contains it (an account id, a longer word)."""
    assert Redactor([value]).redact(text) is text


@pytest.mark.parametrize(
    ("value", "text", "redacted"),
    [
        ("acme", "key: acme.", "key: ***."),
        ("k3y", '"k3y"', '"***"'),
        ("0", "[0]", "[***]"),
        ("a1b2c3d4e5f", "(a1b2c3d4e5f)", "(***)"),
    ],
)
def test_a_value_too_short_to_be_a_key_is_masked_where_it_stands_alone(
    value: str, text: str, redacted: str
) -> None:
    assert Redactor([value]).redact(text) == redacted


def test_a_key_is_still_redacted_in_every_form_next_to_any_character() -> None:
    """The boundary rule is for values too short to be keys: a key glued to a word is still found."""
    assert Redactor([KEY]).redact(f"acme-{KEY}-lemlist") == "acme-***-lemlist"
    assert Redactor([KEY]).redact(f"x{KEY[3:11]}y") == "x***y"


def test_a_secret_starting_with_a_byte_order_mark_is_read_by_the_function() -> None:
    secret = StoredSecret("\ufeff" + json.dumps({"lemlist": LEMLIST_KEY}))
    assert SecretsManagerKeySource("s", cast(SecretsProvider, secret)).api_keys() == {"lemlist": LEMLIST_KEY}
