"""The built-in vendors that differ only in data: where to ask, how the key is sent, where the
balance is, the documented rate limit and how hard to retry. Each entry is validated by the same
code as an accounts file's http-json account (`http_json.validated`), so a mistake here is the
same clear ValueError, and it may use every form http-json reads (a limit less what is used,
pools, an error path, a renewal, a currency, a token exchange). A vendor whose replies need code
(lemlist's pools, NeverBounce's sum, ZeroBounce's -1, Hunter's plans, Clearout's status, Brevo's
plan list) keeps a module of its own.

Fields besides http-json's: `name` (the accounts file's `provider`), `url` the base URL (an
account's `url` replaces it, e.g. a regional host), `path` appended to it ("{id}" stands for the
first part of a two-part key), a `token` url that is a path (under the base URL, as the balance's
is), `account` (fields each account sets in the accounts file, and where
the request carries them: {"email": "query"} or {"email": "body"}), `retry` (RetryPolicy's
fields) and `source` (where the numbers come from; "THIRD-PARTY" marks what no vendor page shows).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from credit_monitor.providers import http_json, oauth
from credit_monitor.providers.base import Provider, Request, RetryPolicy, TokenExchange
from credit_monitor.providers.query_auth import with_query_key

OWN_FIELDS = ("name", "url", "path", "account", "retry", "source")
HTTP_FIELDS = tuple(name for name in http_json.FIELDS if name != "url")
TABLE_FIELDS = (*OWN_FIELDS, *HTTP_FIELDS)
ACCOUNT_FIELDS = ("email",)
"""What an account of a built-in may have to set: the account owner's e-mail (BetterContact,
Icypeas ask for it next to the key)."""
ACCOUNT_PLACES = ("query", "body")
EMAIL = re.compile(r"[^\s@]{1,64}@[^\s@]{1,189}")
"""Enough to catch a key or a name pasted in its place; the vendor checks the rest."""

TABLE: tuple[Mapping[str, Any], ...] = (
    {
        "name": "bouncer",
        "display_name": "Bouncer",
        "url": "https://api.usebouncer.com/v1.1",
        "path": "/credits",
        "auth": {"kind": "header", "name": "x-api-key"},
        "balance": "credits",
        "rate_limit": {"requests": 10, "per_seconds": 60},  # with 10 a minute, a check makes at most 3
        "retry": {"attempts": 3, "backoff_seconds": 0.5, "rate_limited_backoff_seconds": 6.0},
        "source": "Bouncer's OpenAPI, https://docs.usebouncer.com/api-reference/credits/credits.md:"
        " /v1.1/credits, auth 'x-api-key in header', example {'credits': 1000}, 'Limit of 10 requests"
        " per minute', errors 401, 402, 429, 503; https://docs.usebouncer.com/getting-started gives"
        " the host api.usebouncer.com.",
    },
    {
        "name": "dropcontact",
        "display_name": "Dropcontact",
        "url": "https://api.dropcontact.com/v1",
        "path": "/account/credits",
        "auth": {"kind": "header", "name": "X-Access-Token"},
        "balance": "credits",
        "rate_limit": {"requests": 60, "per_seconds": 1},
        "retry": {"attempts": 4, "backoff_seconds": 0.5, "rate_limited_backoff_seconds": 1.0},
        "source": "https://developer.dropcontact.com/en/reference/get-credits/: GET"
        " https://api.dropcontact.com/v1/account/credits, `credits` the credits left, free ones included,"
        " 401 a missing or invalid key, no credit used; /en/authentication/: the X-Access-Token header;"
        " /en/errors/: {'detail': ...}; /en/rate-limits/: 60 requests per second, then 429 (no Retry-After).",
    },
    {
        "name": "lusha",
        "display_name": "Lusha",
        "url": "https://api.lusha.com",
        "path": "/v3/account/usage",
        "auth": {"kind": "header", "name": "api_key"},
        "balance": "credits.remaining",
        "rate_limit": {"requests": 5, "per_seconds": 60},  # the usage endpoint's own limit, per key
        "retry": {"attempts": 2, "backoff_seconds": 0.5, "rate_limited_backoff_seconds": 5.0},
        "source": "https://docs.lusha.com/account/usage: GET https://api.lusha.com/v3/account/usage, header"
        " 'api_key', 'check credits.remaining', 'This endpoint has its own rate limit - 5 requests per"
        " minute'; https://docs.lusha.com/error-codes: 401 a bad key, 403 no API access, 429 the limit"
        " (no Retry-After). At 5 a minute, one retry at most.",
    },
    {
        "name": "snovio",
        "display_name": "Snov.io",
        "url": "https://api.snov.io",
        "path": "/v1/get-balance",
        "token": {"url": "/v1/oauth/access_token"},  # under the base URL
        "auth": {"kind": "bearer"},
        "balance": "data.balance",
        "numeric_string": True,
        "error": {"path": "success", "ok": True, "message": "message"},
        "renewal": {"days_path": "data.limit_resets_in"},
        "rate_limit": {"requests": 60, "per_seconds": 60},  # the whole API's, token requests included
        "retry": {"attempts": 3, "backoff_seconds": 0.5, "rate_limited_backoff_seconds": 2.0},
        "source": "https://snov.io/api: 'The API rate is limited to 60 requests per minute'; POST"
        " https://api.snov.io/v1/oauth/access_token with grant_type=client_credentials, client_id,"
        " client_secret -> access_token, token_type Bearer, expires_in (seconds); then 'Authorization:"
        " Bearer <token>'. THIRD-PARTY (several clients; the balance section is not in the stored"
        " page): GET /v1/get-balance -> {'success': true, 'data': {'balance': '25000.00', 'teamwork':"
        " false, 'unique_recipients_used': 0, 'limit_resets_in': 29, 'expires_in': 359}}, balance a"
        " string, limit_resets_in days.",
    },
    {
        "name": "prospeo",
        "display_name": "Prospeo",
        "url": "https://api.prospeo.io",
        "path": "/account-information",
        "method": "POST",
        "body": {},
        "auth": {"kind": "header", "name": "X-KEY"},
        "balance": "response.remaining_credits",
        "error": {"path": "error", "message": "message", "auth": ["INVALID_API_KEY"]},
        "renewal": {"date_path": "response.next_quota_renewal_date"},
        "source": "https://prospeo.io/api/account-information: POST https://api.prospeo.io/account-"
        "information, header X-KEY, free; {'error': false, 'response': {'current_plan': ...,"
        " 'remaining_credits': 99, 'used_credits': 1, 'next_quota_renewal_days': 25,"
        " 'next_quota_renewal_date': '2023-06-18 20:52:28+00:00'}}; /api/authentication: every"
        " endpoint takes POST with Content-Type application/json, every reply has 'error' (true on"
        " failure, with 'message'), 401 a bad key, 429 the plan's rate limit. Prospeo's newer docs"
        " show GET and error_code INVALID_API_KEY.",
    },
    {
        "name": "findymail",
        "display_name": "Findymail",
        "url": "https://app.findymail.com",
        "path": "/api/credits",
        "auth": {"kind": "bearer"},
        "balance": "credits",
        "source": "https://app.findymail.com/docs/: base https://app.findymail.com/, 'Authorization:"
        " Bearer {YOUR_AUTH_KEY}', a concurrency limit of 300 requests (no rate). THIRD-PARTY"
        " (several clients; the credits section is not in the stored page): GET /api/credits ->"
        " {'credits': n, 'verifier_credits': n}, two separate kinds of credit: the finder credits"
        " here, the verifier credits with http-json.",
    },
    {
        "name": "millionverifier",
        "display_name": "MillionVerifier",
        "url": "https://api.millionverifier.com",
        "path": "/api/v3/credits",
        "auth": {"kind": "query", "name": "api"},
        "balance": "credits",
        "error": {"path": "error", "auth": ["apikey_not_found"]},
        "source": "https://developer.millionverifier.com/: the key in query parameter 'api';"
        " MillionVerifier's sample-code repository (hubuco/millionverifier-real-time-api-v3):"
        " 'check your credits using https://api.millionverifier.com/api/v3/credits?api=API_KEY'."
        " THIRD-PARTY: the reply {'credits': n, ...}; a bad key is an HTTP 200 {'error':"
        " 'apikey_not_found'}.",
    },
    {
        "name": "bettercontact",
        "display_name": "BetterContact",
        "url": "https://app.bettercontact.rocks/api/v2",
        "path": "/account",
        "auth": {"kind": "header", "name": "X-API-Key"},
        "account": {"email": "query"},
        "balance": "credits_left",
        "source": "https://doc.bettercontact.rocks/api-reference/endpoint/account.md: GET"
        " https://app.bettercontact.rocks/api/v2/account, query email (required) and api_key; 200"
        " {'success': true, 'credits_left': 32377, 'email': ...}, 401 not authorized;"
        " /api-reference/authentication: 'All API endpoints are authenticated using the X-API-Key"
        " header'. The key goes in the header, the owner's e-mail in the query.",
    },
    {
        "name": "leadmagic",
        "display_name": "LeadMagic",
        "url": "https://api.leadmagic.io",
        "path": "/v1/credits",
        "auth": {"kind": "header", "name": "X-API-Key"},
        "balance": "credits",
        "source": "https://leadmagic.io/docs/reference/check-credits: GET https://api.leadmagic.io/"
        "v1/credits, header X-API-Key, {'credits': 15432.50}, 'FREE - no credits consumed and no rate"
        " limiting applied'; /docs/v1/making-api-calls: RFC 9457 errors, 401 missing or invalid key,"
        " every reply carries X-Credits-Remaining.",
    },
    {
        "name": "emailable",
        "display_name": "Emailable",
        "url": "https://api.emailable.com/v1",
        "path": "/account",
        "auth": {"kind": "query", "name": "api_key"},
        "balance": "available_credits",
        "source": "https://emailable.com/docs/api/account: GET https://api.emailable.com/v1/account,"
        " parameter api_key, {'owner_email': ..., 'available_credits': 1337} (integer);"
        " /docs/api/status-codes/: 401 no key sent, 403 an invalid key, 429 too often.",
    },
    {
        "name": "serpapi",
        "display_name": "SerpApi",
        "url": "https://serpapi.com",
        "path": "/account.json",
        "auth": {"kind": "query", "name": "api_key"},
        "balance": "total_searches_left",
        "pools": {"plan": {"path": "plan_searches_left", "renews": True}, "extra": "extra_credits"},
        "quota": "searches_per_month",
        "source": "https://serpapi.com/account-api: GET https://serpapi.com/account.json?api_key=...,"
        " free and not counted; searches_per_month, plan_searches_left, extra_credits,"
        " total_searches_left (their sum), this_month_usage; the reply echoes api_key. No renewal"
        " date in the reply.",
    },
    {
        "name": "scrapingbee",
        "display_name": "ScrapingBee",
        "url": "https://app.scrapingbee.com/api/v1",
        "path": "/usage",
        "auth": {"kind": "query", "name": "api_key"},
        "balance": {"limit": "max_api_credit", "used": "used_api_credit"},
        "renewal": {"date_path": "renewal_subscription_date"},
        "rate_limit": {"requests": 6, "per_seconds": 60},  # the usage endpoint's own limit
        "retry": {"attempts": 2, "backoff_seconds": 0.5, "rate_limited_backoff_seconds": 10.0},
        "source": "ScrapingBee's MCP connector (com.scrapingbee.mcp, get_scrapingbee_usage): 'rate-"
        "limited to 6 calls per minute', returns max_api_credit, used_api_credit, max_concurrency,"
        " current_concurrency, renewal_subscription_date. THIRD-PARTY: GET"
        " https://app.scrapingbee.com/api/v1/usage?api_key=... (several clients), and a copy of the"
        " docs showing renewal_subscription_date as '2022-04-18T10:05:58.134716' (no offset: UTC).",
    },
    {
        "name": "apify",
        "display_name": "Apify",
        "url": "https://api.apify.com/v2",
        "path": "/users/me/limits",
        "auth": {"kind": "bearer"},
        "balance": {"limit": "data.limits.maxMonthlyUsageUsd", "used": "data.current.monthlyUsageUsd"},
        "renewal": {"date_path": "data.monthlyUsageCycle.endAt"},
        "currency": "USD",
        "source": "https://docs.apify.com/api/v2/users-me-limits-get: GET https://api.apify.com/v2/"
        "users/me/limits -> {'data': {'monthlyUsageCycle': {'startAt': ..., 'endAt':"
        " '2022-11-01T23:59:59.999Z'}, 'limits': {'maxMonthlyUsageUsd': 300, ...}, 'current':"
        " {'monthlyUsageUsd': 43, ...}}}; /integrations/api: the API token as a Bearer token;"
        " the client's errors: 401, 429 with a type.",
    },
    {
        "name": "brightdata",
        "display_name": "Bright Data",
        "url": "https://api.brightdata.com",
        "path": "/customer/balance",
        "auth": {"kind": "bearer"},
        "balance": "balance",
        "currency": "USD",
        "source": "https://docs.brightdata.com/api-reference/account-management-api/"
        "Get_total_balance_through_API: GET https://api.brightdata.com/customer/balance, 'Authorization:"
        " Bearer <API key>', {'balance': 456, 'pending_balance': 123}, balance 'the amount of money"
        " in your account'. Bright Data bills in US dollars.",
    },
    {
        "name": "twilio",
        "display_name": "Twilio",
        "url": "https://api.twilio.com/2010-04-01",
        "path": "/Accounts/{id}/Balance.json",
        "auth": {"kind": "basic"},
        "balance": "balance",
        "numeric_string": True,
        "currency_path": "currency",
        "source": "Twilio's OpenAPI (twilio/twilio-oai, spec/json/twilio_api_v2010.json): HTTP Basic"
        " accountSid:authToken; /2010-04-01/Accounts/{AccountSid}/Balance.json -> account_sid,"
        " balance (a string), currency; 'Child accounts do not contain balance information'."
        " https://www.twilio.com/docs/usage/twilios-response: JSON with .json; errors {code,"
        " message, more_info, status}, e.g. 20003 Authenticate with 401.",
    },
    {
        "name": "vonage",
        "display_name": "Vonage",
        "url": "https://rest.nexmo.com",
        "path": "/account/get-balance",
        "auth": {"kind": "basic"},
        "balance": "value",
        "currency": "EUR",
        "source": "https://developer.vonage.com/en/account/code-snippets/account-balance: curl"
        " https://rest.nexmo.com/account/get-balance -u KEY:SECRET; https://developer.vonage.com/"
        "api/account: {'value': 10.28, 'autoReload': false}, value 'The balance of the account, in"
        " EUR'.",
    },
    {
        "name": "sendgrid",
        "display_name": "SendGrid",
        "url": "https://api.sendgrid.com/v3",
        "path": "/user/credits",
        "auth": {"kind": "bearer"},
        "balance": "remain",
        "quota": "total",
        "renewal": {"date_path": "next_reset"},
        "source": "https://www.twilio.com/docs/sendgrid/api-reference/users-api/retrieve-your-credit-"
        "balance: GET https://api.sendgrid.com/v3/user/credits (EU subusers: api.eu.sendgrid.com),"
        " Bearer API key; the spec's example {'remain': 200, 'total': 200, 'overage': 0, 'used': 0,"
        " 'last_reset': '2013-01-01', 'next_reset': '2013-02-01', 'reset_frequency': 'monthly'}"
        " (seen in an SDK generated from it); .../errors: 401, 403, 429, {'errors': [{field,"
        " message}]}.",
    },
    {
        "name": "icypeas",
        "display_name": "Icypeas",
        "url": "https://app.icypeas.com/api",
        "path": "/a/actions/subscription-information",
        "method": "POST",
        "body": {},
        "auth": {"kind": "header", "name": "Authorization"},
        "account": {"email": "body"},
        "balance": "credits",
        "source": "https://api-doc.icypeas.com/subscriptions/subscription-information: POST"
        " https://app.icypeas.com/api/a/actions/subscription-information, body email (required);"
        " /getting-started: 'Authorization header containing your API key (and ONLY your API key)'."
        " THIRD-PARTY (several clients; the page shows no reply): top-level 'credits' (number).",
    },
)


def built_in(entry: Mapping[str, Any]) -> Provider:
    """The Provider an entry describes; ValueError("<field>: <what is wrong>") as for http-json."""
    unknown = sorted(str(name) for name in entry if name not in TABLE_FIELDS)
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown field (a table entry takes {', '.join(TABLE_FIELDS)})")
    path = entry.get("path")
    if not isinstance(path, str) or not path.startswith("/") or "?" in path or "#" in path:
        raise ValueError("path: must start with '/', without a query or fragment")
    account = _account_fields(entry.get("account", {}))
    base = entry.get("url")
    spec, _, display_name, top_up_url, rate_limit = http_json.validated(_absolute(entry))
    assert isinstance(base, str)  # validated as the url's start

    def build_request(api_url: str, api_key: str) -> Request:
        return spec.build_request(api_url + path, api_key)

    provider = Provider(
        name=str(entry["name"]),
        display_name=display_name or str(entry["name"]),
        default_api_url=base.rstrip("/"),
        top_up_url=top_up_url,
        build_request=build_request,
        parse_balance=spec.parse_balance,
        retry=RetryPolicy(**entry.get("retry", {})),
        rate_limit=rate_limit,
        parse_reply=spec.parse_reply,
        two_part_key=spec.two_part_key,
        token=_token_exchange(entry, spec.token_client_auth),
        account_fields=tuple(account),
        currency=spec.reading.currency,
        currency_from_reply=bool(spec.reading.currency_path),
    )
    if not account:
        return provider

    def for_account(values: Mapping[str, str]) -> Provider:
        """This vendor's provider for one account: its `account` fields where the vendor wants them."""
        body = json.loads(spec.body) if spec.body is not None else {}
        body |= {name: values[name] for name, place in account.items() if place == "body"}
        own = replace(spec, body=json.dumps(body).encode() if body else spec.body)

        def build_own_request(api_url: str, api_key: str) -> Request:
            request = own.build_request(api_url + path, api_key)
            url = request.url
            for name, place in account.items():
                if place == "query":
                    url = with_query_key(url, name, values[name])
            return replace(request, url=url)

        return replace(provider, build_request=build_own_request, for_account=None)

    return replace(provider, for_account=for_account)


