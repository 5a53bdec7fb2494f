"""Alert state per account in DynamoDB, changed only by conditional writes.

Two invocations can overlap (a retry and the next schedule). Each write is conditional on the
version it read; the loser re-reads and decides again on the winner's state.

A run writes its accounts' states up to 100 at a time in one TransactWriteItems call (`put_many`):
one botocore call per account cost more CPU than the rest of the account's check. A transaction
bills two write units per KB where PutItem bills one, so the state is stored as columns and
zlib-compressed (a month of hourly history, a week of it hour by hour, is 0.4 to 1 KB): a
transactional write of it costs two units. Items written as plain JSON text are still
read.

An item this code cannot decode (hand-edited, written by a foreign tool, truncated) is reported as
that account's failure with the command that resets it: never guessed at, never a crash of the run.
"""

from __future__ import annotations

import json
import math
import re
import shlex
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from credit_monitor import routes
from credit_monitor.adapters import aws
from credit_monitor.alerting import AccountState, Family, Kind, Level, Notification, Pending
from credit_monitor.forecast import USED_DIGITS, Forecast, ForecastStatus, Sample, Spike, thin, with_used
from credit_monitor.model import FailureKind, Pool
from credit_monitor.service import StateError, StateWrite

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

UNPROCESSED_ATTEMPTS = 4
"""BatchGetItem calls per 100 keys while DynamoDB returns some unprocessed (throttling)."""
MAX_SCANNED = 10_000
CHANGE_ATTEMPTS = 5
BATCH_GET_LIMIT = 100
"""DynamoDB's BatchGetItem takes at most 100 keys: 500 accounts are read in 5 calls."""
TRANSACT_LIMIT = 100
"""DynamoDB's TransactWriteItems takes at most 100 actions: 1,000 accounts are written in 10 calls."""
MAX_STATE_BYTES = 1024 * 1024
"""A decompressed state larger than this is refused, not inflated: a DynamoDB item is at most
400 KB, and only a hostile item compresses a megabyte of state into it."""
LOST_RACE_CODES = frozenset({"ConditionalCheckFailedException", "TransactionConflictException"})
"""Another writer got there first (a conditional write lost, or an item in a transaction being
written): re-read and decide again, never an error."""
MAX_COUNT = 2**63 - 1
"""The largest count or version read: one more still fits DynamoDB's number and Python's text."""
CURRENCY = re.compile(r"[A-Z]{3}")
KEY = "provider"
"""The table's key attribute. It holds the account id; the name stays from when accounts were
providers, because renaming a DynamoDB key replaces the table and loses every state."""


__all__ = ["CorruptState", "DynamoStateStore", "StateError", "decode", "encode"]


class CorruptState(StateError):
    """One item cannot be decoded; its account's alerts pause until it is fixed or reset."""


def reset_command(table: str, account: str) -> str:
    """The shell command that deletes one item; shell-quoted, since an account id from the table
    may hold quotes, `$(...)` or a line break, and the command is meant to be pasted."""
    key = json.dumps({KEY: {"S": account}})
    return f"aws dynamodb delete-item --table-name {shlex.quote(table)} --key {shlex.quote(key)}"


# --- encoding ---------------------------------------------------------------------------------


def encode(state: AccountState) -> str:
    """The state as compact JSON. `currency` is written only for a money account: a credit
    account's item is what it was before money balances existed."""
    return json.dumps(
        {
            "level": state.level.name,
            "announced": state.announced.name,
            "notified_at": _time(state.notified_at),
            "consecutive_failures": state.consecutive_failures,
            "failing_notified": state.failing_notified,
            "running_out_notified": state.running_out_notified,
            "running_out_at": _time(state.running_out_at),
            "samples": _encode_samples(state.samples),
            "used": _used_offsets(state.samples),
            "pace_since": _time(state.pace_since),
            "spike": _encode_spike(state.spike),
            "last_spike": _encode_spike(state.last_spike),
            "pools": _encode_pools(state.pools),
            "renewal_due": _time(state.renewal_due),
            "renewal_missed": _time(state.renewal_missed),
            "untold": {family.value: sorted(receivers) for family, receivers in state.untold.items()},
            "told": {family.value: sorted(receivers) for family, receivers in state.told.items()},
            "checked_at": _time(state.checked_at),
            "outbox": [_encode_pending(item) for item in state.outbox],
            "snoozed_until": _time(state.snoozed_until),
            "snooze_reason": state.snooze_reason,
            "failing_since": _time(state.failing_since),
            "last_sent": state.last_sent,
            "last_sent_at": _time(state.last_sent_at),
            **_encode_currency(state.currency),
        },
        separators=(",", ":"),
        allow_nan=False,  # decode refuses Infinity and NaN: a write must never store what cannot be read
    )


