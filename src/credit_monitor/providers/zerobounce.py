"""ZeroBounce: GET /v2/getcredits?api_key=<key>; `Credits` is a numeric string, -1 for a bad key.

Sources:
- https://www.zerobounce.net/docs/email-validation-api-quickstart/v2-credit-balance: "GET
  /V2/GETCREDITS ... https://api.zerobounce.net/v2/getcredits ... URL Parameters ... api_key" and
  "If a -1 is returned, that means your API Key is invalid." The example on the .in copy of the
  page is a number: {"Credits":2375323}, error {"Credits":-1}.
- Go SDK zerobounce/zerobouncego @ 20664f56ecf78fb00a53ee8faaf0eeb124d16ba0: api.go
  `CreditsRaw string `json:"Credits"``; api_test.go mocks 200 {"Credits": "50"}. Go cannot decode
  a JSON number into a string, so the live API sends a string: both forms are accepted.
- Python SDK zerobounce/zero-bounce-python-sdk-setup @ 0d5da91a0092443fec450688905637d771cc4157:
  tests/zero_bounce_test_case.py mocks {"Credits": "-1"} for an invalid key, and 400
  {"error": "Missing parameter: api_key."} for a missing one.
- Rate limits, https://www.zerobounce.net/docs/api-dashboard/api-rate-limits/: 50,000 requests an
  hour for /v2/getcredits, and "Bad API key requests (200 times in 1 hour) ... will result in a
  temporary block for 1 day". A -1 is an auth failure and is never retried: at the hourly
  schedule a bad key costs 1 request an hour, far below 200, but a schedule every few seconds, or
  a script looping over the CLI, could get the key's origin blocked for a day. Fix the key instead.

Regional hosts: set the account's api_url to https://api-us.zerobounce.net/v2 or
https://api-eu.zerobounce.net/v2. No Retry-After is documented for its 429.
"""

from __future__ import annotations

from credit_monitor.model import Balance, CheckError, FailureKind
from credit_monitor.providers.base import Provider, RateLimit, Request, RetryPolicy
from credit_monitor.providers.fields import excerpt, number_at
from credit_monitor.providers.query_auth import with_query_key


def build_request(api_url: str, api_key: str) -> Request:
    return Request("GET", with_query_key(api_url + "/getcredits", "api_key", api_key), {})


def parse_balance(payload: dict[str, object]) -> Balance:
    error = excerpt(payload.get("error"))
    if error:  # the SDKs treat any top-level `error` as a failure
        raise CheckError(FailureKind.BAD_RESPONSE, f"ZeroBounce error: {error}")
    credits = number_at(payload, ("Credits",), numeric_string=True)
    if credits == -1:
        raise CheckError(
            FailureKind.AUTH,
            "ZeroBounce says the API key is invalid (Credits -1); "
            "200 bad-key requests in an hour block it for a day",
        )
    return Balance(credits=credits)


PROVIDER = Provider(
    name="zerobounce",
    display_name="ZeroBounce",
    default_api_url="https://api.zerobounce.net/v2",
    top_up_url=None,
    build_request=build_request,
    parse_balance=parse_balance,
    retry=RetryPolicy(attempts=4, backoff_seconds=0.5, rate_limited_backoff_seconds=2.0),
    rate_limit=RateLimit(requests=50_000, per_seconds=3600),  # per account, for /v2/getcredits
)
