"""The API keys the tests use, and the check that none of them ever shows up anywhere, in any form."""

from __future__ import annotations

from credit_monitor.keys import key_forms

FULLENRICH_KEY = "fe_live_4f1c9a7e2b8d4c06a1e3"
LEMLIST_KEY = "lm_7d2e5b9c1a3f4e8b6c0d"

# Keys as people paste them into a secret by mistake: each must fail its own check, unsent and unseen.
KEY_WITH_LINE_BREAK = "lm_3c5e7a9b\n1d2f4a6c8e0b"
KEY_WITH_CONTROL_CHARACTER = "lm_8b6d4f2a\x001c3e5a7b9d"
KEY_WITH_NON_ASCII = "lm_5a7c9e1b\u200b3d5f7a9c1e"  # a zero-width space from a rich-text paste
HOSTILE_KEYS = (KEY_WITH_LINE_BREAK, KEY_WITH_CONTROL_CHARACTER, KEY_WITH_NON_ASCII)

ALL_KEYS = {
    "the FullEnrich key": FULLENRICH_KEY,
    "the lemlist key": LEMLIST_KEY,
    "the key with a line break": KEY_WITH_LINE_BREAK,
    "the key with a control character": KEY_WITH_CONTROL_CHARACTER,
    "the key with a non-ASCII character": KEY_WITH_NON_ASCII,
}


def assert_no_key_leaked(*texts: str) -> None:
    """No test key, raw, escaped, URL-encoded or as an HTTP Basic token, in any of `texts`."""
    for name, key in ALL_KEYS.items():
        for form in key_forms(key):
            for text in texts:
                # The message names the key, never the form: a failing test must not leak it either.
                assert form not in text, f"{name} leaked into output (one of its {len(key_forms(key))} forms)"