def _encode_samples(samples: Sequence[Sample]) -> dict[str, list[Any]]:
    """The history as two columns: times (the first in seconds of the epoch, then the seconds since
    the one before: an hourly history is the same number over and over) and balances. Balances in
    whole cents (as every vendor's are) are stored as cents, the first whole and then each one's
    change from the one before ("c"): a noisy hourly burn is a few digits per hour, and a month of
    it compresses into a few hundred bytes. Others are stored as they are ("b")."""
    times = [int(sample.at.timestamp()) for sample in samples]
    columns: dict[str, list[Any]] = {"t": [times[0], *(b - a for a, b in pairwise(times))] if times else []}
    cents = [_cents(sample.balance) for sample in samples]
    if all(cent is not None for cent in cents):
        whole = [cent for cent in cents if cent is not None]
        columns["c"] = [whole[0], *(b - a for a, b in pairwise(whole))] if whole else []
    else:
        columns["b"] = [sample.balance for sample in samples]
    return columns


def _cents(balance: float) -> int | None:
    """The balance in whole cents, when it is exactly that many (and small enough to be exact)."""
    if not math.isfinite(balance) or abs(balance) >= 1e13:
        return None
    cents = round(balance * 100)
    return cents if cents / 100 == balance else None


def _used_offsets(samples: Sequence[Sample]) -> list[list[float]]:
    """The count of credits used, stored where it parts from the balances' falls: [index, offset]
    at each sample whose `used - (first balance - balance)` differs from the one before (a top-up,
    a refill, a spike). A month of hourly history costs a few numbers, not 190."""
    out: list[list[float]] = []
    if not samples:
        return out
    first = samples[0].balance
    for index, sample in enumerate(samples):
        offset = round(sample.used - (first - sample.balance), USED_DIGITS)
        if not out or offset != out[-1][1]:
            out.append([index, offset])
    return out


def _encode_spike(spike: Spike | None) -> dict[str, Any] | None:
    if spike is None:
        return None
    return {
        "since": _time(spike.since),
        "until": _time(spike.until),
        "spent": spike.spent,
        "checks": spike.checks,
        "usual": spike.usual,
    }


def _encode_pools(pools: Sequence[Pool]) -> list[list[Any]]:
    return [[pool.name, pool.credits, pool.renews] for pool in pools]


def _encode_currency(currency: str | None) -> dict[str, str]:
    return {} if currency is None else {"currency": currency}


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _encode_pending(item: Pending) -> dict[str, Any]:
    note = item.note
    outlook = note.forecast
    return {
        "id": item.id,
        "created_at": _time(item.created_at),
        "lease_owner": item.lease_owner,
        "lease_until": _time(item.lease_until),
        "attempts": item.attempts,
        "due": sorted(item.due),
        "delivered_to": sorted(item.delivered_to),
        "note": {
            "kind": note.kind.value,
            "account": note.account,
            "level": note.level.name,
            "balance": note.balance,
            "threshold": note.threshold,
            "forecast": None
            if outlook is None
            else {
                "status": outlook.status.value,
                "burn_per_day": outlook.burn_per_day,
                "days_left": outlook.days_left,
            },
            "failures": note.failures,
            "reason": note.reason,
            "failure": note.failure.value if note.failure else None,
            "since": _time(note.since),
            "renews_at": _time(note.renews_at),
            "renewed": note.renewed,
            "spike": _encode_spike(note.spike),
            "pools": _encode_pools(note.pools),
            "clears": note.clears.value if note.clears else None,
            "skip": sorted(note.skip),
            "audience": None if note.audience is None else sorted(note.audience),
            **_encode_currency(note.currency),
        },
    }


