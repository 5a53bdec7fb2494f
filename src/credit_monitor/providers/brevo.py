"""Brevo: GET /v3/account with header `api-key`; the e-mail credits are spread over a plan list.

`plan` is an array of {type, credits, creditsType, startDate, endDate}: a subscription (or a free
plan) whose credits the plan refills, pay-as-you-go credits that stay until used, and SMS credits,
another unit. The balance is the e-mail credits: the sum of every entry but `sms`, one pool per
type (entries of one type added up); `renews_at` is the subscription's `endDate`, the end of its
period. Watch SMS credits with http-json if needed.

Sources:
- https://developers.brevo.com/reference/get-account: GET https://api.brevo.com/v3/account, "Check
  plan details (type, credits, expiration)"; https://developers.brevo.com/docs/how-it-works: the
  key in the `api-key` header; errors are JSON {code, message}.
- Brevo's generated SDK docs (GetAccountPlan, e.g. kevoj/APIv3-nodejs-library docs): type one of
  payAsYouGo, free, subscription, sms, reseller; credits "Remaining credits of the user" (a number);
  endDate "only available for subscription and reseller plan type". A reply from Brevo's API
  collection: {"plan": [{"type": "payAsYouGo", "credits": 5000, "creditsType": "sendLimit"},
  {"type": "subscription", "credits": 39983, "creditsType": "sendLimit", "startDate":
  "2017-03-11T00:00:00.000Z", "endDate": "2017-04-11T00:00:00.000Z"}, {"type": "sms", "credits":
  999.536, "creditsType": "sendLimit"}], ...}.

Rate limit: https://developers.brevo.com/docs/api-limits lists per-endpoint limits; /v3/account is
not among those in the stored page, so `rate_limit` is None.
"""

from __future__ import annotations

import math

from credit_monitor.model import Balance, CheckError, FailureKind, Pool, json_type_name
from credit_monitor.providers.base import Provider, ReplyContext, Request, RetryPolicy
from credit_monitor.providers.fields import find, number, renewal_date

SMS = "sms"
RENEWING = frozenset({"subscription", "free", "reseller"})
"""Plan types whose credits the plan refills; pay-as-you-go credits stay until used."""
DATED = frozenset({"subscription", "reseller"})
"""Plan types whose `endDate` is the end of the current period."""
MAX_PLAN_ENTRIES = 20
MAX_TYPE_CHARS = 40


def build_request(api_url: str, api_key: str) -> Request:
    return Request("GET", api_url + "/account", {"api-key": api_key})


def parse_reply(payload: dict[str, object], context: ReplyContext) -> Balance:
    plan = find(payload, ("plan",))
    if not isinstance(plan, list):
        raise CheckError(FailureKind.BAD_RESPONSE, f"'plan' must be an array, got {json_type_name(plan)}")
    totals: dict[str, list[float]] = {}
    renews_at = None
    for index, item in enumerate(plan[:MAX_PLAN_ENTRIES]):
        where = f"'plan.{index}"
        if not isinstance(item, dict):
            raise CheckError(
                FailureKind.BAD_RESPONSE, f"{where}' must be an object, got {json_type_name(item)}"
            )
        kind = item.get("type")
        if not isinstance(kind, str) or not kind.isprintable() or not 0 < len(kind) <= MAX_TYPE_CHARS:
            raise CheckError(FailureKind.BAD_RESPONSE, f"{where}.type' must be a plan type")
        if kind == SMS:
            continue
        totals.setdefault(kind, []).append(number(item.get("credits"), f"{where}.credits'"))
        if kind in DATED and item.get("endDate") is not None:
            renews_at = renewal_date(item["endDate"], f"{where}.endDate'")
    if not totals:
        raise CheckError(FailureKind.BAD_RESPONSE, "'plan' holds no e-mail credits (SMS credits only)")
    pools = tuple(Pool(kind, math.fsum(parts), kind in RENEWING) for kind, parts in totals.items())
    return Balance(credits=math.fsum(pool.credits for pool in pools), pools=pools, renews_at=renews_at)


def parse_balance(payload: dict[str, object]) -> Balance:
    return parse_reply(payload, ReplyContext())


PROVIDER = Provider(
    name="brevo",
    display_name="Brevo",
    default_api_url="https://api.brevo.com/v3",
    top_up_url="https://app.brevo.com/billing/account/plans",
    build_request=build_request,
    parse_balance=parse_balance,
    retry=RetryPolicy(attempts=3, backoff_seconds=0.5, rate_limited_backoff_seconds=2.0),
    rate_limit=None,
    parse_reply=parse_reply,
)