def _absolute(entry: Mapping[str, Any]) -> dict[str, object]:
    """The entry as an http-json account would declare it: whole URLs (a token path made whole)."""
    base, path = entry.get("url"), entry.get("path")
    fields: dict[str, object] = {name: entry[name] for name in HTTP_FIELDS if name in entry}
    token = entry.get("token")
    if isinstance(token, Mapping) and isinstance(token.get("url"), str) and token["url"].startswith("/"):
        fields["token"] = {**token, "url": f"{base}{token['url']}"}
    return {"url": f"{base}{path}" if isinstance(base, str) else base} | fields


def _token_exchange(entry: Mapping[str, Any], client_auth: str) -> TokenExchange | None:
    """The entry's token exchange; a token `url` that is a path is taken under the account's base URL."""
    token = entry.get("token")
    if not isinstance(token, Mapping):
        return None
    url = str(token["url"])
    return oauth.exchange(url, client_auth, relative=url.startswith("/"))


def reading(entry: Mapping[str, Any]) -> http_json.Reading:
    """How an entry reads its vendor's reply, for the docs' vendor table."""
    spec, *_ = http_json.validated(_absolute(entry))
    return spec.reading


def _account_fields(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise ValueError('account: must be a table such as {"email": "query"}')
    for name, place in value.items():
        if name not in ACCOUNT_FIELDS:
            raise ValueError(
                f"account.{name}: unknown field (an account may set {', '.join(ACCOUNT_FIELDS)})"
            )
        if place not in ACCOUNT_PLACES:
            raise ValueError(f"account.{name}: must be sent in the {' or the '.join(ACCOUNT_PLACES)}")
    return {str(name): str(place) for name, place in value.items()}


def account_value(name: str, value: object) -> str:
    """An account's value for one of its provider's `account` fields; ValueError naming it."""
    if not isinstance(value, str) or not EMAIL.fullmatch(value) or not value.isascii():
        raise ValueError(
            f"{name}: must be the e-mail address of the vendor account's owner, e.g. owner@example.com"
            " (this vendor asks for it next to the key)"
        )
    return value


PROVIDERS: tuple[Provider, ...] = tuple(built_in(entry) for entry in TABLE)
