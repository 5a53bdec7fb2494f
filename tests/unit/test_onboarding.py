"""`keys set --check`'s answer: the balance the vendor gave for the key, in the account's unit."""

from __future__ import annotations

from credit_monitor.config import Account
from credit_monitor.model import Balance, CheckResult
from credit_monitor.onboarding import Target, vendor_answer
from credit_monitor.providers import CATALOGUE


def answer(provider: str, balance: Balance) -> str:
    account = Account("acme", CATALOGUE[provider], CATALOGUE[provider].default_api_url, threshold=10)
    return vendor_answer(Target("acme", (account,), "the accounts file"), CheckResult("acme", 10, balance))


def test_the_answer_says_credits_or_the_money_in_its_currency() -> None:
    assert answer("lemlist", Balance(800)) == "acme: lemlist answered this key with a balance of 800 credits"
    assert answer("twilio", Balance(12.4, currency="USD")) == (
        "acme: Twilio answered this key with a balance of $12.40"
    )
    assert answer("vonage", Balance(8.999, currency="EUR")) == (
        "acme: Vonage answered this key with a balance of €8.99"
    )
