"""The API keys the tests use, and the check that none of them ever shows up anywhere, in any form."""

from __future__ import annotations

import functools
import re

from credit_monitor.keys import KEY_FRAGMENT_MIN_CHARS, key_forms

FULLENRICH_KEY = "fe_live_4f1c9a7e2b8d4c06a1e3"
LEMLIST_KEY = "lm_7d2e5b9c1a3f4e8b6c0d"
LONG_KEY = "secret_5e8a1c7b3d9f2a4e6b8c0d1f3a5c7e9b2d4f6a8c0e"
"""48 characters: longer than the 40 a provider shows of a status, so a cut would fall inside it."""

# Keys as people paste them into a secret by mistake: each must fail its own check, unsent and unseen.
KEY_WITH_LINE_BREAK = "lm_3c5e7a9b\n1d2f4a6c8e0b"
KEY_WITH_CONTROL_CHARACTER = "lm_8b6d4f2a\x001c3e5a7b9d"
KEY_WITH_NON_ASCII = "lm_5a7c9e1b\u200b3d5f7a9c1e"  # a zero-width space from a rich-text paste
HOSTILE_KEYS = (KEY_WITH_LINE_BREAK, KEY_WITH_CONTROL_CHARACTER, KEY_WITH_NON_ASCII)

ALL_KEYS = {
    "the FullEnrich key": FULLENRICH_KEY,
    "the lemlist key": LEMLIST_KEY,
    "the long key": LONG_KEY,
    "the key with a line break": KEY_WITH_LINE_BREAK,
    "the key with a control character": KEY_WITH_CONTROL_CHARACTER,
    "the key with a non-ASCII character": KEY_WITH_NON_ASCII,
}

# The receivers' secrets (tests/support/receivers.py serves them): what is after the host of each
# webhook URL, the PagerDuty routing key and the webhook's signing secret. Any run of 8 characters
# of one counts as a leak, so none holds words our messages use ("credit-monitor").
SLACK_TOKEN = "xq7Lm2Pz9Rk4Tw6Yb8Nc3Vd5"
SLACK_PATH = f"/services/T0RCVR01A/B0RCVR02B/{SLACK_TOKEN}"
TEAMS_SIGNATURE = "Zp4Kq7Wm2Xc9Vb3Nr8Ts1Ly6Hd5Fg0JaQe"
TEAMS_PATH = (
    "/workflows/9c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d/triggers/manual/paths/invoke"
    f"?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={TEAMS_SIGNATURE}"
)
PAGERDUTY_ROUTING_KEY = "R4c7e9a1b3d5f7a9c1e3b5d7f9a1c3e5"
WEBHOOK_TOKEN = "hk_5b7d9f1a3c5e7b9d1f3a5c7e"
WEBHOOK_PATH = f"/hooks/{WEBHOOK_TOKEN}"
WEBHOOK_SIGNING_SECRET = "whsec_3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e"

RECEIVER_SECRETS = {
    "the Slack webhook's token": SLACK_TOKEN,
    "the Slack webhook's path": SLACK_PATH,
    "the Teams webhook's signature": TEAMS_SIGNATURE,
    "the Teams webhook's path": TEAMS_PATH,
    "the PagerDuty routing key": PAGERDUTY_ROUTING_KEY,
    "the webhook's path": WEBHOOK_PATH,
    "the webhook's signing secret": WEBHOOK_SIGNING_SECRET,
}

_INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\ufeff\ufffd]")
_U_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_PERCENT = re.compile(r"%([0-9a-fA-F]{2})")


@functools.cache
def _runs(key: str) -> frozenset[str]:
    """Every run of KEY_FRAGMENT_MIN_CHARS characters of every form of `key`: a cut prefix too."""
    size = KEY_FRAGMENT_MIN_CHARS
    return frozenset(
        form[i : i + size] for form in key_forms(key) for i in range(max(1, len(form) - size + 1))
    )


def _views(text: str) -> list[str]:
    """`text` as written, and as a reader would decode it: escapes undone (twice: a log line is
    JSON holding JSON), NULs and other invisible characters dropped (UTF-16 read as UTF-8)."""
    views = [text]
    for _ in range(2):
        text = text.replace("\\\\", "\\")
        text = _U_ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), text)
        text = _PERCENT.sub(lambda match: chr(int(match.group(1), 16)), text)
        text = text.replace("\\/", "/")
        views.append(_INVISIBLE.sub("", text))
    return views


def assert_no_key_leaked(*texts: str, keys: dict[str, str] = ALL_KEYS) -> None:
    """No test key (or receiver secret, with `keys=RECEIVER_SECRETS`), raw, escaped, URL-encoded or
    as an HTTP Basic token, whole or any run of 8 of its characters, in any of `texts` as written or
    as decoded."""
    size = KEY_FRAGMENT_MIN_CHARS
    for name, key in keys.items():
        runs = _runs(key)
        for text in texts:
            for view in _views(text):
                found = any(view[i : i + size] in runs for i in range(len(view) - size + 1))
                # The message names the key, never the form: a failing test must not leak it either.
                assert not found, f"{name} leaked into output (one of its {len(key_forms(key))} forms)"
