"""Access tokens are reused for their lifetime less a margin, per endpoint and credentials, bounded."""

from __future__ import annotations

from credit_monitor.providers import Token
from credit_monitor.token_cache import TokenCache

URL = "https://auth.example.com/token"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_token_is_reused_until_a_minute_before_it_expires() -> None:
    clock = Clock()
    cache = TokenCache(clock)
    cache.put(URL, "id:secret", Token("tok", 3600))

    clock.now += 3539
    assert cache.get(URL, "id:secret") == "tok"
    clock.now += 1
    assert cache.get(URL, "id:secret") is None
    assert len(cache) == 0, "an expired token is forgotten, not kept"


def test_a_short_lived_token_keeps_a_tenth_of_its_life_as_margin_and_a_dead_one_is_not_kept() -> None:
    clock = Clock()
    cache = TokenCache(clock)
    cache.put(URL, "a:b", Token("short", 100))
    cache.put(URL, "c:d", Token("dead", 0))

    clock.now += 89
    assert cache.get(URL, "a:b") == "short"
    clock.now += 1
    assert cache.get(URL, "a:b") is None
    assert cache.get(URL, "c:d") is None


def test_tokens_are_kept_apart_by_endpoint_and_credentials_and_dropped_on_demand() -> None:
    cache = TokenCache(Clock())
    cache.put(URL, "a:b", Token("one", 3600))
    cache.put(URL + "2", "a:b", Token("two", 3600))
    cache.put(URL, "a:c", Token("three", 3600))

    assert [cache.get(URL, "a:b"), cache.get(URL + "2", "a:b"), cache.get(URL, "a:c")] == [
        "one",
        "two",
        "three",
    ]
    cache.drop(URL, "a:b")
    assert cache.get(URL, "a:b") is None
    assert cache.get(URL, "a:c") == "three"


def test_the_cache_is_bounded_the_least_recently_used_going_first() -> None:
    cache = TokenCache(Clock(), max_entries=2)
    cache.put(URL, "a", Token("a", 3600))
    cache.put(URL, "b", Token("b", 3600))
    assert cache.get(URL, "a") == "a"  # now the most recent
    cache.put(URL, "c", Token("c", 3600))

    assert len(cache) == 2
    assert [cache.get(URL, "a"), cache.get(URL, "b"), cache.get(URL, "c")] == ["a", None, "c"]


def test_the_credentials_are_never_stored_only_their_hash() -> None:
    cache = TokenCache(Clock())
    cache.put(URL, "client-id:very-secret-value", Token("tok", 3600))
    assert "very-secret-value" not in repr(cache._tokens)


def test_dropping_a_refused_token_never_drops_a_newer_one() -> None:
    cache = TokenCache(Clock())
    cache.put(URL, "a:b", Token("new", 3600))
    cache.drop(URL, "a:b", "old")
    assert cache.get(URL, "a:b") == "new"
    cache.drop(URL, "a:b", "new")
    assert cache.get(URL, "a:b") is None


def test_checks_of_one_credential_share_one_buying_lock_and_others_get_their_own() -> None:
    cache = TokenCache(Clock(), max_entries=2)
    assert cache.buying(URL, "a:b") is cache.buying(URL, "a:b")
    assert cache.buying(URL, "a:b") is not cache.buying(URL, "a:c")
    cache.buying(URL, "x:y")
    assert len(cache._buying) == 2, "bounded as the tokens are"
