"""http_json.from_entry: every validation error names its field first; valid entries build the
request each auth kind describes."""

from __future__ import annotations

import base64
import datetime
import json
import math
import re
from collections.abc import Mapping

import pytest

from credit_monitor.model import Balance, CheckError, FailureKind, Pool
from credit_monitor.problems import Invalid
from credit_monitor.providers import RateLimit, ReplyContext, RetryPolicy, Vendor, http_json, lemlist

URL = "https://api.example.com/v1/account"
MINIMAL: dict[str, object] = {"url": URL, "auth": {"kind": "bearer"}, "balance": "credits"}


def entry(**changes: object) -> dict[str, object]:
    """MINIMAL with `changes`; a change to None removes the field."""
    merged = {**MINIMAL, **changes}
    return {name: value for name, value in merged.items() if value is not None}


AUTH_KINDS_TEXT = "bearer, basic, basic-password, basic-user, header, query"

INVALID: list[tuple[str, Mapping[str, object], str]] = [
    # (id, entry, the message's start)
    ("unknown-field", entry(colour="blue"), "colour: unknown field (http-json takes url, method, body, auth"),
    ("url-missing", entry(url=None), "url: required"),
    ("url-not-a-string", entry(url=443), "url: must be a string (got integer)"),
    ("url-empty", entry(url=" "), "url: must not be empty"),
    ("url-too-long", entry(url="https://a.example/" + "p" * 2048), "url: longer than 2,048 characters"),
    (
        "url-space",
        entry(url="https://api.example.com/my account"),
        "url: must be printable ASCII without spaces",
    ),
    ("url-non-ascii", entry(url="https://api.exämple.com/"), "url: must be printable ASCII without spaces"),
    ("url-http", entry(url="http://api.example.com/"), "url: must be https:// (got 'http://')"),
    ("url-no-scheme", entry(url="api.example.com/credits"), "url: must be https:// (got 'no scheme')"),
    ("url-bad-ipv6", entry(url="https://[::1/credits"), "url: is not a valid URL"),
    ("url-bad-port", entry(url="https://api.example.com:99999/"), "url: is not a valid URL"),
    ("url-credentials", entry(url="https://me:pw@api.example.com/"), "url: must not contain credentials"),
    ("url-no-host", entry(url="https:///credits"), "url: has no host"),
    ("url-fragment", entry(url="https://api.example.com/credits#top"), "url: must not have a fragment"),
    ("method-put", entry(method="PUT"), "method: must be GET or POST (got 'PUT')"),
    ("method-not-a-string", entry(method=1), "method: must be GET or POST (got integer)"),
    ("body-with-get", entry(body={"email": "a@b.c"}), 'body: only with method = "POST"'),
    (
        "body-not-a-table",
        entry(method="POST", body="email=a"),
        "body: must be a table, sent as a JSON object",
    ),
    (
        "body-date",
        entry(method="POST", body={"since": datetime.date(2026, 1, 1)}),
        "body: must hold only strings, finite numbers, booleans, arrays and tables",
    ),
    ("body-nan", entry(method="POST", body={"x": math.nan}), "body: must hold only strings, finite numbers"),
    ("body-too-large", entry(method="POST", body={"x": "y" * 5000}), "body: larger than 4,096 bytes as JSON"),
    ("auth-missing", entry(auth=None), "auth: required"),
    (
        "auth-not-a-table",
        entry(auth="bearer"),
        'auth: must be a table such as { kind = "bearer" } (got string)',
    ),
    ("auth-unknown-field", entry(auth={"kind": "bearer", "scope": "read"}), "auth.scope: unknown field"),
    ("auth-kind-missing", entry(auth={"name": "X-Key"}), f"auth.kind: required, one of {AUTH_KINDS_TEXT}"),
    (
        "auth-kind-oauth",
        entry(auth={"kind": "oauth"}),
        f"auth.kind: must be one of {AUTH_KINDS_TEXT} (got 'oauth')",
    ),
    (
        "auth-kind-not-a-string",
        entry(auth={"kind": 2}),
        f"auth.kind: must be one of {AUTH_KINDS_TEXT} (got integer)",
    ),
    (
        "auth-name-with-bearer",
        entry(auth={"kind": "bearer", "name": "X-Key"}),
        "auth.name: only for kind header or query (kind is bearer)",
    ),
    (
        "auth-name-with-basic",
        entry(auth={"kind": "basic-password", "name": "X-Key"}),
        "auth.name: only for kind header or query (kind is basic-password)",
    ),
    (
        "auth-prefix-with-query",
        entry(auth={"kind": "query", "name": "key", "prefix": "token "}),
        "auth.prefix: only for kind header (kind is query)",
    ),
    ("header-without-name", entry(auth={"kind": "header"}), "auth.name: required"),
    (
        "header-name-not-a-string",
        entry(auth={"kind": "header", "name": 7}),
        "auth.name: must be a string (got integer)",
    ),
    (
        "header-name-space",
        entry(auth={"kind": "header", "name": "X Key"}),
        "auth.name: must be an HTTP header name",
    ),
    (
        "header-name-colon",
        entry(auth={"kind": "header", "name": "X-Key:"}),
        "auth.name: must be an HTTP header name",
    ),
    (
        "header-name-too-long",
        entry(auth={"kind": "header", "name": "X" * 65}),
        "auth.name: longer than 64 characters",
    ),
    ("header-host", entry(auth={"kind": "header", "name": "Host"}), "auth.name: Host is set by the monitor"),
    (
        "header-content-type",
        entry(auth={"kind": "header", "name": "content-type"}),
        "auth.name: content-type is set by the monitor",
    ),
    (
        "header-prefix-not-a-string",
        entry(auth={"kind": "header", "name": "X-Key", "prefix": 1}),
        "auth.prefix: must be a string (got integer)",
    ),
    (
        "header-prefix-line-break",
        entry(auth={"kind": "header", "name": "X-Key", "prefix": "token\n"}),
        "auth.prefix: must be at most 32 printable ASCII characters",
    ),
    (
        "header-prefix-too-long",
        entry(auth={"kind": "header", "name": "X-Key", "prefix": "p" * 33}),
        "auth.prefix: must be at most 32 printable ASCII characters",
    ),
    ("query-without-name", entry(auth={"kind": "query"}), "auth.name: required"),
    (
        "query-name-ampersand",
        entry(auth={"kind": "query", "name": "a&b"}),
        "auth.name: must be a query parameter name",
    ),
    (
        "query-name-in-url",
        entry(url=URL + "?key=placeholder&v=2", auth={"kind": "query", "name": "key"}),
        "auth.name: key is already in the url's query string",
    ),
    ("balance-missing", entry(balance=None), "balance: required (or balance_header, or pools)"),
    (
        "balance-not-a-string",
        entry(balance=["data", "credits"]),
        'balance: must be a dotted path such as "data.credits", or a table such as { limit = "max", used ='
        ' "used" } (got array)',
    ),
    ("balance-empty", entry(balance=""), "balance: must not be empty"),
    ("balance-too-long", entry(balance="a" * 257), "balance: longer than 256 characters"),
    ("balance-leading-dot", entry(balance=".credits"), "balance: has an empty segment"),
    ("balance-doubled-dot", entry(balance="data..credits"), "balance: has an empty segment"),
    ("balance-trailing-dot", entry(balance="credits."), "balance: has an empty segment"),
    (
        "balance-too-deep",
        entry(balance=".".join("abcdefghijk")),
        "balance: at most 10 segments deep (got 11)",
    ),
    ("balance-line-break", entry(balance="data\ncredits"), "balance: must be printable"),
    (
        "balance-spaces-around",
        entry(balance=" credits"),
        "balance: must be printable, without surrounding spaces",
    ),
    (
        "numeric-string-not-a-bool",
        entry(numeric_string="yes"),
        "numeric_string: must be true or false (got string)",
    ),
    (
        "numeric-string-integer",
        entry(numeric_string=1),
        "numeric_string: must be true or false (got integer)",
    ),
    ("rate-limit-not-a-table", entry(rate_limit=60), "rate_limit: must be a table such as"),
    (
        "rate-limit-unknown-field",
        entry(rate_limit={"requests": 1, "per_seconds": 1, "burst": 2}),
        "rate_limit.burst: unknown",
    ),
    ("rate-limit-requests-missing", entry(rate_limit={"per_seconds": 60}), "rate_limit.requests: required"),
    (
        "rate-limit-per-seconds-missing",
        entry(rate_limit={"requests": 60}),
        "rate_limit.per_seconds: required",
    ),
    *[
        (
            f"rate-limit-requests-{value!r}",
            entry(rate_limit={"requests": value, "per_seconds": 60}),
            "rate_limit.requests: must be a whole number from 1 to 1,000,000",
        )
        for value in (0, -5, 1.5, True, "60", 1_000_001)
    ],
    *[
        (
            f"rate-limit-per-seconds-{value!r}",
            entry(rate_limit={"requests": 5, "per_seconds": value}),
            "rate_limit.per_seconds: must be a number of seconds above 0, at most 2,678,400 (31 days)",
        )
        for value in (0, -1, math.inf, math.nan, "60", True, 2_678_401)
    ],
    ("display-name-not-a-string", entry(display_name=5), "display_name: must be a string (got integer)"),
    ("display-name-empty", entry(display_name=""), "display_name: must not be empty"),
    ("display-name-too-long", entry(display_name="n" * 65), "display_name: longer than 64 characters"),
    ("display-name-line-break", entry(display_name="Acme\nAPI"), "display_name: must be printable"),
    ("top-up-url-http", entry(top_up_url="http://example.com/billing"), "top_up_url: must be https://"),
    ("top-up-url-not-a-string", entry(top_up_url=True), "top_up_url: must be a string (got boolean)"),
]


