"""Foreign text made safe to print: what a vendor replied or a state item holds reaches a terminal
only as visible characters. Pure.

Control characters (C0, DEL, C1), format characters (bidi overrides and isolates, zero-width
characters, the BOM, tag characters), line and paragraph separators and lone surrogates are
written as escapes (`\\x1b`, `\\u202e`, `\\ud800`), never dropped: a reader sees that something
was there, a terminal cannot be driven by it, and the text always encodes as UTF-8. Letters,
symbols and emoji of every script are kept. A backslash is kept as it is.
"""

from __future__ import annotations

import unicodedata

HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
"""Control, format, surrogate, line and paragraph separator: what a terminal obeys or hides."""
SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
ELLIPSIS = "…"


def printable(text: str, limit: int | None = None) -> str:
    """`text` with every hidden character replaced by its escape; with `limit`, at most that many
    characters, a cut shown by a final "…" (an escape is never cut in two)."""
    if text.isascii() and text.isprintable() and (limit is None or len(text) <= limit):
        return text
    hidden = HIDDEN_CATEGORIES
    pieces = [_escape(char) if unicodedata.category(char) in hidden else char for char in text]
    shown = "".join(pieces)
    if limit is None or len(shown) <= limit:
        return shown
    kept: list[str] = []
    size = 0
    for piece in pieces:
        if size + len(piece) > limit - len(ELLIPSIS):
            break
        kept.append(piece)
        size += len(piece)
    return "".join(kept) + ELLIPSIS


def _escape(char: str) -> str:
    code = ord(char)
    if char in SHORT_ESCAPES:
        return SHORT_ESCAPES[char]
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
