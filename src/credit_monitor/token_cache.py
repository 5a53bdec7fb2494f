"""Access tokens from token exchanges, reused for their lifetime across accounts and warm runs.

Keyed by the token endpoint and a hash of the credentials that bought the token, never by the
credentials themselves; bounded (the oldest entry goes first). A token is dropped a little before
it expires, so that a check never sends one that dies in flight, and at once when a balance
request answers 401 (the token may have been revoked). Thread-safe: checks run concurrently, and
accounts sharing credentials buy one token between them, not one each (`buying`).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from credit_monitor.providers.base import Token

MAX_ENTRIES = 256
EXPIRY_MARGIN_SECONDS = 60.0
"""A token is given up this long before its end (or at 90 % of a shorter life)."""


class TokenCache:
    def __init__(self, clock: Callable[[], float] = time.monotonic, max_entries: int = MAX_ENTRIES) -> None:
        self._clock = clock
        self._max_entries = max_entries
        self._tokens: OrderedDict[tuple[str, str], tuple[str, float]] = OrderedDict()
        self._buying: OrderedDict[tuple[str, str], threading.Lock] = OrderedDict()
        self._lock = threading.Lock()

    def buying(self, url: str, credentials: str) -> threading.Lock:
        """The lock a check holds while it buys a token for these credentials: the others wait for
        it and then find the token cached, instead of each making an exchange of its own."""
        slot = _slot(url, credentials)
        with self._lock:
            lock = self._buying.setdefault(slot, threading.Lock())
            self._buying.move_to_end(slot)
            while len(self._buying) > self._max_entries:
                self._buying.popitem(last=False)
            return lock

    def get(self, url: str, credentials: str) -> str | None:
        """The cached token for these credentials at this endpoint, if it is still good."""
        slot = _slot(url, credentials)
        with self._lock:
            cached = self._tokens.get(slot)
            if cached is None:
                return None
            token, good_until = cached
            if self._clock() >= good_until:
                del self._tokens[slot]
                return None
            self._tokens.move_to_end(slot)
            return token

    def put(self, url: str, credentials: str, token: Token) -> None:
        life = token.expires_in - min(EXPIRY_MARGIN_SECONDS, token.expires_in * 0.1)
        if life <= 0:
            return
        slot = _slot(url, credentials)
        with self._lock:
            self._tokens[slot] = (token.access_token, self._clock() + life)
            self._tokens.move_to_end(slot)
            while len(self._tokens) > self._max_entries:
                self._tokens.popitem(last=False)

    def drop(self, url: str, credentials: str, token: str | None = None) -> None:
        """Forget the token for these credentials; with `token`, only if it is still that one (a
        check whose old token was refused never drops the new one another check just bought)."""
        slot = _slot(url, credentials)
        with self._lock:
            cached = self._tokens.get(slot)
            if cached is not None and (token is None or cached[0] == token):
                del self._tokens[slot]

    def __len__(self) -> int:
        with self._lock:
            return len(self._tokens)


def _slot(url: str, credentials: str) -> tuple[str, str]:
    return url, hashlib.sha256(credentials.encode()).hexdigest()


TOKENS = TokenCache()
"""One per process: a warm Lambda sandbox reuses a token a previous run bought."""
