"""The API keys the tests use, and the check that none of them ever shows up anywhere."""

from __future__ import annotations

FULLENRICH_KEY = "fe_live_4f1c9a7e2b8d4c06a1e3"
LEMLIST_KEY = "lm_7d2e5b9c1a3f4e8b6c0d"


def assert_no_key_leaked(*texts: str) -> None:
    for text in texts:
        assert FULLENRICH_KEY not in text, "the FullEnrich key leaked into output"
        assert LEMLIST_KEY not in text, "the lemlist key leaked into output"
