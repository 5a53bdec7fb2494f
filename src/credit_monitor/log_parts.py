"""The run's summary as several log lines, each well under CloudWatch Logs' 256 KB per event. Pure.

A summary entry is about 250 bytes, so 1,000 accounts make one line of about 260 KB, which
CloudWatch Logs would cut. Accounts are split, in order, into parts of at most PART_BYTES of JSON
each; every entry appears whole in exactly one part, so nothing is lost.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

PART_BYTES = 64 * 1024
"""A quarter of CloudWatch Logs' event limit (256 KB): room for the logger's own fields, and a
line that still reads in the console. About 250 accounts a part."""


def summary_parts(
    accounts: Mapping[str, Mapping[str, object]], limit: int = PART_BYTES
) -> list[dict[str, Mapping[str, object]]]:
    """The accounts in order, grouped so each group's JSON is at most `limit` bytes (an entry larger
    than `limit` by itself is a part of its own). Always at least one part, empty or not."""
    parts: list[dict[str, Mapping[str, object]]] = [{}]
    size = 2  # "{}"
    for name, entry in accounts.items():
        entry_bytes = len(json.dumps({name: entry}, default=str).encode())  # less the braces, plus ", "
        if parts[-1] and size + entry_bytes > limit:
            parts.append({})
            size = 2
        parts[-1][name] = entry
        size += entry_bytes
    return parts
