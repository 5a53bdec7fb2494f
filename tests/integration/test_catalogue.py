"""Every catalogue vendor against its loopback simulator, through `checks.run_checks` and real TLS.

Each simulator answers as the vendor documents (tests/support/vendors.py): the key where the
vendor reads it, the balance where the vendor puts it, and the vendor's own replies to a bad key,
a missing key and a throttled request.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs

import pytest
import trustme

from credit_monitor.config import Account
from credit_monitor.keys import key_forms
from credit_monitor.model import CheckError, CheckResult, FailureKind, Pool
from credit_monitor.providers import CATALOGUE, PROVIDERS
from tests.support.simulators import Reply
from tests.support.vendors import (
    CATALOGUE_VENDORS,
    HUNTER_TWO_BUCKETS,
    NEVERBOUNCE_MONTHLY,
    OWNER_EMAIL,
    VendorSimulator,
    run_check,
)

GOOD_KEY = "cat_live_5e8a1c7b3d9f2a4e"
BAD_KEY = "cat_live_0000000000000000"
GOOD_PAIR = "AC5ef8732a3c49700934481addd5ce1659:9a1f3c5e7b2d4f6a8c0e1b3d5f7a9c2e"
"""Two parts, as Twilio's Account SID and auth token, Vonage's key and secret, Snov.io's client id
and secret."""
BAD_PAIR = "AC5ef8732a3c49700934481addd5ce1659:00000000000000000000000000000000"
NAMES = sorted(CATALOGUE_VENDORS)

BAD_KEY_MESSAGES = {
    "bouncer": "user not found",
    "clearout": "Invalid API token",
    "dropcontact": "Missing or invalid API key",
    "hunter": "No valid API key was provided.",
    "lusha": "Invalid API key",
    "neverbounce": "NeverBounce auth_failure, key rejected: Invalid API key",
    "zerobounce": "ZeroBounce says the API key is invalid (Credits -1)",
    "snovio": 'the token exchange answered HTTP 401: {"error": "invalid_client"',
    "prospeo": "HTTP 401, key rejected: INVALID_API_KEY",
    "findymail": "HTTP 401, key rejected: Unauthenticated.",
    "millionverifier": "key rejected: the reply's 'error' says apikey_not_found",
    "bettercontact": "HTTP 401, key rejected: Not authorized",
    "leadmagic": "Invalid API key",
    "emailable": "HTTP 403, key rejected: Your API key is invalid",
    "serpapi": "Invalid API key. Your API key should be here",
    "scrapingbee": "HTTP 401, key rejected: Invalid api key",
    "apify": "Authentication token is not valid.",
    "brightdata": "HTTP 401, key rejected: Auth method is not supported",
    "twilio": "HTTP 401, key rejected: Authenticate",
    "vonage": "You did not provide correct credentials.",
    "sendgrid": "The provided authorization grant is invalid",
    "brevo": "HTTP 401, key rejected: unauthorized: Key not found",
    "icypeas": "HTTP 401, key rejected: Unauthorized",
}
MISSING_KEY_OUTCOMES = {
    "bouncer": (FailureKind.AUTH, "user not found"),
    "clearout": (FailureKind.AUTH, "Missing API token"),
    "dropcontact": (FailureKind.AUTH, "Missing or invalid API key"),
    "hunter": (FailureKind.AUTH, "No valid API key was provided."),
    "lusha": (FailureKind.AUTH, "Missing API key"),
    "neverbounce": (
        FailureKind.BAD_RESPONSE,
        "NeverBounce status 'general_failure': Missing required parameter",
    ),
    "zerobounce": (FailureKind.HTTP, 'HTTP 400: {"error": "Missing parameter: api_key."}'),
    "snovio": (FailureKind.AUTH, "HTTP 401, key rejected: Access token is missing"),
    "prospeo": (FailureKind.AUTH, "INVALID_API_KEY"),
    "findymail": (FailureKind.AUTH, "Unauthenticated."),
    "millionverifier": (FailureKind.AUTH, "apikey_not_found"),
    "bettercontact": (FailureKind.AUTH, "Not authorized"),
    "leadmagic": (FailureKind.AUTH, "Missing API key"),
    "emailable": (FailureKind.AUTH, "HTTP 401, key rejected: You did not send an API key"),
    "serpapi": (FailureKind.AUTH, "Missing api_key"),
    "scrapingbee": (FailureKind.AUTH, "Missing api_key"),
    "apify": (FailureKind.AUTH, "Authentication token missing."),
    "brightdata": (FailureKind.AUTH, "Auth method is not supported"),
    "twilio": (FailureKind.AUTH, "Authenticate"),
    "vonage": (FailureKind.AUTH, "You did not provide credentials."),
    "sendgrid": (FailureKind.AUTH, "authorization required"),
    "brevo": (FailureKind.AUTH, "Key not found"),
    "icypeas": (FailureKind.AUTH, "Unauthorized"),
}
THROTTLED_OUTCOMES = {
    "bouncer": (FailureKind.RATE_LIMITED, "HTTP 429, still rate limited after retries"),
    "dropcontact": (FailureKind.RATE_LIMITED, "HTTP 429, still rate limited after retries"),
    # Hunter documents its rate limit as a 403, and checks.interpret_reply reads every 403 as a
    # rejected key: the kind is wrong, but Hunter's own words say what happened.
    "hunter": (FailureKind.AUTH, "You have reached the rate limit."),
    "lusha": (FailureKind.RATE_LIMITED, "HTTP 429, still rate limited after retries: Too many requests"),
    "neverbounce": (FailureKind.RATE_LIMITED, "NeverBounce throttle_triggered: The request was rejected"),
    "zerobounce": (FailureKind.RATE_LIMITED, "HTTP 429, still rate limited after retries: Too Many Requests"),
    "snovio": (FailureKind.RATE_LIMITED, "HTTP 429, still rate limited after retries: Too many requests"),
    "prospeo": (FailureKind.RATE_LIMITED, "HTTP 429, still rate limited after retries: RATE_LIMITED"),
    "leadmagic": (FailureKind.RATE_LIMITED, "Rate limited"),
    "emailable": (FailureKind.RATE_LIMITED, "You're requesting an endpoint too often"),
    "scrapingbee": (FailureKind.RATE_LIMITED, "HTTP 429, still rate limited after retries: Too many"),
    "apify": (FailureKind.RATE_LIMITED, "You have exceeded the rate limit."),
    "twilio": (FailureKind.RATE_LIMITED, "HTTP 429, still rate limited after retries: Too Many Requests"),
    "sendgrid": (FailureKind.RATE_LIMITED, "too many requests"),
    "brevo": (FailureKind.RATE_LIMITED, "too_many_requests: Too many requests"),
}


@pytest.fixture(autouse=True)
def _trust_the_test_ca(ca_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # read by OpenSSL itself, so it must be real env


class Started:
    """A vendor's simulator, running, and the account that checks it."""

    def __init__(self, name: str, cert: trustme.LeafCert, balance: float) -> None:
        self.vendor = CATALOGUE_VENDORS[name]
        self.good_key = GOOD_PAIR if self.vendor.two_part else GOOD_KEY
        self.bad_key = BAD_PAIR if self.vendor.two_part else BAD_KEY
        self.api = VendorSimulator(self.vendor, cert, self.good_key, balance).start()
        provider = CATALOGUE[name]
        if provider.for_account is not None:
            provider = provider.for_account({"email": OWNER_EMAIL})
        self.account = Account(name, provider, self.api.base_url, threshold=100)

    def check(self, key: str | None = None, seconds: float = 5.0) -> CheckResult:
        key = self.good_key if key is None else key
        result = run_check(self.account, key, seconds)
        shown = repr(result.balance) if result.error is None else result.error.message
        for secret in (key, *self.api.issued):
            for form in key_forms(secret):
                assert form not in shown, "a form of the key or of a token is in the result"
        return result


