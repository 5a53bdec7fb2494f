"""Foreign text (vendor replies, state items) made safe to print: every control character, bidi
override and lone surrogate escaped visibly; everything else, including other scripts, kept."""

from __future__ import annotations

import unicodedata

import pytest

from credit_monitor.printable import printable

HIDDEN = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),  # ANSI colour
        ("\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"),  # set the terminal's title, then BEL
        ("bell\x07", "bell\\x07"),
        ("nul\x00", "nul\\x00"),
        ("two\nlines\r\ttab", "two\\nlines\\r\\ttab"),
        ("del\x7f", "del\\x7f"),
        ("c1 csi\x9b31m", "c1 csi\\x9b31m"),  # the one-byte CSI of C1
        ("abc\u202edcba", "abc\\u202edcba"),  # right-to-left override
        ("\u2066isolate\u2069", "\\u2066isolate\\u2069"),
        ("zero\u200bwidth", "zero\\u200bwidth"),
        ("line\u2028sep", "line\\u2028sep"),
        ("\ufeffbom", "\\ufeffbom"),
        ("tag\U000e0041", "tag\\U000e0041"),
        ("lone \ud800 surrogate", "lone \\ud800 surrogate"),
        ("escaped \udcff byte", "escaped \\udcff byte"),
    ],
)
def test_hidden_characters_are_escaped_visibly(text: str, shown: str) -> None:
    assert printable(text) == shown


@pytest.mark.parametrize("text", ["plain ascii", "café", "日本語", "emoji 🚀", "▁▂▃█", "a\\x1b stays", ""])
def test_ordinary_text_is_unchanged(text: str) -> None:
    assert printable(text) == text


def test_every_code_point_comes_out_encodable_and_visible() -> None:
    everything = "".join(map(chr, range(0x110000)))
    shown = printable(everything)
    shown.encode("utf-8")  # strict: no lone surrogate survives
    assert not any(unicodedata.category(ch) in HIDDEN for ch in shown)
    assert printable(shown) == shown, "escaping twice changes nothing more"


@pytest.mark.parametrize(
    ("text", "limit", "shown"),
    [
        ("short", 5, "short"),
        ("longer", 5, "long…"),
        ("ab\x1b", 5, "ab…"),  # "ab\\x1b" is 6 long: the escape is not cut in two
        ("a\x1b", 5, "a\\x1b"),
        ("x" * 300_000, 64, "x" * 63 + "…"),
    ],
)
def test_a_limit_cuts_visibly_and_never_inside_an_escape(text: str, limit: int, shown: str) -> None:
    assert printable(text, limit) == shown
    assert len(printable(text, limit)) <= limit
