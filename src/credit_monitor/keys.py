"""API keys: parsed from the secret, cleaned, and redacted in every form they can take. Pure."""

from __future__ import annotations

import base64
import functools
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from urllib.parse import quote, quote_plus

from credit_monitor.model import CheckError, FailureKind, json_type_name


class NotAString(str):
    """A secret entry whose JSON value is not a string (a number, null, an object...).

    Its text is empty, so nothing of the value is kept, and `clean_key` says what it was instead of
    "no API key": the entry is there, in the wrong type.
    """

    json_type: str

    def __new__(cls, json_type: str) -> NotAString:
        entry = super().__new__(cls, "")
        entry.json_type = json_type
        return entry


BYTE_ORDER_MARK = "\ufeff"


def secret_json_text(secret_string: str) -> str:
    """The secret's JSON text: without the UTF-8 byte-order mark an editor (Notepad) may have saved
    first, which json refuses. The accounts file accepts the same mark."""
    return secret_string.removeprefix(BYTE_ORDER_MARK)


def parse_api_keys(secret_string: str | None) -> dict[str, str]:
    """Parse the secret's JSON, keys stripped. Errors describe the shape, never the content."""
    if secret_string is None:
        raise CheckError(FailureKind.SECRET, "secret has no SecretString (binary secrets are not supported)")
    try:
        payload = json.loads(secret_json_text(secret_string))
    except (ValueError, RecursionError):  # ValueError: an integer of 4,301 digits or more, too
        raise CheckError(
            FailureKind.SECRET, 'secret is not JSON; expected {"fullenrich": "<key>", "lemlist": "<key>"}'
        ) from None
    if not isinstance(payload, dict):
        raise CheckError(FailureKind.SECRET, f"secret must be a JSON object, got {json_type_name(payload)}")
    return strip_keys(payload)


def strip_keys(keys: Mapping[str, object]) -> dict[str, str]:
    """Surrounding whitespace is a paste accident (a trailing newline, most often): drop it; drop
    blanks. A value that is not a string is kept as a `NotAString`, for its own account's message."""
    stripped: dict[str, str] = {}
    for name, value in keys.items():
        if not isinstance(value, str):
            stripped[name] = NotAString(json_type_name(value))
        elif value.strip():
            stripped[name] = value.strip()
    return stripped


MIN_KEY_CHARS = 12
"""Shorter than this is not a key but a placeholder or a cut paste. The catalogue's vendors issue
keys of 32 characters or more (lemlist's and ZeroBounce's 32 hex digits, Hunter's 40, NeverBounce's
"secret_" and 32 more, UUIDs for FullEnrich and Lusha); 12 leaves room for an http-json API with
shorter ones. It is also what keeps redaction safe: a short value such as "0" would match text in
replies it has nothing to do with."""

PLACEHOLDERS = frozenset(
    {
        *("0", "1", "na", "nil", "none", "null", "undefined", "false", "true", "empty", "tbd", "todo"),
        *("fixme", "xxx", "key", "apikey", "secret", "token", "test", "dummy", "example", "sample"),
        *("changeme", "changeit", "replaceme", "placeholder", "redacted", "yourkey", "yourapikey"),
        *("yourapikeyhere", "yourkeyhere", "apikeyhere", "keyhere", "insertkeyhere", "insertapikeyhere"),
        *("putyourkeyhere", "putyourapikeyhere", "yoursecretkey", "yourtoken", "secretkey"),
    }
)
"""Values people store before they have the key, compared in lower case without punctuation."""


def clean_key(provider: str, raw: str | None, hint: str) -> str:
    """The key to send, or CheckError(SECRET) saying what is wrong with it, never what it is.

    Inside a key, a line break, control or non-ASCII character is a paste accident too, but one we
    cannot repair: sent, it would be rejected or, worse, end up in an error message. A placeholder
    or a value too short to be a key is refused too: it is not sent, and it is never used to redact.
    """
    if isinstance(raw, NotAString):
        raise CheckError(
            FailureKind.SECRET,
            f"the key for {provider} must be a JSON string, got a {raw.json_type},"
            f" so it was not sent ({hint})",
        )
    key = (raw or "").strip()
    if not key:
        raise CheckError(FailureKind.SECRET, f"no API key for {provider!r} ({hint})")
    problem = _key_problem(key)
    if problem:
        raise CheckError(
            FailureKind.SECRET,
            f"the {provider} API key contains {problem}, so it was not sent; store the key exactly as issued",
        )
    if is_placeholder(key):
        raise CheckError(
            FailureKind.SECRET,
            f"the {provider} API key is a placeholder, not a key, so it was not sent;"
            f" store the real key ({hint})",
        )
    if len(key) < MIN_KEY_CHARS:
        raise CheckError(
            FailureKind.SECRET,
            f"the {provider} API key is shorter than {MIN_KEY_CHARS} characters, so it is not a key and was"
            f" not sent; store the key exactly as issued ({hint})",
        )
    return key