class Start(Protocol):
    def __call__(self, name: str, balance: float = 5000) -> Started: ...


@pytest.fixture
def start(server_cert: trustme.LeafCert) -> Iterator[Start]:
    started: list[Started] = []

    def _start(name: str, balance: float = 5000) -> Started:
        started.append(Started(name, server_cert, balance))
        return started[-1]

    yield _start
    for vendor in started:
        vendor.api.stop()


def failure(result: CheckResult) -> CheckError:
    assert result.error is not None, f"expected a failure, got {result.balance}"
    return result.error


def test_every_built_in_has_a_simulator_and_the_zero_config_pair_is_unchanged() -> None:
    assert [provider.name for provider in PROVIDERS] == ["fullenrich", "lemlist"]
    assert set(CATALOGUE) == {"fullenrich", "lemlist", *CATALOGUE_VENDORS}
    for name, provider in CATALOGUE.items():
        assert provider.name == name
        assert provider.default_api_url.startswith("https://")


@pytest.mark.parametrize("name", NAMES)
def test_a_good_key_reads_the_balance(start: Start, name: str) -> None:
    vendor = start(name, balance=4321)

    result = vendor.check()

    assert result.balance is not None, result.error
    assert result.balance.credits == 4321
    [request] = vendor.api.requests
    assert request.method == vendor.vendor.method