# --- decoding: every field checked, so a bad item is one clear error, not a TypeError later ----


class _Bad(ValueError):
    """A field of the item is not what this code writes; the message names it."""


def decode(text: str, version: int) -> AccountState:
    """Raises ValueError naming the first field that is not what this code wrote."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise _Bad("'state' is not valid JSON") from None
    obj = _object(data, "state")
    stored = obj.get("samples", [])
    notified_at = _opt(obj, "notified_at", _aware_time)
    # Thinned as the next write would thin them: an item written with a longer history (an older
    # version kept every sample) costs its full size once, not on every run and not all at once.
    raw = _columns(stored) if isinstance(stored, dict) else tuple(_samples(_list(stored, "samples")))
    offsets = obj.get("used")
    counted = with_used(raw) if offsets is None else _with_offsets(raw, _list(offsets, "used"))
    decoded_samples = _thinned(counted)
    checked_at = _opt(obj, "checked_at", _aware_time)
    if checked_at is None and decoded_samples:  # items written before checked_at existed
        checked_at = decoded_samples[-1].at
    level = _enum(Level, _field(obj, "level", _string), "level", by_name=True)
    announced = _opt(obj, "announced", _string)
    return AccountState(
        level=level,
        announced=level if announced is None else _enum(Level, announced, "announced", by_name=True),
        notified_at=notified_at,
        consecutive_failures=_count(_field(obj, "consecutive_failures", _any), "consecutive_failures"),
        failing_notified=_field(obj, "failing_notified", _bool),
        running_out_notified=_opt(obj, "running_out_notified", _bool) or False,
        running_out_at=_opt(obj, "running_out_at", _aware_time),
        samples=decoded_samples,
        pace_since=_opt(obj, "pace_since", _aware_time),
        spike=_opt(obj, "spike", _spike),
        last_spike=_opt(obj, "last_spike", _spike),
        pools=_pools(obj.get("pools", []), "pools"),
        currency=_opt(obj, "currency", _currency),  # absent: credits, and items written before money
        renewal_due=_opt(obj, "renewal_due", _aware_time),
        renewal_missed=_opt(obj, "renewal_missed", _aware_time),
        untold=_by_family(obj.get("untold", {}), "untold"),
        told=_by_family(obj.get("told", {}), "told"),  # absent from older items: nothing recorded
        checked_at=checked_at,
        outbox=tuple(
            _pending(item, f"outbox[{i}]") for i, item in enumerate(_list(obj.get("outbox", []), "outbox"))
        ),
        snoozed_until=_opt(obj, "snoozed_until", _aware_time),
        snooze_reason=_opt(obj, "snooze_reason", _string),
        failing_since=_opt(obj, "failing_since", _aware_time),
        last_sent=_opt(obj, "last_sent", _string),
        last_sent_at=_opt(obj, "last_sent_at", _aware_time),
        version=version,
    )


def _columns(value: dict[str, object]) -> tuple[Sample, ...]:
    """The history `_encode_samples` wrote: times as a start and gaps, and balances (or cents as a
    start and changes)."""
    times = _list(value.get("t"), "samples.t")
    balances: list[object] = []
    if "c" in value:
        total = 0
        for index, change in enumerate(_list(value.get("c"), "samples.c")):
            if isinstance(change, bool) or not isinstance(change, int) or abs(change) >= 10**16:
                raise _Bad(f"'samples.c[{index}]' must be a whole number of cents")
            total += change
            balances.append(total / 100)
    else:
        balances = _list(value.get("b"), "samples.b")
    if len(times) != len(balances):
        raise _Bad("'samples' has as many times as balances")
    at, out = 0, []
    for index, (step, balance) in enumerate(zip(times, balances, strict=True)):
        if isinstance(step, bool) or not isinstance(step, int) or (index and step < 0):
            raise _Bad(f"'samples.t[{index}]' must be a whole number of seconds (and not negative)")
        at += step
        pair = [at, balance]
        out.append(_quick_sample(pair) or _sample(pair, f"samples[{index}]"))
    return tuple(out)


def _with_offsets(samples: tuple[Sample, ...], offsets: list[object]) -> tuple[Sample, ...]:
    """The samples with their count of credits used, from the offsets `_used_offsets` wrote."""
    if not samples:
        return samples
    changes: dict[int, float] = {}
    for i, pair in enumerate(offsets):
        where = f"used[{i}]"
        entry = _list(pair, where)
        if len(entry) != 2:
            raise _Bad(f"'{where}' must be [index, offset]")
        changes[_count(entry[0], where)] = _number(entry[1], where)
    first, offset, out = samples[0].balance, 0.0, []
    for index, sample in enumerate(samples):
        offset = changes.get(index, offset)
        used = round(offset + (first - sample.balance), USED_DIGITS)
        if not math.isfinite(used):
            raise _Bad(f"'used' gives sample {index} no finite count")
        out.append(Sample(sample.at, sample.balance, used))  # not replace(): several times its CPU
    return tuple(out)


MAX_RECEIVERS = routes.MAX_ROUTES * routes.MAX_RECEIVERS + 1
"""Receiver ids in one list of an item: every receiver an accounts file may declare (100 routes of
10), and the stack's topic."""


