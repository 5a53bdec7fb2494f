"""The API keys secret's JSON, changed one entry at a time, every other entry kept as stored. Pure.

Errors describe the secret's shape, never its content: a message may name an account, never a key.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable

from credit_monitor.accounts_file import ACCOUNT_ID
from credit_monitor.keys import clean_key, secret_json_text
from credit_monitor.model import CheckError, json_type_name

MAX_SECRET_BYTES = 65_536
"""Secrets Manager's limit for a SecretString."""


class SecretJsonError(ValueError):
    """The secret, or the new entry, cannot be written as asked; the message says why, keylessly."""


class KeyState(enum.Enum):
    STORED = "stored"
    MISSING = "missing"
    REFUSED = "stored, but the function would refuse it; store it again with `keys set`"
    UNUSED = "stored, for no account here"


def entries(secret_string: str | None) -> dict[str, object]:
    """The secret's JSON object as stored, in its order; None (no value yet) is an empty one.

    A name given twice is refused: json keeps only the last, so writing it back would drop one.
    """
    if secret_string is None or not secret_string.strip():
        return {}

    def unique(pairs: list[tuple[str, object]]) -> dict[str, object]:
        names = [name for name, _ in pairs]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise SecretJsonError(f"the secret's JSON names {twice[0]!r} twice; fix it by hand first")
        return dict(pairs)

    try:
        document = json.loads(secret_json_text(secret_string), object_pairs_hook=unique)
    except SecretJsonError:
        raise
    except (ValueError, RecursionError):  # ValueError: an integer of 4,301 digits or more, too
        raise SecretJsonError(
            'the secret is not JSON; expected {"<account id>": "<key>", ...}; fix it by hand first'
        ) from None
    if not isinstance(document, dict):
        raise SecretJsonError(
            f"the secret must be a JSON object, got {json_type_name(document)}; fix it by hand first"
        )
    return document


def checked_key(account_id: str, raw_key: str) -> str:
    """The key as the function would send it (clean_key), for an id the accounts file allows;
    SecretJsonError saying what is wrong otherwise, never what the key is."""
    if not ACCOUNT_ID.fullmatch(account_id):
        raise SecretJsonError(
            "the account id must be a slug of lower-case letters, digits and dashes (at most 64),"
            " e.g. 'acme-lemlist', as in the accounts file"
        )
    try:
        return clean_key(account_id, raw_key, "type it at the prompt, or pipe it on stdin")
    except CheckError as exc:
        raise SecretJsonError(f"key not stored: {exc.message}") from None


def with_key(secret_string: str | None, account_id: str, raw_key: str) -> str:
    """The secret's new JSON: `account_id` set to the key (checked_key), every other entry as it
    was. SecretJsonError when it cannot be."""
    key = checked_key(account_id, raw_key)
    document = entries(secret_string)
    document[account_id] = key
    # Compact, and ASCII (other entries' text as \u escapes, lone surrogates too): the size checked
    # is that of exactly what is written, and about 1,000 entries fit.
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=True)
    if len(text.encode("ascii")) > MAX_SECRET_BYTES:
        raise SecretJsonError(f"the secret would exceed Secrets Manager's {MAX_SECRET_BYTES:,} bytes")
    return text


def key_states(secret_string: str | None, account_ids: Iterable[str]) -> list[tuple[str, KeyState]]:
    """Whether each account has a key the function would send, then the entries no account uses.
    Only the state is returned, never anything of the key (not its length, not a prefix)."""
    document = entries(secret_string)
    states: list[tuple[str, KeyState]] = []
    wanted = list(dict.fromkeys(account_ids))
    for account_id in wanted:
        states.append((account_id, _state(document.get(account_id), account_id)))
    for name, value in document.items():
        if name not in wanted and _state(value, name) is not KeyState.MISSING:
            states.append((name, KeyState.UNUSED))
    return states


def _state(value: object, account_id: str) -> KeyState:
    if not isinstance(value, str) or not value.strip():
        return KeyState.MISSING
    try:
        clean_key(account_id, value, "")
    except CheckError:
        return KeyState.REFUSED
    return KeyState.STORED