@pytest.mark.parametrize(
    ("fields", "message"), [case[1:] for case in INVALID], ids=[case[0] for case in INVALID]
)
def test_each_invalid_entry_is_refused_with_its_field_named_first(
    fields: Mapping[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as raised:
        http_json.from_entry(fields)
    assert str(raised.value).startswith(message), str(raised.value)


def test_a_refused_url_is_never_repeated_in_the_message() -> None:
    """Someone may have pasted a key into it."""
    for url in (
        "http://api.example.com/?key=sk_pasted_secret",
        "https://u:sk_pasted_secret@api.example.com/",
    ):
        with pytest.raises(ValueError, match=r"^url: ") as raised:
            http_json.from_entry(entry(url=url))
        assert "sk_pasted_secret" not in str(raised.value)


def test_a_minimal_entry_gets_the_defaults() -> None:
    provider, api_url = http_json.from_entry(MINIMAL)

    assert api_url == URL
    assert provider.name == "http-json"
    assert provider.display_name == "api.example.com"
    assert provider.default_api_url == URL
    assert provider.top_up_url is None
    assert provider.rate_limit is None
    assert provider.retry == RetryPolicy()
    request = provider.build_request(api_url, "k-1")
    assert (request.method, request.url, request.body) == ("GET", URL, None)
    assert request.headers == {"Authorization": "Bearer k-1"}


def test_a_full_entry_is_taken_as_written() -> None:
    provider, api_url = http_json.from_entry(
        {
            "url": URL + "?team=42",
            "method": "post",
            "body": {"email": "ops@example.com", "flags": [1, 2], "deep": {"on": True}},
            "auth": {"kind": "header", "name": "Authorization", "prefix": "token "},
            "balance": "data.items.0.credits",
            "numeric_string": True,
            "rate_limit": {"requests": 5, "per_seconds": 60},
            "display_name": "Acme credits",
            "top_up_url": "https://app.example.com/billing?tab=credits",
        }
    )

    assert api_url == URL + "?team=42"
    assert provider.display_name == "Acme credits"
    assert provider.top_up_url == "https://app.example.com/billing?tab=credits"
    assert provider.rate_limit == RateLimit(requests=5, per_seconds=60.0)
    request = provider.build_request(api_url, "k-1")
    assert (request.method, request.url) == ("POST", URL + "?team=42")
    assert request.headers == {"Authorization": "token k-1", "Content-Type": "application/json"}
    assert request.body is not None
    assert json.loads(request.body) == {"email": "ops@example.com", "flags": [1, 2], "deep": {"on": True}}
    assert provider.parse_balance({"data": {"items": [{"credits": "12.5"}]}}).credits == 12.5


def test_post_without_a_body_sends_none() -> None:
    provider, api_url = http_json.from_entry(entry(method="POST"))
    request = provider.build_request(api_url, "k")
    assert (request.method, request.body) == ("POST", None)
    assert "Content-Type" not in request.headers


@pytest.mark.parametrize(
    ("auth", "header", "value"),
    [
        ({"kind": "bearer"}, "Authorization", "Bearer k:1"),
        ({"kind": "basic-password"}, "Authorization", "Basic " + base64.b64encode(b":k:1").decode()),
        ({"kind": "basic-user"}, "Authorization", "Basic " + base64.b64encode(b"k:1:").decode()),
        ({"kind": "header", "name": "X-Api-Key"}, "X-Api-Key", "k:1"),
        ({"kind": "header", "name": "Authorization", "prefix": "token "}, "Authorization", "token k:1"),
    ],
)
def test_header_auth_kinds_leave_the_url_alone(auth: dict[str, object], header: str, value: str) -> None:
    provider, api_url = http_json.from_entry(entry(auth=auth))
    request = provider.build_request(api_url, "k:1")
    assert request.url == URL
    assert request.headers == {header: value}


def test_query_auth_appends_the_key_url_encoded_to_any_existing_query() -> None:
    plain, plain_url = http_json.from_entry(entry(auth={"kind": "query", "name": "api_key"}))
    joined, joined_url = http_json.from_entry(
        entry(url=URL + "?v=2&team=a%20b", auth={"kind": "query", "name": "api_key"})
    )

    assert plain.build_request(plain_url, "k/1+2=3&x").url == URL + "?api_key=k%2F1%2B2%3D3%26x"
    request = joined.build_request(joined_url, "k 1")
    assert request.url == URL + "?v=2&team=a%20b&api_key=k%201"
    assert request.headers == {}


def test_the_balance_is_read_strictly_unless_numeric_strings_are_allowed() -> None:
    strict, _ = http_json.from_entry(entry(balance="data.credits"))
    lenient, _ = http_json.from_entry(entry(balance="data.credits", numeric_string=True))

    assert strict.parse_balance({"data": {"credits": 7}}).credits == 7
    with pytest.raises(CheckError, match=r"'data\.credits' must be a number, got string") as raised:
        strict.parse_balance({"data": {"credits": "7"}})
    assert raised.value.kind is FailureKind.BAD_RESPONSE
    assert lenient.parse_balance({"data": {"credits": "7.25"}}).credits == 7.25
    for refused in ("7 credits", "0x10", "1e3", "Infinity", True, None):
        with pytest.raises(CheckError, match=r"'data\.credits' must be a number"):
            lenient.parse_balance({"data": {"credits": refused}})


def test_every_field_at_fault_is_named_not_only_the_first() -> None:
    fields = entry(method="PUT", auth={"kind": "digest"}, balance="a..b", rate_limit={"requests": 0})

    with pytest.raises(Invalid) as raised:
        http_json.from_entry(fields)

    assert [problem.split(":")[0] for problem in raised.value.problems] == [
        "method",
        "auth.kind",
        "balance",
        "rate_limit.requests",
    ]


def test_each_api_is_its_own_vendor_named_by_its_display_name_or_else_its_host() -> None:
    """The vendor is what grouping, outages, rate limits, the `provider` attribute and messages key
    on: never the shared "http-json", so two unrelated APIs are never one vendor."""
    alpha, _ = http_json.from_entry(
        entry(display_name="Alpha Credits", top_up_url="https://alpha.example/pay")
    )
    beta, _ = http_json.from_entry(entry(url="https://API.Beta.example:8443/v2/balance"))
    accented, _ = http_json.from_entry(entry(display_name="Crédit Ögé"))
    symbols, _ = http_json.from_entry(entry(display_name="!!!"))

    assert alpha.vendor == Vendor("alpha-credits", "Alpha Credits", "https://alpha.example/pay")
    assert beta.vendor == Vendor("api.beta.example", "api.beta.example", None)
    assert accented.vendor.id == "credit-oge"
    assert symbols.vendor == Vendor("api.example.com", "!!!", None)
    assert lemlist.PROVIDER.vendor == Vendor("lemlist", "lemlist", "https://app.lemlist.com/settings/billing")


# --- what real credit APIs return ----------------------------------------------------------------

NOW = datetime.datetime(2026, 6, 2, 15, 30, tzinfo=datetime.UTC)

MORE_INVALID: list[tuple[str, Mapping[str, object], str]] = [
    ("limit-missing-used", entry(balance={"limit": "max"}), "balance.used: required"),
    ("limit-unknown", entry(balance={"limit": "a", "used": "b", "left": "c"}), "balance.left: unknown field"),
    ("limit-bad-path", entry(balance={"limit": "a..b", "used": "b"}), "balance.limit: has an empty segment"),
    (
        "balance-and-header",
        entry(balance_header="X-Credits-Remaining"),
        "balance_header: the balance is read from the body (balance) or a header, not both",
    ),
    (
        "header-not-a-name",
        entry(balance=None, balance_header="X Credits"),
        "balance_header: must be an HTTP header name",
    ),
    ("pools-not-a-table", entry(pools=["a"]), "pools: must be a table of named paths"),
    ("pools-empty", entry(pools={}), "pools: must be a table of named paths"),
    ("pools-too-many", entry(pools={f"p{n}": "x" for n in range(11)}), "pools: at most 10 (got 11)"),
    ("pool-bad-path", entry(pools={"plan": ""}), "pools.plan: must not be empty"),
    ("pool-unknown", entry(pools={"plan": {"path": "a", "renew": True}}), "pools.plan.renew: unknown field"),
    (
        "pool-renews-string",
        entry(pools={"plan": {"path": "a", "renews": "yes"}}),
        "pools.plan.renews: must be",
    ),
    ("pool-name-long", entry(pools={"p" * 41: "a"}), "pools: a pool's name must be printable, at most 40"),
    ("error-not-a-path", entry(error=3), "error: must be a table such as"),
    ("error-path-missing", entry(error={"ok": True}), "error.path: required"),
    ("error-ok-table", entry(error={"path": "s", "ok": {}}), "error.ok: must be a boolean, an integer or a"),
    (
        "error-auth-string",
        entry(error={"path": "e", "auth": "bad"}),
        "error.auth: must be an array of strings",
    ),
    (
        "error-auth-too-many",
        entry(error={"path": "e", "auth": [f"e{n}" for n in range(21)]}),
        "error.auth: at most 20 values",
    ),
    ("renewal-not-a-table", entry(renewal="monthly"), "renewal: must be a table such as"),
    (
        "renewal-both",
        entry(renewal={"date_path": "a", "days_path": "b"}),
        "renewal: date_path or days_path, not both",
    ),
    (
        "renewal-read-and-declared",
        entry(renewal={"date_path": "a", "every": "month"}),
        "renewal.every: a renewal is read from the reply (date_path) or declared (every), not both",
    ),
    ("renewal-unknown", entry(renewal={"month": 3, "path": "b"}), "renewal.path: unknown field"),
    ("currency-lower", entry(currency="usd"), "currency: must be an ISO 4217 code in capitals"),
    ("currency-number", entry(currency=840), 'currency: must be an ISO 4217 code in capitals such as "USD"'),
    (
        "currency-both",
        entry(currency="USD", currency_path="currency"),
        "currency: a fixed currency or currency_path, not both",
    ),
    ("quota-bad", entry(quota="a."), "quota: has an empty segment"),
    ("token-not-a-table", entry(token="https://a.example/t"), "token: must be a table such as"),
    ("token-url-http", entry(token={"url": "http://a.example/t"}), "token.url: must be https://"),
    ("token-url-missing", entry(token={"client_auth": "body"}), "token.url: required"),
    (
        "token-client-auth",
        entry(token={"url": "https://a.example/t", "client_auth": "jwt"}),
        "token.client_auth: must be one of body, basic (got 'jwt')",
    ),
    (
        "token-with-basic",
        entry(token={"url": "https://a.example/t"}, auth={"kind": "basic"}),
        "auth.kind: with a token exchange the access token is sent as the key: bearer, header or query",
    ),
    (
        "id-without-basic",
        entry(url="https://api.example.com/Accounts/{id}/Balance.json"),
        "url: {id} stands for the first part of a two-part key",
    ),
]


@pytest.mark.parametrize(
    ("fields", "message"), [case[1:] for case in MORE_INVALID], ids=[case[0] for case in MORE_INVALID]
)
def test_each_new_form_refuses_a_wrong_value_naming_its_field(
    fields: Mapping[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        http_json.from_entry(fields)


def reply(
    fields: Mapping[str, object], payload: dict[str, object], headers: dict[str, str] | None = None
) -> Balance:
    provider, _ = http_json.from_entry(entry(**fields))
    assert provider.parse_reply is not None
    return provider.parse_reply(payload, ReplyContext(headers or {}, NOW))


def test_a_balance_can_be_a_limit_less_what_is_used_the_limit_being_the_quota() -> None:
    balance = reply(
        {"balance": {"limit": "max_api_credit", "used": "used_api_credit"}},
        {"max_api_credit": 1000, "used_api_credit": 250.5},
    )
    assert (balance.credits, balance.quota) == (749.5, 1000)


def test_a_balance_can_be_read_from_a_reply_header_as_a_numeric_string() -> None:
    fields = {"balance": None, "balance_header": "X-Credits-Remaining"}
    assert reply(fields, {}, {"x-credits-remaining": " 15432.50"}).credits == 15432.5
    with pytest.raises(CheckError, match="response has no 'X-Credits-Remaining' header") as raised:
        reply(fields, {})
    assert raised.value.kind is FailureKind.BAD_RESPONSE
    with pytest.raises(CheckError, match="header 'X-Credits-Remaining' must be a number"):
        reply(fields, {}, {"x-credits-remaining": "lots"})


def test_named_pools_split_the_balance_or_make_it_when_there_is_no_total() -> None:
    pools = {"plan": {"path": "plan_left", "renews": True}, "extra": "extra_credits"}
    payload: dict[str, object] = {"plan_left": 90, "extra_credits": 10, "total": 100}

    with_total = reply({"balance": "total", "pools": pools}, payload)
    without = reply({"balance": None, "pools": pools}, payload)

    assert with_total.pools == without.pools == (Pool("plan", 90, renews=True), Pool("extra", 10))
    assert (with_total.credits, without.credits) == (100, 100)


def test_numeric_strings_apply_to_every_number_read() -> None:
    fields = {"balance": {"limit": "max", "used": "used"}, "numeric_string": True, "pools": {"a": "a"}}
    balance = reply(fields, {"max": "10", "used": "2.5", "a": "7.5"})
    assert (balance.credits, balance.pools) == (7.5, (Pool("a", 7.5),))


@pytest.mark.parametrize(
    ("error", "payload", "kind", "message"),
    [
        (
            "error",
            {"error": "apikey_not_found"},
            FailureKind.BAD_RESPONSE,
            "the reply's 'error' says apikey_not_found",
        ),
        (
            {"path": "error", "auth": ["apikey_not_found"]},
            {"error": "apikey_not_found"},
            FailureKind.AUTH,
            "key rejected: the reply's 'error' says apikey_not_found",
        ),
        (
            {"path": "error", "message": "message"},
            {"error": True, "message": "INVALID_PARAM"},
            FailureKind.BAD_RESPONSE,
            "the reply's 'error' says INVALID_PARAM",
        ),
        (
            {"path": "status", "ok": "success"},
            {"status": "failed"},
            FailureKind.BAD_RESPONSE,
            "the reply's 'status' says failed",
        ),
        (
            {"path": "success", "ok": True},
            {"success": False},
            FailureKind.BAD_RESPONSE,
            "the reply's 'success' says false",
        ),
        ({"path": "code", "ok": 0}, {"code": 7}, FailureKind.BAD_RESPONSE, "the reply's 'code' says 7"),
    ],
)
def test_an_http_200_error_is_a_failed_check_with_its_cause(
    error: object, payload: dict[str, object], kind: FailureKind, message: str
) -> None:
    with pytest.raises(CheckError) as raised:
        reply({"error": error}, payload)
    assert raised.value.kind is kind
    assert message in raised.value.message


@pytest.mark.parametrize(
    ("error", "payload"),
    [
        ("error", {"credits": 5}),
        ("error", {"error": None, "credits": 5}),
        ("error", {"error": False, "credits": 5}),
        ("error", {"error": "", "credits": 5}),
        ("error", {"error": 0, "credits": 5}),
        ({"path": "success", "ok": True}, {"success": True, "credits": 5}),
        ({"path": "success", "ok": True}, {"credits": 5}),
        ({"path": "code", "ok": 0}, {"code": 0, "credits": 5}),
    ],
)
def test_an_error_path_without_an_error_leaves_the_balance_alone(
    error: object, payload: dict[str, object]
) -> None:
    assert reply({"error": error}, payload).credits == 5


def test_an_ok_value_must_match_in_type_too() -> None:
    """1 is not true, "true" is not true: a vendor that changes its success flag is noticed."""
    for value in (1, "true"):
        with pytest.raises(CheckError):
            reply({"error": {"path": "success", "ok": True}}, {"success": value, "credits": 5})


def test_a_renewal_date_or_days_from_a_path() -> None:
    by_date = reply(
        {"renewal": {"date_path": "data.reset_date"}}, {"credits": 1, "data": {"reset_date": "2026-07-01"}}
    )
    by_days = reply(
        {"renewal": {"days_path": "data.limit_resets_in"}}, {"credits": 1, "data": {"limit_resets_in": 29}}
    )
    none = reply({"renewal": {"date_path": "reset"}}, {"credits": 1, "reset": None})
    declared = reply({"renewal": {"every": "month", "day": 1}}, {"credits": 1})

    assert by_date.renews_at == datetime.datetime(2026, 7, 1, tzinfo=datetime.UTC)
    assert by_days.renews_at == datetime.datetime(2026, 7, 1, tzinfo=datetime.UTC)
    assert none.renews_at is None
    assert declared.renews_at is None, "a declared renewal is the accounts file's, not the reply's"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-1, "'d' must be a number of days from 0 to 3,660"),
        (3661, "'d' must be a number of days from 0 to 3,660"),
        ("29", "'d' must be a number, got string"),
        (None, "'d' must be a number, got null"),
    ],
)
def test_renewal_days_out_of_range_or_not_numbers_are_bad_responses(value: object, message: str) -> None:
    with pytest.raises(CheckError) as raised:
        reply({"renewal": {"days_path": "d"}}, {"credits": 1, "d": value})
    assert (raised.value.kind, raised.value.message) == (FailureKind.BAD_RESPONSE, message)


def test_a_currency_fixed_or_read_from_the_reply() -> None:
    assert reply({"currency": "EUR"}, {"credits": 8}).currency == "EUR"
    assert reply({"currency_path": "currency"}, {"credits": 8, "currency": "gbp"}).currency == "GBP"
    assert reply({}, {"credits": 8}).currency is None


def test_a_quota_path_reads_the_periods_allowance() -> None:
    assert reply({"balance": "remain", "quota": "total"}, {"remain": 5, "total": 200}).quota == 200


def test_basic_auth_sends_a_two_part_key_as_user_and_password_and_fills_the_id_in_the_url() -> None:
    provider, url = http_json.from_entry(
        entry(url="https://api.example.com/Accounts/{id}/Balance.json", auth={"kind": "basic"})
    )
    request = provider.build_request(url, "AC 1/2:tok:en")

    assert provider.two_part_key
    assert request.url == "https://api.example.com/Accounts/AC%201%2F2/Balance.json"
    assert request.headers == {"Authorization": "Basic " + base64.b64encode(b"AC 1/2:tok:en").decode()}


def test_a_token_entry_exchanges_a_two_part_key_and_sends_the_token_as_its_auth_says() -> None:
    provider, url = http_json.from_entry(
        entry(token={"url": "https://auth.example.com/oauth/token", "client_auth": "basic"})
    )
    assert provider.token is not None
    assert provider.two_part_key
    token_request = provider.token.build_request(url, "id-1", "secret-1")

    assert (token_request.method, token_request.url) == ("POST", "https://auth.example.com/oauth/token")
    assert token_request.body == b"grant_type=client_credentials"
    assert token_request.headers["Authorization"] == "Basic " + base64.b64encode(b"id-1:secret-1").decode()
    assert provider.build_request(url, "the-token").headers == {"Authorization": "Bearer the-token"}