def _receivers(value: object, where: str) -> frozenset[str]:
    """A list of receiver ids (routes.Routing), each a short printable string."""
    found = _list(value, where)
    if len(found) > MAX_RECEIVERS:
        raise _Bad(f"'{where}' has more than {MAX_RECEIVERS} receivers")
    ids = [_string(item, where) for item in found]
    if any(len(item) > 300 or not item.isprintable() for item in ids):
        raise _Bad(f"'{where}' must list receiver ids")
    return frozenset(ids)


def _by_family(value: object, where: str) -> dict[Family, frozenset[str]]:
    obj = _object(value, where)
    return {_enum(Family, name, where): _receivers(ids, f"{where}.{name}") for name, ids in obj.items()}


def _spike(value: object, where: str) -> Spike:
    obj = _object(value, where)
    return Spike(
        since=_field(obj, "since", _aware_time),
        until=_field(obj, "until", _aware_time),
        spent=_field(obj, "spent", _number),
        checks=_count(obj.get("checks"), f"{where}.checks"),
        usual=_field(obj, "usual", _number),
    )


def _pools(value: object, where: str) -> tuple[Pool, ...]:
    pools = []
    for i, entry in enumerate(_list(value, where)):
        item = _list(entry, f"{where}[{i}]")
        if len(item) != 3:
            raise _Bad(f"'{where}[{i}]' must be [name, credits, renews]")
        pools.append(Pool(_string(item[0], where), _number(item[1], where), _bool(item[2], where)))
    return tuple(pools)


def _thinned(samples: tuple[Sample, ...]) -> tuple[Sample, ...]:
    return thin(samples, samples[-1].at) if samples else samples


def _any(value: object, where: str) -> object:
    return value


def _field(obj: Mapping[str, object], name: str, kind: Callable[[object, str], Any]) -> Any:
    if name not in obj:
        raise _Bad(f"'{name}' is missing")
    return kind(obj[name], name)


def _opt(obj: Mapping[str, object], name: str, kind: Callable[[object, str], Any]) -> Any:
    value = obj.get(name)
    return None if value is None else kind(value, name)


