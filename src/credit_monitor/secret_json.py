"""The API keys secret's JSON, changed one entry at a time, every other entry kept as stored. Pure.

The secret holds the accounts' keys and the routes' receiver entries (webhook URLs, routing keys,
signing secrets); each is judged as the function judges it. Errors describe the secret's shape,
never its content: a message may name an account or an entry, never a key or a URL.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from credit_monitor.account import ACCOUNT_ID, Account, entry_readers, keys_by_account
from credit_monitor.delivery import entry_problem
from credit_monitor.keys import clean_key, secret_json_text, strip_keys
from credit_monitor.model import CheckError, json_type_name
from credit_monitor.routes import ReceiverEntry, Routing

MAX_SECRET_BYTES = 65_536
"""Secrets Manager's limit for a SecretString."""


class SecretJsonError(ValueError):
    """The secret, or the new entry, cannot be written as asked; the message says why, keylessly."""


WOULD_REFUSE = "stored, but the function would refuse it"


class KeyState(enum.Enum):
    STORED = "stored"
    MISSING = "missing"
    REFUSED = f"{WOULD_REFUSE}; store it again with `keys set`"
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


def checked_value(entry: ReceiverEntry, raw: str) -> str:
    """A receiver entry's new value as the function will read it (keys.strip_keys), if the function
    would send with it (delivery.entry_problem); SecretJsonError saying what is wrong otherwise,
    never what the value is."""
    secrets = strip_keys({entry.name: raw})
    if entry.name not in secrets:
        raise SecretJsonError(
            f"not stored: no value given for {entry.name!r} ({entry.holds}); type it at the prompt, or pipe"
            " it on stdin"
        )
    problem = entry_problem(entry.spec, entry.name, secrets)
    if problem is not None:
        raise SecretJsonError(f"not stored: {entry.holds} for {entry.name!r} {problem}")
    return secrets[entry.name]


def with_key(secret_string: str | None, account_id: str, raw_key: str) -> str:
    """The secret's new JSON: `account_id` set to the key (checked_key), every other entry as it
    was. SecretJsonError when it cannot be."""
    return with_value(secret_string, account_id, checked_key(account_id, raw_key))


def with_value(secret_string: str | None, name: str, value: str) -> str:
    """The secret's new JSON: entry `name` set to `value`, already checked (checked_key,
    checked_value), every other entry as it was. SecretJsonError when it cannot be."""
    document = entries(secret_string)
    document[name] = value
    # Compact, and ASCII (other entries' text as \u escapes, lone surrogates too): the size checked
    # is that of exactly what is written, and about 1,000 entries fit.
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=True)
    if len(text.encode("ascii")) > MAX_SECRET_BYTES:
        raise SecretJsonError(f"the secret would exceed Secrets Manager's {MAX_SECRET_BYTES:,} bytes")
    return text


SHOWN_READERS = 3
"""Accounts (or routes) named on an entry's line; the others are counted, so a line stays one line."""


def listed(names: Sequence[str]) -> str:
    """The first SHOWN_READERS names, and how many more."""
    shown = ", ".join(names[:SHOWN_READERS])
    return shown + (f" and {len(names) - SHOWN_READERS} more" if len(names) > SHOWN_READERS else "")


def read_by(entry: ReceiverEntry) -> str:
    """What a receiver entry is, by its routes: "the Slack incoming-webhook URL of route acme"."""
    return f"{entry.holds} of route{'s' if len(entry.routes) > 1 else ''} {listed(entry.routes)}"


def receiver_state(entry: ReceiverEntry, secrets: Mapping[str, str]) -> str:
    """KeyState's words for a receiver entry, with why the function would refuse what is stored
    (delivery.entry_problem, the function's own check), never anything of the value. `secrets`:
    the secret's entries as the function reads them (keys.strip_keys)."""
    if entry.name not in secrets:
        return KeyState.MISSING.value
    problem = entry_problem(entry.spec, entry.name, secrets)
    return KeyState.STORED.value if problem is None else f"{WOULD_REFUSE}: it {problem}"


@dataclass(frozen=True)
class KeyRow:
    """One line of `keys list`: an account id, or the name of an entry known not to be a key."""

    name: str
    text: str


@dataclass(frozen=True)
class KeyListing:
    rows: tuple[KeyRow, ...]
    hidden: int
    """Entries no account reads whose names are not shown: such a name may be a key (a secret
    written name and value swapped), so it is counted, never printed."""


def key_listing(
    secret_string: str | None, accounts: Sequence[Account], routing: Routing | None = None
) -> KeyListing:
    """Whether each account has a key the function would send, read from the entry the function
    reads (account.keys_by_account); then the shared entries and whom they serve; then each entry
    the routes' receivers read (receiver_state); then the entries no account or route reads. Only
    states are returned, never anything of a key or URL (not its length, not a prefix), and no name
    from the secret unless an account or route reads it or it looks like an id."""
    document = entries(secret_string)
    resolved = keys_by_account(accounts, document)
    readers = entry_readers(accounts)
    values = {value for value in document.values() if isinstance(value, str)}
    rows: list[KeyRow] = []
    seen: set[str] = set()
    for account in accounts:
        if account.id in seen:
            continue
        seen.add(account.id)
        state = _state(resolved.get(account.id), account.id)
        text = state.value
        if account.secret_entry != account.id:
            text += f" (shared entry {account.secret_entry})"
        elif state is KeyState.MISSING and account.id in values:
            text += f"; the secret holds {account.id!r} as a value: are its name and key swapped?"
        rows.append(KeyRow(account.id, text))
    for entry, ids in readers.items():
        if entry not in seen and _state(document.get(entry), entry) is not KeyState.MISSING:
            rows.append(KeyRow(entry, f"shared entry, read by {listed(ids)}"))
    receivers = (routing or Routing()).entries()
    secrets = strip_keys(document)
    rows += [
        KeyRow(name, f"{read_by(entry)}: {receiver_state(entry, secrets)}")
        for name, entry in receivers.items()
    ]
    hidden = 0
    reading = {account.id: account.secret_entry for account in accounts}
    for name, value in document.items():
        if name in readers or name in receivers or _state(value, name) is KeyState.MISSING:
            continue
        if name in reading:
            rows.append(
                KeyRow(name, f"{KeyState.UNUSED.value} ({name} reads the shared entry {reading[name]})")
            )
        elif looks_like_an_id(name):
            rows.append(KeyRow(name, KeyState.UNUSED.value))
        else:
            hidden += 1
    return KeyListing(tuple(rows), hidden)


ID_WORD = re.compile(r"[a-z]{1,24}|[0-9]{1,24}|[a-z0-9]{1,7}")
"""A part of an id between dashes: a word, a number, or a short mix ("eu2"). A longer mix of
letters and digits is what random keys are made of (hex, UUIDs, base36)."""


def looks_like_an_id(name: str) -> bool:
    """Whether an entry's name may be printed although no account reads it: an id's slug made of
    words and numbers. Anything else may be a key stored as a name, and is never printed."""
    return bool(ACCOUNT_ID.fullmatch(name)) and all(ID_WORD.fullmatch(part) for part in name.split("-"))


def _state(value: object, account_id: str) -> KeyState:
    if not isinstance(value, str) or not value.strip():
        return KeyState.MISSING
    try:
        clean_key(account_id, value, "")
    except CheckError:
        return KeyState.REFUSED
    return KeyState.STORED