@pytest.mark.parametrize("name", NAMES)
def test_a_bad_key_is_an_auth_failure_in_the_vendors_words(start: Start, name: str) -> None:
    vendor = start(name)

    error = failure(vendor.check(vendor.bad_key))

    assert error.kind is FailureKind.AUTH
    assert BAD_KEY_MESSAGES[name] in error.message


@pytest.mark.parametrize("name", NAMES)
def test_the_vendors_missing_key_reply_is_reported_as_documented(start: Start, name: str) -> None:
    vendor = start(name)
    vendor.api.then(vendor.vendor.missing_key)

    error = failure(vendor.check())

    kind, words = MISSING_KEY_OUTCOMES[name]
    assert (error.kind, words in error.message) == (kind, True), error.message


@pytest.mark.parametrize("name", sorted(THROTTLED_OUTCOMES))
def test_the_vendors_throttled_reply_is_reported_as_documented(start: Start, name: str) -> None:
    vendor = start(name)
    throttled = vendor.vendor.throttled
    assert throttled is not None
    vendor.api.then(*[throttled] * 4)  # whatever retries the deadline allows

    error = failure(vendor.check(seconds=3.0))

    kind, words = THROTTLED_OUTCOMES[name]
    assert (error.kind, words in error.message) == (kind, True), error.message


def test_clearout_documents_no_throttled_reply() -> None:
    assert CATALOGUE_VENDORS["clearout"].throttled is None
    assert CATALOGUE["clearout"].rate_limit is None


# --- what each vendor does differently --------------------------------------------------------------


def test_zerobounce_sends_the_key_as_api_key_in_the_query(start: Start) -> None:
    vendor = start("zerobounce")
    vendor.check()
    [request] = vendor.api.requests
    assert request.target.startswith("/v2/getcredits?")
    assert request.query == {"api_key": [GOOD_KEY]}
    assert "authorization" not in request.headers


def test_zerobounce_credits_as_a_json_number_are_read_too(start: Start) -> None:
    vendor = start("zerobounce")
    vendor.api.then(Reply(200, {"Credits": 2375323}))  # the doc page's own example
    result = vendor.check()
    assert result.balance is not None
    assert result.balance.credits == 2375323


@pytest.mark.parametrize("credits", ["lots", "", "1e3", True, None])
def test_zerobounce_refuses_a_credits_value_that_is_not_a_number(start: Start, credits: object) -> None:
    vendor = start("zerobounce")
    vendor.api.then(Reply(200, {"Credits": credits}))
    error = failure(vendor.check())
    assert error.kind is FailureKind.BAD_RESPONSE
    assert "'Credits' must be a number" in error.message


def test_zerobounce_a_minus_one_as_a_number_is_a_bad_key_too(start: Start) -> None:
    vendor = start("zerobounce")
    vendor.api.then(Reply(200, {"Credits": -1}))
    assert failure(vendor.check()).kind is FailureKind.AUTH


def test_neverbounce_adds_free_credits_to_paid_ones(start: Start) -> None:
    vendor = start("neverbounce", balance=1000)
    result = vendor.check()
    assert result.balance is not None
    assert result.balance.credits == 1000
    assert result.balance.pools == (Pool("paid", 950), Pool("free", 50))
    assert vendor.api.requests[0].query == {"key": [GOOD_KEY]}


def test_neverbounce_monthly_billed_accounts_say_they_have_no_balance(start: Start) -> None:
    vendor = start("neverbounce")
    vendor.api.then(Reply(200, NEVERBOUNCE_MONTHLY))
    error = failure(vendor.check())
    assert error.kind is FailureKind.BAD_RESPONSE
    assert (
        "monthly-billed accounts have no credit balance; use http-json or drop the account" in error.message
    )