def _object(value: object, where: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise _Bad(f"'{where}' must be an object")
    return value


def _list(value: object, where: str) -> list[object]:
    if not isinstance(value, list):
        raise _Bad(f"'{where}' must be a list")
    return value


def _string(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise _Bad(f"'{where}' must be a string")
    return value


def _currency(value: object, where: str) -> str:
    """An ISO 4217 code as `model.Balance.currency` holds it: shown in messages and `status`, so
    nothing else is let through."""
    text = _string(value, where)
    if not CURRENCY.fullmatch(text):
        raise _Bad(f"'{where}' must be a three-letter currency code in capitals")
    return text


def _bool(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise _Bad(f"'{where}' must be true or false")
    return value


def _number(value: object, where: str) -> float:
    try:
        number = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan
    except OverflowError:  # an integer of 309 digits or more
        number = math.nan
    if not math.isfinite(number):
        raise _Bad(f"'{where}' must be a finite number")
    return number


def _count(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < MAX_COUNT:
        raise _Bad(f"'{where}' must be a whole number from 0 to {MAX_COUNT - 1}")
    return value


def _aware_time(value: object, where: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(_string(value, where))
    except ValueError:
        raise _Bad(f"'{where}' must be an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise _Bad(f"'{where}' has no time zone")
    try:
        parsed.astimezone(UTC)  # 9999-12-31T23:00-14:00 parses, but no clock or zone can show it
    except OverflowError:
        raise _Bad(f"'{where}' has an impossible time") from None
    return parsed


def _enum(kind: Any, value: str, where: str, *, by_name: bool = False) -> Any:
    try:
        return kind[value] if by_name else kind(value)
    except (KeyError, ValueError):
        raise _Bad(f"'{where}' has an unknown value {value[:40]!r}") from None


_NUMBERS = (int, float)


def _samples(pairs: list[object]) -> Iterator[Sample]:
    """Every [time, balance] pair, checked; a pair that fails the quick checks gets the full ones,
    which name what is wrong."""
    for index, pair in enumerate(pairs):
        yield _quick_sample(pair) or _sample(pair, f"samples[{index}]")


def _quick_sample(pair: object) -> Sample | None:
    """A well-formed [time, balance] pair, without the checks that name a fault; None otherwise."""
    if type(pair) is not list or len(pair) != 2:
        return None
    at, balance = pair
    if type(at) not in _NUMBERS or type(balance) not in _NUMBERS:
        return None
    try:
        if not math.isfinite(balance):
            return None
        return Sample(datetime.fromtimestamp(at, UTC), float(balance))
    except (OverflowError, OSError, ValueError):  # a number or time too big: _sample names it
        return None


def _sample(value: object, where: str) -> Sample:
    pair = _list(value, where)
    if len(pair) != 2:
        raise _Bad(f"'{where}' must be [time, balance]")
    at = _number(pair[0], where)
    try:
        moment = datetime.fromtimestamp(at, UTC)
    except (OverflowError, OSError, ValueError):
        raise _Bad(f"'{where}' has an impossible time") from None
    return Sample(moment, _number(pair[1], where))


def _pending(value: object, where: str) -> Pending:
    obj = _object(value, where)
    note = _object(obj.get("note"), f"{where}.note")
    outlook = note.get("forecast")
    forecast = None
    if outlook is not None:
        fobj = _object(outlook, f"{where}.note.forecast")
        forecast = Forecast(
            _enum(ForecastStatus, _string(fobj.get("status"), "status"), f"{where}.note.forecast.status"),
            burn_per_day=_opt(fobj, "burn_per_day", _number),
            days_left=_opt(fobj, "days_left", _number),
        )
    failure = _opt(note, "failure", _string)
    return Pending(
        id=_field(obj, "id", _string),
        note=Notification(
            kind=_enum(Kind, _field(note, "kind", _string), f"{where}.note.kind"),
            account=_field(note, "account", _string),
            level=_enum(Level, _field(note, "level", _string), f"{where}.note.level", by_name=True),
            balance=_opt(note, "balance", _number),
            threshold=_opt(note, "threshold", _number),
            forecast=forecast,
            failures=_count(note.get("failures", 0), f"{where}.note.failures"),
            reason=_opt(note, "reason", _string),
            failure=None if failure is None else _enum(FailureKind, failure, f"{where}.note.failure"),
            since=_opt(note, "since", _aware_time),
            renews_at=_opt(note, "renews_at", _aware_time),
            renewed=_opt(note, "renewed", _bool) or False,
            spike=_opt(note, "spike", _spike),
            pools=_pools(note.get("pools", []), f"{where}.note.pools"),
            clears=None
            if note.get("clears") is None
            else _enum(Kind, _string(note.get("clears"), "clears"), f"{where}.note.clears"),
            skip=_receivers(note.get("skip", []), f"{where}.note.skip"),
            audience=None
            if note.get("audience") is None
            else _receivers(note.get("audience"), f"{where}.note.audience"),
            currency=_opt(note, "currency", _currency),
        ),
        created_at=_field(obj, "created_at", _aware_time),
        lease_owner=_opt(obj, "lease_owner", _string),
        lease_until=_opt(obj, "lease_until", _aware_time),
        attempts=_count(obj.get("attempts", 0), f"{where}.attempts"),  # absent from older items
        due=_receivers(obj.get("due", []), f"{where}.due"),
        delivered_to=_receivers(obj.get("delivered_to", []), f"{where}.delivered_to"),
    )


def _state_text(attribute: Mapping[str, Any]) -> str:
    """The state's JSON text: zlib-compressed bytes as this code writes them, or plain text as
    earlier versions did. Raises _Bad for anything else, or for bytes that do not inflate into
    UTF-8 of at most MAX_STATE_BYTES."""
    if "S" in attribute:
        return str(attribute["S"])
    if "B" not in attribute:
        raise _Bad("the 'state' attribute is missing or not compressed bytes")
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(bytes(attribute["B"]), MAX_STATE_BYTES)
        if inflater.unconsumed_tail or not inflater.eof:
            raise _Bad(
                "'state' does not inflate into a whole state"
                + (f" of at most {MAX_STATE_BYTES // 1024} KB" if inflater.unconsumed_tail else "")
            )
        if inflater.unused_data:
            raise _Bad("'state' has bytes after its compressed state")
        return data.decode()
    except (zlib.error, UnicodeDecodeError):
        raise _Bad("'state' is not zlib-compressed UTF-8 JSON") from None


# --- the store ----------------------------------------------------------------------------------


class DynamoStateStore:
    """The StateStore port on DynamoDB: one item per account, `version` for conditional writes."""

    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self._table = table_name
        self._client: DynamoDBClient = client or aws.client("dynamodb")

    def load(self, accounts: Iterable[str]) -> dict[str, AccountState | StateError]:
        """Raises StateError when the table cannot be read; a bad item is that account's error."""
        names = list(accounts)
        found: dict[str, AccountState | StateError] = {}
        for start in range(0, len(names), BATCH_GET_LIMIT):
            keys: list[Any] = [{KEY: {"S": n}} for n in names[start : start + BATCH_GET_LIMIT]]
            for attempt in range(UNPROCESSED_ATTEMPTS):
                if not keys:
                    break
                if attempt:
                    time.sleep(0.05 * 2**attempt)  # DynamoDB asks for backoff before unprocessed keys
                try:
                    response = self._client.batch_get_item(
                        RequestItems={self._table: {"Keys": keys, "ConsistentRead": True}}
                    )
                except (ClientError, BotoCoreError) as exc:
                    raise StateError(f"could not read alert state from table {self._table!r}: {exc}") from exc
                for item in response["Responses"].get(self._table, []):
                    name = item.get(KEY, {}).get("S", "")
                    found[name] = self._decode_item(name, item)
                unprocessed = response.get("UnprocessedKeys", {}).get(self._table)
                keys = list(unprocessed["Keys"]) if unprocessed else []
            for key in keys:  # still unprocessed: those accounts cannot be decided this run
                name = key[KEY]["S"]
                found[name] = StateError(
                    f"alert state for {name!r} was not returned by {self._table!r} (throttled)"
                )
        return {name: found.get(name, AccountState()) for name in names}

    def _decode_item(self, account: str, item: Mapping[str, Any]) -> AccountState | StateError:
        try:
            version_attr = item.get("version", {})
            if "N" not in version_attr:
                raise _Bad("'version' must be a DynamoDB number")
            version = _count(int(version_attr["N"]), "version")
            return decode(_state_text(item.get("state", {})), version)
        except (ValueError, TypeError, OverflowError, RecursionError) as exc:  # one item, one account
            reset = reset_command(self._table, account)
            return CorruptState(
                f"alert state for {account!r} in table {self._table!r} cannot be decoded ({exc});"
                f" its alerts are paused until it is fixed, or reset with: {reset}"
                " (the next run starts it afresh)"
            )

    def put(self, account: str, state: AccountState, expected_version: int) -> bool:
        """Write `state` (whose version is the new one) only if the item is still at `expected_version`.
        False when another run changed it first."""
        arguments = self._conditional_put(account, state, expected_version)
        try:
            self._client.put_item(**arguments)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in LOST_RACE_CODES:
                return False
            raise StateError(f"could not write alert state for {account}: {exc}") from exc
        except BotoCoreError as exc:
            raise StateError(f"could not write alert state for {account}: {exc}") from exc
        return True

    def put_many(self, writes: Sequence[StateWrite]) -> dict[str, bool]:
        """Each write as `put` would make it, up to TRANSACT_LIMIT in one TransactWriteItems call.

        True for each account written. A transaction is all or nothing: when one of its writes
        loses a race, or the call fails, none is written and every account of that call is False,
        for the caller to write alone with `put` (which tells a lost race from an error). botocore
        retries a call with the same ClientRequestToken, so a retry after a lost reply does not
        write twice. Never raises."""
        written = dict.fromkeys((write.account for write in writes), False)
        actions: list[tuple[str, Any]] = []
        for write in writes:
            try:
                actions.append((write.account, {"Put": self._conditional_put(*write)}))
            except StateError:  # left to `put`, which reports it for that account alone
                continue
        for start in range(0, len(actions), TRANSACT_LIMIT):
            chunk = actions[start : start + TRANSACT_LIMIT]
            try:
                self._client.transact_write_items(TransactItems=[action for _, action in chunk])
            except (ClientError, BotoCoreError):
                continue
            written.update((account, True) for account, _ in chunk)
        return written

    def _conditional_put(self, account: str, state: AccountState, expected_version: int) -> dict[str, Any]:
        """PutItem's arguments (and a transaction's Put): the compressed state, written only over
        `expected_version` (or where there is no item yet)."""
        try:
            text = encode(state)
        except ValueError as exc:  # the item keeps its last state, which can still be read
            raise StateError(
                f"could not write alert state for {account}: it holds a number that is not"
                f" a finite number ({exc})"
            ) from exc
        return {
            "TableName": self._table,
            "Item": {
                KEY: {"S": account},
                "version": {"N": str(state.version)},
                "state": {"B": zlib.compress(text.encode())},
            },
            "ConditionExpression": "attribute_not_exists(#key) OR version = :expected",
            "ExpressionAttributeNames": {"#key": KEY},
            "ExpressionAttributeValues": {":expected": {"N": str(expected_version)}},
        }

    # --- for the operator's CLI (its own credentials; the function never calls these) ------------

    def scan(self) -> dict[str, AccountState | StateError]:
        """Every account's state, for `credit-monitor status`. Bounded: MAX_SCANNED items."""
        found: dict[str, AccountState | StateError] = {}
        start: dict[str, Any] | None = None
        while len(found) < MAX_SCANNED:
            kwargs: dict[str, Any] = {"TableName": self._table, "ConsistentRead": True}
            if start:
                kwargs["ExclusiveStartKey"] = start
            try:
                page = self._client.scan(**kwargs)
            except (ClientError, BotoCoreError) as exc:
                raise StateError(f"could not read alert state from table {self._table!r}: {exc}") from exc
            for item in page.get("Items", []):
                name = item.get(KEY, {}).get("S", "")
                if not name.startswith("#"):  # the digest's own item (digest.DIGEST_KEY) is no account
                    found[name] = self._decode_item(name, item)
            start = page.get("LastEvaluatedKey")
            if not start:
                break
        return found

    def change(self, account: str, change: Callable[[AccountState], AccountState]) -> AccountState:
        """Apply `change` with a conditional write, re-reading when a run wrote first: a snooze
        never overwrites what a scheduled run recorded, and a run never loses a snooze."""
        for _ in range(CHANGE_ATTEMPTS):
            current = self.load([account])[account]
            if isinstance(current, StateError):
                raise current
            if current.version == 0:  # no item: a typo would otherwise create a phantom account
                raise StateError(
                    f"no account {account!r} in table {self._table!r}; `credit-monitor status` lists the"
                    " accounts the function has checked"
                )
            written = replace(change(current), version=current.version + 1)
            if self.put(account, written, expected_version=current.version):
                return written
        raise StateError(f"alert state for {account} kept changing under us ({CHANGE_ATTEMPTS} attempts)")
