"""A money balance through the real handler: an http-json account whose reply is dollars, checked on
a loopback HTTPS simulator; its notifications read back from the topic's SQS subscriber and
`status` from the state table say every amount in dollars, a reminder a day later included."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from credit_monitor import app
from credit_monitor.cli import EXIT_OK, main
from tests.support.aws import Stack
from tests.support.harness import Invoke, SimClock
from tests.support.keys import FULLENRICH_KEY, LEMLIST_KEY
from tests.support.simulators import Reply
from tests.support.vendors import KeyPlace, Vendor, VendorSimulator

KEY = "acme-pay-live-3e9b1d7c5a"
ACME_PAY = Vendor(
    name="acme-pay",
    base_path="",
    path="/v1/wallet",
    key=KeyPlace("bearer"),
    success=lambda balance: {"wallet": {"available": balance, "currency": "usd"}},
    bad_key=Reply(401, {"message": "invalid API key"}),
    missing_key=Reply(401, {"message": "no API key"}),
)
ACCOUNTS = """
[[account]]
id = "acme-pay"
provider = "http-json"
display_name = "Acme Pay"
url = "{url}/v1/wallet"
auth = {{ kind = "bearer" }}
balance = "wallet.available"
currency_path = "wallet.currency"
warning = 20
"""


@pytest.fixture
def secret_string() -> str:
    return json.dumps({"fullenrich": FULLENRICH_KEY, "lemlist": LEMLIST_KEY, "acme-pay": KEY})


@pytest.fixture
def wallet(
    function_env: dict[str, str],
    server_cert: trustme.LeafCert,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[VendorSimulator]:
    """The function watches one http-json account, whose reply is a wallet in dollars."""
    with VendorSimulator(ACME_PAY, server_cert, KEY, balance=80) as simulator:
        path = tmp_path / "accounts.toml"
        path.write_text(ACCOUNTS.format(url=simulator.origin))
        monkeypatch.setenv("ACCOUNTS_FILE", str(path))
        app.runtime.cache_clear()
        yield simulator


def test_a_money_account_is_told_of_and_listed_in_its_currency(
    wallet: VendorSimulator, invoke: Invoke, stack: Stack
) -> None:
    clock = SimClock()
    invoke(clock)
    wallet.balance = 12.4
    clock.advance(1)
    first = invoke(clock)
    wallet.balance = 11
    clock.advance(24)
    invoke(clock)

    assert first.metric("CreditsRemaining") == {"acme-pay": 12.4}  # the metric is the balance, in dollars
    [low, reminder] = stack.inbox.messages()
    assert (
        low["Subject"].encode() == b"[credit-monitor] Acme Pay (acme-pay) balance below warning: $12.40 left"
    )
    text = low["Message"].encode()
    assert b"Acme Pay (acme-pay) balance fell below the warning level." in text
    assert b"\n  Balance:       $12.40\n" in text
    assert b"\n  Level crossed: warning ($20.00)\n" in text
    assert b" credits" not in text  # (the dashboard is named credit-monitor-credits)
    # Sent a day later, from the state item: the unit came with it.
    assert (
        reminder["Subject"].encode()
        == b"[credit-monitor] Reminder: Acme Pay (acme-pay) still below warning, $11.00 left"
    )
    assert b"\n  Balance:       $11.00\n" in reminder["Message"].encode()

    buffer = io.BytesIO()
    out = io.TextIOWrapper(buffer, encoding="utf-8", errors="strict")
    assert main(["status", "--table", stack.table_name], out=out) == EXIT_OK
    out.flush()
    [row] = [line for line in buffer.getvalue().splitlines() if line.startswith(b"acme-pay ")]
    assert row.split()[:3] == [b"acme-pay", b"WARNING", b"$11.00"]