@pytest.mark.parametrize("status", ["temp_unavail", "bad_referrer"])
def test_neverbounce_other_statuses_are_named(start: Start, status: str) -> None:
    vendor = start("neverbounce")
    vendor.api.then(Reply(200, {"status": status, "message": "try later", "execution_time": 1}))
    error = failure(vendor.check())
    assert error.kind is FailureKind.BAD_RESPONSE
    assert f"NeverBounce status '{status}': try later" in error.message


def test_neverbounce_an_echoed_key_in_its_message_is_redacted(start: Start) -> None:
    vendor = start("neverbounce")
    vendor.api.then(Reply(200, {"status": "auth_failure", "message": "Invalid API key '{key}'"}))
    error = failure(vendor.check())  # check() asserts that no form of the key is in the message
    assert error.message == "NeverBounce auth_failure, key rejected: Invalid API key '***'"


def test_hunter_reads_a_fractional_credit_balance(start: Start) -> None:
    vendor = start("hunter", balance=379.5)
    result = vendor.check()
    assert result.balance is not None
    assert result.balance.credits == 379.5
    assert result.balance.quota == 500
    assert vendor.api.requests[0].headers["x-api-key"] == GOOD_KEY


def test_hunter_a_plan_with_two_buckets_says_it_has_no_single_balance(start: Start) -> None:
    vendor = start("hunter")
    vendor.api.then(Reply(200, HUNTER_TWO_BUCKETS))
    error = failure(vendor.check())
    assert error.kind is FailureKind.BAD_RESPONSE
    assert "this Hunter plan has no single credit balance" in error.message


@pytest.mark.parametrize(
    ("name", "header", "value"),
    [
        ("lusha", "api_key", GOOD_KEY),
        ("dropcontact", "x-access-token", GOOD_KEY),
        ("bouncer", "x-api-key", GOOD_KEY),
        ("clearout", "authorization", f"Bearer {GOOD_KEY}"),
    ],
)
def test_the_key_goes_in_the_documented_header_and_nowhere_else(
    start: Start, name: str, header: str, value: str
) -> None:
    vendor = start(name)
    vendor.check()
    [request] = vendor.api.requests
    assert request.headers[header] == value
    assert GOOD_KEY not in request.target


def test_clearout_a_status_other_than_success_is_named(start: Start) -> None:
    vendor = start("clearout")
    vendor.api.then(Reply(200, {"status": "failed", "data": {}}))
    error = failure(vendor.check())
    assert (error.kind, error.message) == (
        FailureKind.BAD_RESPONSE,
        "Clearout status 'failed', not 'success'",
    )


# --- the vendors of issue 21 -------------------------------------------------------------------------


def test_snovio_buys_a_token_once_and_reuses_it_until_it_expires(start: Start) -> None:
    vendor = start("snovio", balance=2500)

    first, second = vendor.check(), vendor.check()

    assert first.balance is not None, first.error
    assert second.balance is not None, second.error
    assert (first.balance.credits, second.balance.credits) == (2500, 2500)
    assert first.balance.renews_at is not None  # data.limit_resets_in: 29 days from today
    [token_request] = vendor.api.token_requests
    assert token_request.headers["content-type"] == "application/x-www-form-urlencoded"
    client_id, _, secret = GOOD_PAIR.partition(":")
    assert parse_qs(token_request.body.decode()) == {
        "grant_type": ["client_credentials"],
        "client_id": [client_id],
        "client_secret": [secret],
    }
    [token] = vendor.api.issued
    assert [request.headers["authorization"] for request in vendor.api.requests] == [f"Bearer {token}"] * 2


def test_snovio_a_revoked_token_is_replaced_once_and_the_check_succeeds(start: Start) -> None:
    vendor = start("snovio", balance=700)
    assert vendor.check().balance is not None
    vendor.api.revoke()

    result = vendor.check()

    assert result.balance is not None, result.error
    assert result.balance.credits == 700
    assert len(vendor.api.issued) == 2
    assert [request.headers["authorization"] for request in vendor.api.requests] == [
        f"Bearer {vendor.api.issued[0]}",
        f"Bearer {vendor.api.issued[0]}",
        f"Bearer {vendor.api.issued[1]}",
    ]


