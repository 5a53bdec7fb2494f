"""The vendors issue 21 brought into the catalogue, without a socket: each request as its vendor
documents it, and each documented reply read into a balance with its pools, renewal and currency."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from credit_monitor.model import Balance, CheckError, FailureKind, Pool
from credit_monitor.providers import CATALOGUE, ReplyContext, brevo, hunter

KEY = "k-123"
PAIR = "AC0123:tok456"
NOW = datetime(2026, 6, 2, 15, 30, tzinfo=UTC)


def read(name: str, payload: dict[str, object], headers: dict[str, str] | None = None) -> Balance:
    provider = CATALOGUE[name]
    assert provider.parse_reply is not None
    return provider.parse_reply(payload, ReplyContext(headers or {}, NOW))


@pytest.mark.parametrize(
    ("name", "method", "url", "headers"),
    [
        ("prospeo", "POST", "https://api.prospeo.io/account-information", {"X-KEY": KEY}),
        ("findymail", "GET", "https://app.findymail.com/api/credits", {"Authorization": f"Bearer {KEY}"}),
        ("millionverifier", "GET", "https://api.millionverifier.com/api/v3/credits?api=k-123", {}),
        ("leadmagic", "GET", "https://api.leadmagic.io/v1/credits", {"X-API-Key": KEY}),
        ("emailable", "GET", "https://api.emailable.com/v1/account?api_key=k-123", {}),
        ("serpapi", "GET", "https://serpapi.com/account.json?api_key=k-123", {}),
        ("scrapingbee", "GET", "https://app.scrapingbee.com/api/v1/usage?api_key=k-123", {}),
        ("apify", "GET", "https://api.apify.com/v2/users/me/limits", {"Authorization": f"Bearer {KEY}"}),
        (
            "brightdata",
            "GET",
            "https://api.brightdata.com/customer/balance",
            {"Authorization": f"Bearer {KEY}"},
        ),
        ("sendgrid", "GET", "https://api.sendgrid.com/v3/user/credits", {"Authorization": f"Bearer {KEY}"}),
        ("brevo", "GET", "https://api.brevo.com/v3/account", {"api-key": KEY}),
        ("snovio", "GET", "https://api.snov.io/v1/get-balance", {"Authorization": f"Bearer {KEY}"}),
    ],
)
def test_each_vendor_is_asked_where_and_how_it_documents(
    name: str, method: str, url: str, headers: dict[str, str]
) -> None:
    provider = CATALOGUE[name]
    request = provider.build_request(provider.default_api_url, KEY)
    sent = {name: value for name, value in request.headers.items() if name != "Content-Type"}
    assert (request.method, request.url, sent) == (method, url, headers)


def test_prospeo_posts_an_empty_json_object_as_all_its_endpoints_take() -> None:
    request = CATALOGUE["prospeo"].build_request("https://api.prospeo.io", KEY)
    assert (request.body, request.headers["Content-Type"]) == (b"{}", "application/json")


def test_two_part_keys_go_where_each_vendor_wants_them() -> None:
    twilio = CATALOGUE["twilio"].build_request("https://api.twilio.com/2010-04-01", PAIR)
    vonage = CATALOGUE["vonage"].build_request("https://rest.nexmo.com", "abcd1234:ABCDEFGH01234abc")

    assert twilio.url == "https://api.twilio.com/2010-04-01/Accounts/AC0123/Balance.json"
    assert base64.b64decode(twilio.headers["Authorization"].removeprefix("Basic ")) == PAIR.encode()
    assert vonage.url == "https://rest.nexmo.com/account/get-balance"
    assert (
        base64.b64decode(vonage.headers["Authorization"].removeprefix("Basic "))
        == b"abcd1234:ABCDEFGH01234abc"
    )
    assert (CATALOGUE["twilio"].two_part_key, CATALOGUE["vonage"].two_part_key) == (True, True)


def test_snovio_buys_a_token_with_its_client_id_and_secret_in_a_form_under_its_base_url() -> None:
    snovio = CATALOGUE["snovio"]
    assert snovio.token is not None
    assert snovio.two_part_key
    request = snovio.token.build_request("https://eu.snov.example", "client-1", "s3cr/et+")

    assert (request.method, request.url) == ("POST", "https://eu.snov.example/v1/oauth/access_token")
    assert request.headers == {"Content-Type": "application/x-www-form-urlencoded"}
    assert request.body == b"grant_type=client_credentials&client_id=client-1&client_secret=s3cr%2Fet%2B"


def test_the_account_email_goes_in_the_query_or_the_body_as_the_vendor_asks() -> None:
    bettercontact = CATALOGUE["bettercontact"]
    icypeas = CATALOGUE["icypeas"]
    assert bettercontact.account_fields == icypeas.account_fields == ("email",)
    assert bettercontact.for_account is not None
    assert icypeas.for_account is not None

    query = bettercontact.for_account({"email": "ops@acme.example"}).build_request(
        bettercontact.default_api_url, KEY
    )
    body = icypeas.for_account({"email": "ops@acme.example"}).build_request(icypeas.default_api_url, KEY)

    assert query.url == "https://app.bettercontact.rocks/api/v2/account?email=ops%40acme.example"
    assert query.headers == {"X-API-Key": KEY}
    assert (body.method, body.url) == (
        "POST",
        "https://app.icypeas.com/api/a/actions/subscription-information",
    )
    assert body.headers == {"Authorization": KEY, "Content-Type": "application/json"}
    assert body.body is not None
    assert json.loads(body.body) == {"email": "ops@acme.example"}


# --- replies, as each vendor documents them -------------------------------------------------------


def test_snovio_reads_a_numeric_string_and_its_reset_in_days_from_today() -> None:
    balance = read(
        "snovio",
        {
            "success": True,
            "data": {"balance": "25000.00", "teamwork": False, "limit_resets_in": 29, "expires_in": 359},
        },
    )
    assert balance == Balance(credits=25000, renews_at=datetime(2026, 7, 1, tzinfo=UTC))


def test_snovio_success_false_is_a_failure_with_its_message() -> None:
    with pytest.raises(CheckError) as raised:
        read("snovio", {"success": False, "message": "Too many requests"})
    assert (raised.value.kind, raised.value.message) == (
        FailureKind.BAD_RESPONSE,
        "the vendor reports an error: the reply's 'success' says Too many requests",
    )


def test_prospeo_reads_its_renewal_date_with_its_offset() -> None:
    balance = read(
        "prospeo",
        {
            "error": False,
            "response": {
                "current_plan": "STARTER",
                "remaining_credits": 99,
                "used_credits": 1,
                "next_quota_renewal_days": 25,
                "next_quota_renewal_date": "2023-06-18 20:52:28+00:00",
            },
        },
    )
    assert balance == Balance(credits=99, renews_at=datetime(2023, 6, 18, 20, 52, 28, tzinfo=UTC))


def test_prospeo_an_error_reply_names_its_message_and_a_refused_key_is_auth() -> None:
    with pytest.raises(CheckError) as raised:
        read("prospeo", {"error": True, "message": "INVALID_API_KEY"})
    assert raised.value.kind is FailureKind.AUTH
    with pytest.raises(CheckError) as other:
        read("prospeo", {"error": True, "message": "INVALID_PARAM", "details": "Invalid first_name param."})
    assert (other.value.kind, other.value.message) == (
        FailureKind.BAD_RESPONSE,
        "the vendor reports an error: the reply's 'error' says INVALID_PARAM",
    )


def test_millionverifier_an_http_200_error_is_a_failed_check_with_its_cause() -> None:
    assert read("millionverifier", {"credits": 12000, "bulk_credits": 0}).credits == 12000
    with pytest.raises(CheckError) as raised:
        read("millionverifier", {"error": "apikey_not_found"})
    assert (raised.value.kind, raised.value.message) == (
        FailureKind.AUTH,
        "key rejected: the reply's 'error' says apikey_not_found",
    )
    with pytest.raises(CheckError) as blocked:
        read("millionverifier", {"error": "ip_address_blocked"})
    assert blocked.value.kind is FailureKind.BAD_RESPONSE


def test_findymail_reads_the_finder_credits_not_the_verifier_ones() -> None:
    assert read("findymail", {"credits": 150, "verifier_credits": 900}) == Balance(credits=150)


def test_leadmagic_emailable_bettercontact_icypeas_read_one_number() -> None:
    assert read("leadmagic", {"credits": 15432.50}).credits == 15432.5
    assert read("emailable", {"owner_email": "john@smith.com", "available_credits": 1337}).credits == 1337
    assert read("bettercontact", {"success": True, "credits_left": 32377, "email": "a@b.c"}).credits == 32377
    assert read("icypeas", {"credits": 420.5, "status": "active", "quotas": {"daily": 10}}).credits == 420.5


def test_serpapi_splits_its_total_into_the_plan_searches_that_renew_and_extra_credits() -> None:
    balance = read(
        "serpapi",
        {
            "searches_per_month": 30000,
            "plan_searches_left": 5958,
            "extra_credits": 100,
            "total_searches_left": 6058,
            "api_key": "***",
        },
    )
    assert balance == Balance(
        credits=6058, pools=(Pool("plan", 5958, renews=True), Pool("extra", 100)), quota=30000
    )


def test_scrapingbee_is_its_limit_less_what_is_used_renewing_at_a_utc_time_without_offset() -> None:
    balance = read(
        "scrapingbee",
        {
            "max_api_credit": 20000000,
            "used_api_credit": 3704332,
            "max_concurrency": 200,
            "current_concurrency": 1,
            "renewal_subscription_date": "2022-04-18T10:05:58.134716",
        },
    )
    assert balance == Balance(
        credits=16295668,
        quota=20000000,
        renews_at=datetime(2022, 4, 18, 10, 5, 58, 134716, tzinfo=UTC),
    )


def test_apify_is_the_usd_left_under_its_monthly_usage_limit_until_the_cycle_ends() -> None:
    balance = read(
        "apify",
        {
            "data": {
                "monthlyUsageCycle": {
                    "startAt": "2022-10-02T00:00:00.000Z",
                    "endAt": "2022-11-01T23:59:59.999Z",
                },
                "limits": {"maxMonthlyUsageUsd": 300, "maxMonthlyActorComputeUnits": 1000},
                "current": {"monthlyUsageUsd": 43, "monthlyActorComputeUnits": 500.784475},
            }
        },
    )
    assert balance == Balance(
        credits=257,
        quota=300,
        renews_at=datetime(2022, 11, 1, 23, 59, 59, 999000, tzinfo=UTC),
        currency="USD",
    )


def test_money_balances_carry_their_currency() -> None:
    assert read("brightdata", {"balance": 456, "pending_balance": 123}) == Balance(
        credits=456, currency="USD"
    )
    assert read("vonage", {"value": 10.28, "autoReload": False}) == Balance(credits=10.28, currency="EUR")
    twilio = read("twilio", {"currency": "usd", "balance": "0.05", "account_sid": "AC0123"})
    assert twilio == Balance(credits=0.05, currency="USD")


@pytest.mark.parametrize("currency", ["US Dollar", "", None, 840])
def test_a_twilio_currency_that_is_not_a_code_is_a_bad_response(currency: object) -> None:
    with pytest.raises(CheckError, match="'currency' must be a three-letter currency code") as raised:
        read("twilio", {"currency": currency, "balance": "1.00"})
    assert raised.value.kind is FailureKind.BAD_RESPONSE


def test_sendgrid_reads_its_remaining_credits_total_and_next_reset() -> None:
    balance = read(
        "sendgrid",
        {
            "remain": 200,
            "total": 200,
            "overage": 0,
            "used": 0,
            "last_reset": "2013-01-01",
            "next_reset": "2013-02-01",
            "reset_frequency": "monthly",
        },
    )
    assert balance == Balance(credits=200, quota=200, renews_at=datetime(2013, 2, 1, tzinfo=UTC))


def test_hunter_renews_on_its_reset_date_at_midnight_utc() -> None:
    balance = hunter.parse_balance(
        {
            "data": {
                "reset_date": "2026-07-01",
                "requests": {"credits": {"used": 120.5, "available": 500, "remaining": 379.5}},
            }
        }
    )
    assert balance == Balance(credits=379.5, quota=500, renews_at=datetime(2026, 7, 1, tzinfo=UTC))
    without = hunter.parse_balance({"data": {"requests": {"credits": {"remaining": 3}}}})
    assert without.renews_at is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("July 1st", "'data.reset_date' must be an ISO 8601 date, got another string"),
        (20260701, "'data.reset_date' must be a date, got number"),
        ("2" * 41, "'data.reset_date' must be a date, got a longer string"),
    ],
)
def test_hunter_a_reset_date_that_is_not_a_date_is_a_bad_response(value: object, message: str) -> None:
    with pytest.raises(CheckError) as raised:
        hunter.parse_balance({"data": {"reset_date": value, "requests": {"credits": {"remaining": 3}}}})
    assert (raised.value.kind, raised.value.message) == (FailureKind.BAD_RESPONSE, message)


# --- Brevo's plan list ------------------------------------------------------------------------------

BREVO_REPLY: dict[str, object] = {
    "plan": [
        {"type": "payAsYouGo", "credits": 5000, "creditsType": "sendLimit"},
        {
            "type": "subscription",
            "credits": 39983,
            "creditsType": "sendLimit",
            "startDate": "2017-03-11T00:00:00.000Z",
            "endDate": "2017-04-11T00:00:00.000Z",
        },
        {"type": "sms", "credits": 999.536, "creditsType": "sendLimit"},
    ],
    "email": "john.smith@example.com",
}


def test_brevo_adds_up_its_email_credits_by_plan_type_leaving_sms_out() -> None:
    balance = brevo.parse_reply(BREVO_REPLY, ReplyContext({}, NOW))
    assert balance == Balance(
        credits=44983,
        pools=(Pool("payAsYouGo", 5000), Pool("subscription", 39983, renews=True)),
        renews_at=datetime(2017, 4, 11, tzinfo=UTC),
    )


def test_brevo_a_free_plan_renews_without_a_date() -> None:
    balance = brevo.parse_balance({"plan": [{"type": "free", "credits": 300, "creditsType": "sendLimit"}]})
    assert balance == Balance(credits=300, pools=(Pool("free", 300, renews=True),))


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({}, "response has no 'plan' field"),
        ({"plan": {}}, "'plan' must be an array, got object"),
        ({"plan": [3]}, "'plan.0' must be an object, got number"),
        ({"plan": [{"credits": 3}]}, "'plan.0.type' must be a plan type"),
        ({"plan": [{"type": "free", "credits": "3"}]}, "'plan.0.credits' must be a number, got string"),
        ({"plan": [{"type": "sms", "credits": 3}]}, "'plan' holds no e-mail credits (SMS credits only)"),
        ({"plan": []}, "'plan' holds no e-mail credits (SMS credits only)"),
    ],
)
def test_brevo_a_plan_list_it_cannot_read_is_a_bad_response(payload: dict[str, object], message: str) -> None:
    with pytest.raises(CheckError) as raised:
        brevo.parse_balance(payload)
    assert (raised.value.kind, raised.value.message) == (FailureKind.BAD_RESPONSE, message)
