"""API keys: parsed from the secret, cleaned, and redacted in every form they can take. Pure."""

from __future__ import annotations

import base64
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from urllib.parse import quote, quote_plus

from credit_monitor.model import CheckError, FailureKind, json_type_name


def parse_api_keys(secret_string: str | None) -> dict[str, str]:
    """Parse the secret's JSON, keys stripped. Errors describe the shape, never the content."""
    if secret_string is None:
        raise CheckError(FailureKind.SECRET, "secret has no SecretString (binary secrets are not supported)")
    try:
        payload = json.loads(secret_string)
    except json.JSONDecodeError:
        raise CheckError(
            FailureKind.SECRET, 'secret is not JSON; expected {"fullenrich": "<key>", "lemlist": "<key>"}'
        ) from None
    if not isinstance(payload, dict):
        raise CheckError(FailureKind.SECRET, f"secret must be a JSON object, got {json_type_name(payload)}")
    return strip_keys(payload)


def strip_keys(keys: Mapping[str, object]) -> dict[str, str]:
    """Surrounding whitespace is a paste accident (a trailing newline, most often): drop it; drop blanks."""
    return {name: value.strip() for name, value in keys.items() if isinstance(value, str) and value.strip()}


def clean_key(provider: str, raw: str | None, hint: str) -> str:
    """The key to send, or CheckError(SECRET) saying what is wrong with it, never what it is.

    Inside a key, a line break, control or non-ASCII character is a paste accident too, but one we
    cannot repair: sent, it would be rejected or, worse, end up in an error message.
    """
    key = (raw or "").strip()
    if not key:
        raise CheckError(FailureKind.SECRET, f"no API key for {provider!r} ({hint})")
    problem = _key_problem(key)
    if problem:
        raise CheckError(
            FailureKind.SECRET,
            f"the {provider} API key contains {problem}, so it was not sent; store the key exactly as issued",
        )
    return key


def _key_problem(key: str) -> str | None:
    if any(char in "\r\n\u2028\u2029" for char in key):
        return "a line break"
    if any(unicodedata.category(char) == "Cc" for char in key):
        return "a control character"
    if not key.isascii():
        return "a non-ASCII character"
    return None


KEY_FRAGMENT_MIN_CHARS = 8
"""A run of a key split off by a control character is still secret, if long enough to mean anything."""


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
        forms.update(run for run in re.split(r"[^\x21-\x7e]+", variant) if len(run) >= KEY_FRAGMENT_MIN_CHARS)
    forms.discard("")
    return forms


def _lower_hex(encoded: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda match: match.group().lower(), encoded)


def redact(text: str, secrets: Iterable[str]) -> str:
    """Last line of defence: no known key, in any of its forms, survives into a message."""
    forms = {form for secret in secrets if secret for form in key_forms(secret)}
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, "***")
    return text
