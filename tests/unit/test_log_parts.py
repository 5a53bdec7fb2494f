from __future__ import annotations

import json

from credit_monitor.log_parts import summary_parts


def test_parts_keep_every_entry_in_order_each_within_the_limit() -> None:
    accounts = {f"account-{n:03d}": {"status": "OK", "balance": n, "pad": "x" * (n % 50)} for n in range(300)}

    parts = summary_parts(accounts, limit=2000)

    assert len(parts) > 1
    assert all(len(json.dumps(part).encode()) <= 2000 for part in parts)
    assert [name for part in parts for name in part] == list(accounts)
    assert {name: entry for part in parts for name, entry in part.items()} == accounts


def test_an_entry_over_the_limit_is_a_part_of_its_own_and_none_is_an_empty_part() -> None:
    big = {"reason": "y" * 500}

    assert summary_parts({"a": {}, "b": big, "c": {}}, limit=100) == [{"a": {}}, {"b": big}, {"c": {}}]
    assert summary_parts({}) == [{}]