def test_snovio_a_token_endpoint_that_fails_names_the_exchange_and_never_the_token(start: Start) -> None:
    vendor = start("snovio")
    vendor.api.token_script.append(Reply(200, {"token_type": "Bearer"}))
    error = failure(vendor.check())
    assert (error.kind, error.message) == (
        FailureKind.AUTH,
        "the token exchange returned no access_token (none)",
    )

    vendor.api.token_script.append(Reply(503, "upstream down", {"Content-Type": "text/plain"}))
    vendor.api.token_script.extend([Reply(503, "upstream down", {"Content-Type": "text/plain"})] * 3)
    error = failure(vendor.check(seconds=3.0))
    assert error.kind is FailureKind.HTTP
    assert error.message.startswith("the token exchange answered HTTP 503: upstream down")


def test_snovio_a_key_that_is_not_two_parts_is_never_sent(start: Start) -> None:
    vendor = start("snovio")
    error = failure(vendor.check(GOOD_KEY))
    assert error.kind is FailureKind.SECRET
    assert "must be two parts joined by a colon" in error.message
    assert vendor.api.token_requests == vendor.api.requests == []


def test_snovio_success_false_in_a_200_is_a_failure_with_its_message(start: Start) -> None:
    vendor = start("snovio")
    vendor.api.then(Reply(200, {"success": False, "message": "Your plan does not include API access"}))
    error = failure(vendor.check())
    assert (error.kind, error.message) == (
        FailureKind.BAD_RESPONSE,
        "the vendor reports an error: the reply's 'success' says Your plan does not include API access",
    )


def test_twilio_puts_the_sid_in_the_path_and_reads_a_string_balance_in_its_currency(start: Start) -> None:
    vendor = start("twilio", balance=12.4)
    result = vendor.check()
    assert result.balance is not None, result.error
    assert (result.balance.credits, result.balance.currency) == (12.4, "USD")
    [request] = vendor.api.requests
    assert request.target == f"/2010-04-01/Accounts/{GOOD_PAIR.partition(':')[0]}/Balance.json"


def test_vonage_bright_data_and_apify_are_money(start: Start) -> None:
    currencies = {}
    for name in ("vonage", "brightdata", "apify"):
        result = start(name, balance=8).check()
        assert result.balance is not None, result.error
        currencies[name] = (result.balance.credits, result.balance.currency)
    assert currencies == {"vonage": (8, "EUR"), "brightdata": (8, "USD"), "apify": (8, "USD")}


@pytest.mark.parametrize(
    ("name", "renews_at"),
    [
        ("hunter", datetime(2026, 7, 1, tzinfo=UTC)),
        ("prospeo", datetime(2026, 6, 18, 20, 52, 28, tzinfo=UTC)),
        ("sendgrid", datetime(2026, 7, 1, tzinfo=UTC)),
        ("apify", datetime(2026, 7, 1, 23, 59, 59, 999000, tzinfo=UTC)),
        ("scrapingbee", datetime(2026, 7, 18, 10, 5, 58, 134716, tzinfo=UTC)),
        ("brevo", datetime(2026, 7, 11, tzinfo=UTC)),
    ],
)
def test_quotas_that_renew_use_the_vendors_own_date(start: Start, name: str, renews_at: datetime) -> None:
    result = start(name).check()
    assert result.balance is not None, result.error
    assert result.balance.renews_at == renews_at


def test_serpapi_and_brevo_split_their_balance_into_pools(start: Start) -> None:
    serpapi, brevo = start("serpapi", balance=1000).check(), start("brevo", balance=1000).check()
    assert serpapi.balance is not None, serpapi.error
    assert brevo.balance is not None, brevo.error
    assert serpapi.balance.pools == (Pool("plan", 900, renews=True), Pool("extra", 100))
    assert brevo.balance.pools == (Pool("payAsYouGo", 500), Pool("subscription", 500, renews=True))


@pytest.mark.parametrize("name", ["bettercontact", "icypeas"])
def test_the_owners_email_goes_where_the_vendor_asks_and_is_required(start: Start, name: str) -> None:
    vendor = start(name)
    assert vendor.check().balance is not None

    vendor.account = Account(name, CATALOGUE[name], vendor.api.base_url, threshold=100)  # no e-mail
    error = failure(vendor.check())

    assert error.kind is FailureKind.HTTP
    assert "email" in error.message


def test_millionverifier_an_http_200_error_is_a_failed_check(start: Start) -> None:
    vendor = start("millionverifier")
    vendor.api.then(Reply(200, {"error": "insufficient_credits"}))
    error = failure(vendor.check())
    assert (error.kind, error.message) == (
        FailureKind.BAD_RESPONSE,
        "the vendor reports an error: the reply's 'error' says insufficient_credits",
    )
