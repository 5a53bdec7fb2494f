"""http-json accounts against a loopback HTTPS simulator, through `checks.run_checks`.

Every auth kind, GET and POST with a JSON body, numeric strings only when allowed, dotted paths
through arrays; and a key sent in a query string, which must not surface in any form in a failure
message or a log line, however the request fails.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
import trustme

from credit_monitor.config import Account
from credit_monitor.keys import key_forms
from credit_monitor.model import CheckError, CheckResult, FailureKind
from credit_monitor.providers import http_json
from tests.support.blackhole import closed_port
from tests.support.simulators import Reply, refused_handshakes
from tests.support.vendors import CATALOGUE_VENDORS, OWNER_EMAIL, KeyPlace, Vendor, VendorSimulator, run_check

KEY = "hj_live_9d4b2f7a1c6e3b8d"
QUERY_KEY = "qk_7f/3a+9c=2e&b4?d%5Ex~y z"
"""Characters that URL-encoding changes, so the raw and the encoded forms differ."""
PATH = "/api/v1/balance"


def generic(key: KeyPlace, method: str = "GET", success: Callable[[float], object] | None = None) -> Vendor:
    return Vendor(
        name="generic",
        base_path="",
        path=PATH,
        key=key,
        success=success or (lambda balance: {"data": {"credits": {"available": balance}}}),
        bad_key=Reply(401, {"message": "invalid API key"}),
        missing_key=Reply(401, {"message": "no API key"}),
        method=method,
    )


def account(entry: Mapping[str, object]) -> Account:
    provider, url = http_json.from_entry(entry)
    assert provider.name == "http-json"
    return Account("acme-credits", provider, url, threshold=100)


def failure(result: CheckResult) -> CheckError:
    assert result.error is not None, f"expected a failure, got {result.balance}"
    return result.error


@pytest.fixture(autouse=True)
def _trust_the_test_ca(ca_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # read by OpenSSL itself, so it must be real env


@pytest.fixture
def serve(server_cert: trustme.LeafCert) -> Iterator[Callable[..., VendorSimulator]]:
    started: list[VendorSimulator] = []

    def _serve(
        vendor: Vendor, key: str = KEY, balance: float = 5000, cert: trustme.LeafCert | None = None
    ) -> VendorSimulator:
        started.append(VendorSimulator(vendor, cert or server_cert, key, balance).start())
        return started[-1]

    yield _serve
    for simulator in started:
        simulator.stop()


AUTH_KINDS = [
    ({"kind": "bearer"}, KeyPlace("bearer"), "authorization", f"Bearer {KEY}"),
    ({"kind": "basic-password"}, KeyPlace("basic-password"), "authorization", None),
    ({"kind": "basic-user"}, KeyPlace("basic-user"), "authorization", None),
    (
        {"kind": "header", "name": "Authorization", "prefix": "token "},
        KeyPlace("header", "Authorization", "token "),
        "authorization",
        f"token {KEY}",
    ),
    ({"kind": "header", "name": "X-Api-Key"}, KeyPlace("header", "X-Api-Key"), "x-api-key", KEY),
    ({"kind": "query", "name": "api_key"}, KeyPlace("query", "api_key"), None, None),
]


@pytest.mark.parametrize(
    ("auth", "place", "header", "value"),
    AUTH_KINDS,
    ids=[f"{a['kind']}-{a.get('name', '')}" for a, *_ in AUTH_KINDS],
)
def test_every_auth_kind_sends_the_key_where_the_api_reads_it(
    serve: Callable[..., VendorSimulator],
    auth: dict[str, object],
    place: KeyPlace,
    header: str | None,
    value: str | None,
) -> None:
    api = serve(generic(place), balance=777)
    entry = {"url": api.url, "auth": auth, "balance": "data.credits.available"}

    result = run_check(account(entry), KEY)

    assert result.balance is not None, result.error
    assert result.balance.credits == 777
    [request] = api.requests
    if header is not None and value is not None:
        assert request.headers[header] == value
    if place.kind != "query":
        assert KEY not in request.target

    bad = failure(run_check(account(entry), "hj_live_wrong_key_000"))
    assert bad.kind is FailureKind.AUTH
    assert bad.message == "HTTP 401, key rejected: invalid API key"


def test_basic_kinds_put_the_key_on_the_documented_side_of_the_colon(
    serve: Callable[..., VendorSimulator],
) -> None:
    """Sent as the other kind, each is refused: the simulator checks the empty side is empty."""
    password_api = serve(generic(KeyPlace("basic-password")))
    user_api = serve(generic(KeyPlace("basic-user")))
    wrong_side = [
        (password_api, {"kind": "basic-user"}),
        (user_api, {"kind": "basic-password"}),
    ]
    for api, auth in wrong_side:
        entry = {"url": api.url, "auth": auth, "balance": "data.credits.available"}
        assert failure(run_check(account(entry), KEY)).kind is FailureKind.AUTH


def test_get_sends_no_body_and_post_sends_the_body_table_as_json(
    serve: Callable[..., VendorSimulator],
) -> None:
    get_api = serve(generic(KeyPlace("bearer")))
    post_api = serve(generic(KeyPlace("header", "Authorization"), method="POST"))

    got = run_check(
        account({"url": get_api.url, "auth": {"kind": "bearer"}, "balance": "data.credits.available"}), KEY
    )
    posted = run_check(
        account(
            {
                "url": post_api.url,
                "method": "POST",
                "body": {"email": "ops@example.com", "options": {"verbose": False}},
                "auth": {"kind": "header", "name": "Authorization"},  # Icypeas: the raw key, no scheme
                "balance": "data.credits.available",
            }
        ),
        KEY,
    )

    assert got.balance is not None
    assert posted.balance is not None
    [get_request], [post_request] = get_api.requests, post_api.requests
    assert (get_request.method, get_request.body) == ("GET", b"")
    assert post_request.method == "POST"
    assert json.loads(post_request.body) == {"email": "ops@example.com", "options": {"verbose": False}}
    assert post_request.headers["content-type"] == "application/json"
    assert post_request.headers["authorization"] == KEY


@pytest.mark.parametrize(
    ("credits", "numeric_string", "expected"),
    [
        ("123.5", True, 123.5),
        ("-1", True, -1),
        (42, True, 42),
        (42.25, False, 42.25),
        ("123.5", False, "'credits' must be a number, got string"),
        ("12 credits", True, "'credits' must be a number or a numeric string, got another string"),
        ("1e3", True, "must be a number or a numeric string"),
        ("NaN", True, "must be a number or a numeric string"),
        ("", True, "must be a number or a numeric string"),
        (True, True, "'credits' must be a number, got boolean"),
        (None, True, "'credits' must be a number, got null"),
        ([1], True, "'credits' must be a number, got array"),
    ],
)
def test_numeric_strings_are_read_only_when_allowed(
    serve: Callable[..., VendorSimulator], credits: object, numeric_string: bool, expected: float | str
) -> None:
    api = serve(generic(KeyPlace("bearer"), success=lambda _: {"credits": credits}))
    entry = {
        "url": api.url,
        "auth": {"kind": "bearer"},
        "balance": "credits",
        "numeric_string": numeric_string,
    }

    result = run_check(account(entry), KEY)

    if isinstance(expected, str):
        error = failure(result)
        assert error.kind is FailureKind.BAD_RESPONSE
        assert expected in error.message
    else:
        assert result.balance is not None, result.error
        assert result.balance.credits == expected


ITEMS_BODY = {"items": [{"credits": 5, "name": "trial"}, {"credits": {"left": 640}}], "meta": {"0": 9}}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("items.0.credits", 5),
        ("items.1.credits.left", 640),
        ("meta.0", 9),  # on an object a digit is a key like any other
        ("items.2.credits", "response has no 'items.2' item (an array of 2 at that point)"),
        ("items.first.credits", "response has no 'items.first' item (an array of 2 at that point)"),
        (
            "items.0.credits.left",
            "response has no 'items.0.credits.left' field ('items.0.credits' is a JSON number)",
        ),
        ("items.1.credits", "'items.1.credits' must be a number, got object"),
        ("total", "response has no 'total' field"),
    ],
)
def test_dotted_paths_walk_objects_and_arrays(
    serve: Callable[..., VendorSimulator], path: str, expected: float | str
) -> None:
    api = serve(generic(KeyPlace("bearer"), success=lambda _: ITEMS_BODY))

    result = run_check(account({"url": api.url, "auth": {"kind": "bearer"}, "balance": path}), KEY)

    if isinstance(expected, str):
        error = failure(result)
        assert (error.kind, error.message) == (FailureKind.BAD_RESPONSE, expected)
    else:
        assert result.balance is not None, result.error
        assert result.balance.credits == expected


def test_a_query_key_joins_the_urls_own_query_string_encoded(serve: Callable[..., VendorSimulator]) -> None:
    api = serve(generic(KeyPlace("query", "token")), key=QUERY_KEY)
    entry = {
        "url": api.url + "?account=acme&v=2",
        "auth": {"kind": "query", "name": "token"},
        "balance": "data.credits.available",
    }

    result = run_check(account(entry), QUERY_KEY)

    assert result.balance is not None, result.error
    [request] = api.requests
    assert request.query == {"account": ["acme"], "v": ["2"], "token": [QUERY_KEY]}
    assert QUERY_KEY not in request.target  # sent URL-encoded


# --- the query key never leaks, however the request fails ------------------------------------------


def _echo(status: int) -> Reply:
    return Reply(
        status,
        "request {request_target} failed; decoded: {request_target_decoded}",
        {"Content-Type": "text/plain"},
    )


FAILURES: dict[str, tuple[FailureKind, list[Reply]]] = {
    "500-echoing-the-url": (FailureKind.HTTP, [_echo(500)] * 6),
    "401-echoing-the-url": (FailureKind.AUTH, [_echo(401)]),
    "404-echoing-the-url": (FailureKind.AUTH, [_echo(404)]),
    "200-not-json-echoing-the-url": (FailureKind.BAD_RESPONSE, [_echo(200)]),
    "200-json-echoing-the-url": (
        FailureKind.BAD_RESPONSE,
        [Reply(200, {"credits": "{request_target}", "url": "{request_target_decoded}"})],
    ),
    "dropped": (FailureKind.CONNECTION, [Reply(action="drop")] * 6),
    "timeout": (FailureKind.TIMEOUT, [Reply(action="hang")] * 6),
}


def _assert_no_form_of_the_key(*texts: str) -> None:
    for form in key_forms(QUERY_KEY):
        for text in texts:
            assert form not in text, "a form of the query key leaked"  # never print the form itself


@pytest.mark.parametrize("case", sorted(FAILURES))
def test_a_query_key_is_in_no_message_or_log_line_when_the_server_misbehaves(
    serve: Callable[..., VendorSimulator], caplog: pytest.LogCaptureFixture, case: str
) -> None:
    kind, replies = FAILURES[case]
    api = serve(generic(KeyPlace("query", "token")), key=QUERY_KEY).then(*replies)
    entry = {
        "url": api.url + "?account=acme",
        "auth": {"kind": "query", "name": "token"},
        "balance": "credits",
    }
    caplog.set_level(logging.DEBUG)

    error = failure(run_check(account(entry), QUERY_KEY, seconds=3.0))

    assert error.kind is kind, error.message
    assert api.requests, "the key was never sent, so nothing was tested"
    assert api.requests[0].query["token"] == [QUERY_KEY]
    _assert_no_form_of_the_key(error.message, caplog.text)
    if case.endswith("echoing-the-url") and not case.startswith("200"):
        assert "token=***" in error.message  # the echo arrived, and was redacted


def test_a_query_key_is_in_no_message_or_log_line_when_the_connection_is_refused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"https://127.0.0.1:{closed_port()}{PATH}?account=acme"
    entry = {"url": url, "auth": {"kind": "query", "name": "token"}, "balance": "credits"}
    caplog.set_level(logging.DEBUG)

    error = failure(run_check(account(entry), QUERY_KEY, seconds=3.0))

    assert error.kind is FailureKind.CONNECTION
    assert not [r for r in caplog.records if r.name.startswith("urllib3")], "urllib3's own lines are dropped"
    _assert_no_form_of_the_key(error.message, caplog.text)


def test_a_query_key_is_never_sent_when_tls_verification_fails(
    serve: Callable[..., VendorSimulator], caplog: pytest.LogCaptureFixture
) -> None:
    stranger = trustme.CA().issue_cert("127.0.0.1")  # not the CA in SSL_CERT_FILE
    api = serve(generic(KeyPlace("query", "token")), key=QUERY_KEY, cert=stranger)
    entry = {"url": api.url, "auth": {"kind": "query", "name": "token"}, "balance": "credits"}
    caplog.set_level(logging.DEBUG)

    error = failure(run_check(account(entry), QUERY_KEY, seconds=3.0))

    assert error.kind is FailureKind.TLS
    assert api.requests == []
    assert refused_handshakes(api) >= 1
    _assert_no_form_of_the_key(error.message, caplog.text)


def test_a_key_cut_in_two_by_the_error_body_limit_leaves_no_part_of_it(
    serve: Callable[..., VendorSimulator],
) -> None:
    """An error body is redacted whole before it is cut to one line (else its first part would stay)."""
    echo = Reply(401, "x" * 150 + " {key}", {"Content-Type": "text/plain"})  # the cut falls 8 chars in
    api = serve(generic(KeyPlace("query", "token")), key=QUERY_KEY).then(echo)
    entry = {"url": api.url, "auth": {"kind": "query", "name": "token"}, "balance": "credits"}

    error = failure(run_check(account(entry), QUERY_KEY, seconds=3.0))

    _assert_no_form_of_the_key(error.message)  # the whole key, in any form, is caught
    assert QUERY_KEY[:8] not in error.message  # nor its first 8 characters, cut off from the rest


# --- the forms real credit APIs need, each with the vendor docs/vendors.md takes as its example ----------


PAIR = "client-7d2e5b9c1a3f:secret-4f1c9a7e2b8d6c0a"


def test_a_balance_from_a_reply_header_leadmagic(serve: Callable[..., VendorSimulator]) -> None:
    api = serve(CATALOGUE_VENDORS["leadmagic"], balance=1234.5)
    result = run_check(
        account(
            {
                "url": api.url,
                "auth": {"kind": "header", "name": "X-API-Key"},
                "balance_header": "X-Credits-Remaining",
            }
        ),
        KEY,
    )
    assert result.balance is not None, result.error
    assert result.balance.credits == 1234.5


def test_a_token_exchange_then_a_bearer_token_snovio(serve: Callable[..., VendorSimulator]) -> None:
    api = serve(CATALOGUE_VENDORS["snovio"], key=PAIR, balance=250)
    entry = {
        "url": api.url,
        "token": {"url": api.token_url},
        "auth": {"kind": "bearer"},
        "balance": "data.balance",
        "numeric_string": True,
        "renewal": {"days_path": "data.limit_resets_in"},
    }
    result = run_check(account(entry), PAIR)
    assert result.balance is not None, result.error
    assert result.balance.credits == 250
    assert result.balance.renews_at is not None
    [token] = api.issued
    assert api.requests[0].headers["authorization"] == f"Bearer {token}"


def test_a_token_exchange_with_the_client_in_basic_auth(serve: Callable[..., VendorSimulator]) -> None:
    api = serve(CATALOGUE_VENDORS["snovio"], key=PAIR)
    entry = {
        "url": api.url,
        "token": {"url": api.token_url, "client_auth": "basic"},
        "auth": {"kind": "bearer"},
        "balance": "data.balance",
        "numeric_string": True,
    }
    assert run_check(account(entry), PAIR).balance is not None
    [token_request] = api.token_requests
    assert token_request.body == b"grant_type=client_credentials"
    assert token_request.headers["authorization"].startswith("Basic ")


def test_two_part_basic_credentials_and_the_id_in_the_url_twilio(
    serve: Callable[..., VendorSimulator],
) -> None:
    sid = PAIR.partition(":")[0]
    api = serve(CATALOGUE_VENDORS["twilio"], key=PAIR, balance=7.5)
    entry = {
        "url": api.origin + "/2010-04-01/Accounts/{id}/Balance.json",
        "auth": {"kind": "basic"},
        "balance": "balance",
        "numeric_string": True,
        "currency_path": "currency",
    }
    result = run_check(account(entry), PAIR)
    assert result.balance is not None, result.error
    assert (result.balance.credits, result.balance.currency) == (7.5, "USD")
    assert api.requests[0].target == f"/2010-04-01/Accounts/{sid}/Balance.json"


def test_a_limit_less_what_is_used_renewing_on_the_vendors_date_scrapingbee(
    serve: Callable[..., VendorSimulator],
) -> None:
    api = serve(CATALOGUE_VENDORS["scrapingbee"], balance=600)
    entry = {
        "url": api.url,
        "auth": {"kind": "query", "name": "api_key"},
        "balance": {"limit": "max_api_credit", "used": "used_api_credit"},
        "renewal": {"date_path": "renewal_subscription_date"},
        "rate_limit": {"requests": 6, "per_seconds": 60},
    }
    result = run_check(account(entry), KEY)
    assert result.balance is not None, result.error
    assert (result.balance.credits, result.balance.quota) == (600, 1_000_000)
    assert result.balance.renews_at is not None


def test_named_pools_serpapi(serve: Callable[..., VendorSimulator]) -> None:
    api = serve(CATALOGUE_VENDORS["serpapi"], balance=1000)
    entry = {
        "url": api.url,
        "auth": {"kind": "query", "name": "api_key"},
        "balance": "total_searches_left",
        "pools": {"plan": {"path": "plan_searches_left", "renews": True}, "extra": "extra_credits"},
    }
    result = run_check(account(entry), KEY)
    assert result.balance is not None, result.error
    assert [(pool.name, pool.credits, pool.renews) for pool in result.balance.pools] == [
        ("plan", 900, True),
        ("extra", 100, False),
    ]


def test_an_http_200_error_millionverifier(serve: Callable[..., VendorSimulator]) -> None:
    api = serve(CATALOGUE_VENDORS["millionverifier"])
    entry = {
        "url": api.url,
        "auth": {"kind": "query", "name": "api"},
        "balance": "credits",
        "error": {"path": "error", "auth": ["apikey_not_found"]},
    }
    error = failure(run_check(account(entry), "mv_0000000000000000"))
    assert (error.kind, error.message) == (
        FailureKind.AUTH,
        "key rejected: the reply's 'error' says apikey_not_found",
    )


def test_a_post_with_the_owners_email_in_its_json_body_icypeas(serve: Callable[..., VendorSimulator]) -> None:
    api = serve(CATALOGUE_VENDORS["icypeas"], balance=42)
    entry = {
        "url": api.url,
        "method": "POST",
        "body": {"email": OWNER_EMAIL},
        "auth": {"kind": "header", "name": "Authorization"},
        "balance": "credits",
    }
    result = run_check(account(entry), KEY)
    assert result.balance is not None, result.error
    assert result.balance.credits == 42
    assert json.loads(api.requests[0].body) == {"email": OWNER_EMAIL}