def split_pair(account: str, key: str, hint: str) -> tuple[str, str]:
    """ "<id>:<secret>" as two parts (Twilio's Account SID and auth token, Vonage's key and secret,
    Snov.io's client id and secret), split at the first colon; CheckError(SECRET) saying what is
    wrong, never what the key is."""
    ident, colon, secret = key.partition(":")
    if not colon or not ident.strip() or not secret.strip():
        raise CheckError(
            FailureKind.SECRET,
            f"the {account} key must be two parts joined by a colon, <id>:<secret> (e.g. an account SID"
            f" and its auth token), so it was not sent ({hint})",
        )
    return ident, secret


def is_placeholder(key: str) -> bool:
    """ "changeme", "<your key>", "${LEMLIST_KEY}", "xxxxxxxxxxxxxxxx", "TODO": not keys."""
    if (key[:1] == "<" and key[-1:] == ">") or key.startswith(("${", "{{", "%(")):
        return True
    letters = re.sub(r"[^a-z0-9]", "", key.lower())
    return letters in PLACEHOLDERS or len(set(letters)) <= 1


def _key_problem(key: str) -> str | None:
    if any(char in "\r\n\u2028\u2029" for char in key):
        return "a line break"
    if any(unicodedata.category(char) == "Cc" for char in key):
        return "a control character"
    if not key.isascii():
        return "a non-ASCII character"
    return None


KEY_FRAGMENT_MIN_CHARS = 8
"""Any run of this many consecutive characters of a key form is still secret: a quote cut in the
middle of a key, or a key split by a control character, shows no more than 7 of its characters."""


def key_forms(key: str) -> set[str]:
    """Every form in which a key can appear in output, for `redact` and for the tests' leak check.

    Raw and stripped; escaped as repr, bytes repr (http.client's "Invalid header value b'...'") and
    JSON (log lines); URL-encoded; as HTTP Basic credentials, base64 of ":key", "key:" and the key
    (unpadded, so a padded token contains it); and long runs between unprintable characters.
    """
    forms: set[str] = set()
    for variant in {key, key.strip()}:
        if not variant:
            continue
        forms |= {
            variant,
            repr(variant)[1:-1],
            repr(variant.encode())[2:-1],
            json.dumps(variant)[1:-1],
            json.dumps(variant, ensure_ascii=False)[1:-1],
            json.dumps(variant)[1:-1].replace("/", "\\/"),  # JSON encoders that escape "/" (PHP's)
            quote(variant, safe=""),
            quote_plus(variant, safe=""),
            _lower_hex(quote(variant, safe="")),  # %2f: percent-encoding is case-insensitive
            _lower_hex(quote_plus(variant, safe="")),
        }
        if all(ord(char) < 256 for char in variant):
            forms.add(repr(variant.encode("latin-1"))[2:-1])
        for credentials in (f":{variant}", f"{variant}:", variant):
            encoded = credentials.encode()
            forms.add(base64.b64encode(encoded).decode().rstrip("="))
            forms.add(base64.urlsafe_b64encode(encoded).decode().rstrip("="))
        # Inside a longer base64 text (a token, a cursor) the key starts at byte 0, 1 or 2 of a
        # 3-byte group; the characters that also carry the bytes before it are left out.
        padded = b"\0\0" + variant.encode()
        forms.add(base64.b64encode(padded).decode().rstrip("=")[3:])
        forms.add(base64.urlsafe_b64encode(padded).decode().rstrip("=")[3:])
        forms.update(run for run in re.split(r"[^\x21-\x7e]+", variant) if len(run) >= KEY_FRAGMENT_MIN_CHARS)
    forms.discard("")
    return forms


def _lower_hex(encoded: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda match: match.group().lower(), encoded)


REDACTED = "***"
_ESCAPE = re.compile(
    r"\\u[0-9a-fA-F]{4}|\\x[0-9a-fA-F]{2}|\\[\\/\"'bfnrt]|%[0-9a-fA-F]{2}"
    r"|&#[xX][0-9a-fA-F]{1,6};|&#[0-9]{1,7};|&(?:amp|lt|gt|quot|apos);"
    r"|[ \x00-\x1f\x7f-\xa0\u00ad\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u2064\u3000"
    r"\ufe00-\ufe0f\ufeff]"
)
"""An escape a decoder would undo (JSON, Python, percent, HTML), a space (any Unicode space) or an
invisible character (variation selectors too): a key written with any mix of these, between its
plain characters, is still the key."""
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
"""Matching ignores ASCII case: a vendor that upper-cases a hex key still shows it."""
_WORD = "[A-Za-z0-9_-]"
"""A character of an id or a key: a value too short to be a key is masked only between others."""
_SIMPLE_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&apos;": "'"}


class Redactor:
    """Removes a set of keys from text: every form `key_forms` gives, any run of
    KEY_FRAGMENT_MIN_CHARS consecutive characters of one (so a cut prefix too), in any ASCII case,
    and the key written with escapes, spaces or invisible characters mixed into it. A value shorter
    than MIN_KEY_CHARS is not a key: only its whole forms, standing alone, are masked. Linear in the
    text; built once per key set (`redactor_for`), so a check's cost does not depend on how many
    other keys there are.
    """

    def __init__(self, keys: Iterable[str]) -> None:
        self.keys = frozenset(key for key in keys if key)
        forms: set[str] = set()
        short: set[str] = set()
        for key in self.keys:
            (forms if len(key.strip()) >= MIN_KEY_CHARS else short).update(key_forms(key))
        size = KEY_FRAGMENT_MIN_CHARS
        self._runs = frozenset(
            form[i : i + size].translate(_ASCII_LOWER) for form in forms for i in range(len(form) - size + 1)
        )
        # A value too short to be a key (never sent: clean_key refuses it) is masked only whole and
        # where it stands alone, so that an account id or a word that contains it stays readable.
        alone = "|".join(re.escape(form) for form in sorted(short, key=len, reverse=True))
        self._alone = re.compile(rf"(?<!{_WORD})(?:{alone})(?!{_WORD})") if alone else None

    def redact(self, text: str) -> str:
        """`text` without any trace of the keys; unchanged (the same object) when none is there."""
        if self._alone is not None and self._alone.search(text):
            text = self._alone.sub(REDACTED, text)
        if not self._runs or len(text) < KEY_FRAGMENT_MIN_CHARS:
            return text
        spans = self._matches(text.translate(_ASCII_LOWER), range(len(text)), range(1, len(text) + 1))
        if _ESCAPE.search(text):
            view, starts, ends = _decoded(text)
            spans += self._matches(view.translate(_ASCII_LOWER), starts, ends)
        if not spans:
            return text
        pieces: list[str] = []
        at = 0
        for start, end in _merged(spans):
            pieces += [text[at:start], REDACTED]
            at = end
        pieces.append(text[at:])
        return "".join(pieces)

    def _matches(
        self, view: str, starts: range | list[int], ends: range | list[int]
    ) -> list[tuple[int, int]]:
        """Spans of the original text behind every run of `view` that is a run of a key form."""
        size, runs = KEY_FRAGMENT_MIN_CHARS, self._runs
        return [
            (starts[i], ends[i + size - 1]) for i in range(len(view) - size + 1) if view[i : i + size] in runs
        ]

    def redact_json(self, payload: object) -> object:
        """A decoded JSON value with every string in it (names too) redacted, in place."""
        if isinstance(payload, str):
            return self.redact(payload)
        stack = [payload]
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                for index, item in enumerate(node):
                    if isinstance(item, str):
                        node[index] = self.redact(item)
                    elif isinstance(item, list | dict):
                        stack.append(item)
            elif isinstance(node, dict):
                for name in list(node):
                    value = node[name]
                    if isinstance(value, str):
                        node[name] = value = self.redact(value)
                    elif isinstance(value, list | dict):
                        stack.append(value)
                    clean = self.redact(name)
                    if clean is not name and clean != name:
                        del node[name]
                        node[clean] = value
        return payload


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping or touching spans as one: a key is replaced by a single REDACTED."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _decoded(text: str) -> tuple[str, list[int], list[int]]:
    """`text` with its escapes undone and invisible characters dropped, and for each character of
    that view, where it came from in `text` (start, end)."""
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    at = 0
    for match in _ESCAPE.finditer(text):
        start, end = match.span()
        chars.append(text[at:start])
        starts.extend(range(at, start))
        ends.extend(range(at + 1, start + 1))
        char = _unescape(match.group())
        if char:
            chars.append(char)
            starts.append(start)
            ends.append(end)
        at = end
    chars.append(text[at:])
    starts.extend(range(at, len(text)))
    ends.extend(range(at + 1, len(text) + 1))
    return "".join(chars), starts, ends


def _unescape(escape: str) -> str:
    if len(escape) == 1:
        return ""  # an invisible character
    if escape in _ENTITIES:
        return _ENTITIES[escape]
    if escape.startswith("&#"):
        number = int(escape[3:-1], 16) if escape[2] in "xX" else int(escape[2:-1])
        return chr(number) if number < 0x110000 else ""
    if escape[0] == "%" or escape[1] in "ux":
        return chr(int(escape[2:] if escape[0] == "\\" else escape[1:], 16))
    return _SIMPLE_ESCAPES.get(escape[1], escape[1])


@functools.lru_cache(maxsize=4096)
def redactor_for(*keys: str) -> Redactor:
    """One Redactor per key set, built once per sandbox: warm runs and repeated checks reuse it."""
    return Redactor(keys)


def redact(text: str, secrets: Iterable[str]) -> str:
    """Last line of defence: no known key, in any of its forms, survives into a message."""
    return redactor_for(*sorted({secret for secret in secrets if secret})).redact(text)
