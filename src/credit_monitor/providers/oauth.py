"""OAuth 2 client credentials (RFC 6749 section 4.4): the key for an API that wants a token first.

The account's secret entry holds "<client id>:<client secret>". The token request is a POST of
`grant_type=client_credentials` as a form, with the client's id and secret in the form
(`client_auth = "body"`, RFC 6749 2.3.1's alternative, as Snov.io documents it) or as HTTP Basic
(`"basic"`, the RFC's preferred way). The reply's `access_token` is then sent as the key would be;
`expires_in` (seconds) says how long token_cache.py may reuse it. Pure: no I/O here.
"""

from __future__ import annotations

import base64
import math
import re
from urllib.parse import urlencode

from credit_monitor.model import CheckError, FailureKind, json_type_name
from credit_monitor.providers.base import Request, Token, TokenExchange
from credit_monitor.providers.fields import NUMERIC_STRING

CLIENT_AUTHS = ("body", "basic")
DEFAULT_LIFETIME_SECONDS = 300.0
"""A reply without `expires_in` says nothing of the token's life: reuse it only this long."""
MAX_LIFETIME_SECONDS = 86_400.0
"""A day at most, whatever the reply claims: a revoked token is not kept for long."""
MAX_TOKEN_CHARS = 4096
TOKEN_CHARS = re.compile(r"[\x21-\x7e]+")
"""Printable ASCII without spaces: what can go in a header as it is."""


def exchange(url: str, client_auth: str = "body", *, relative: bool = False) -> TokenExchange:
    """`url` the token endpoint; `relative`: a path under the account's API base URL (a catalogue
    vendor's, so that an account's regional `url` moves both)."""

    def build_request(api_url: str, client_id: str, client_secret: str) -> Request:
        form = {"grant_type": "client_credentials"}
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if client_auth == "basic":
            pair = f"{client_id}:{client_secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        else:
            form |= {"client_id": client_id, "client_secret": client_secret}
        target = api_url.rstrip("/") + url if relative else url
        return Request("POST", target, headers, urlencode(form).encode())

    return TokenExchange(build_request=build_request, parse_token=parse_token)


def parse_token(payload: dict[str, object]) -> Token:
    """The token and its lifetime; CheckError(AUTH) when the reply holds none (it is not a balance
    reply that went wrong, but credentials that did not buy a token)."""
    token = payload.get("access_token")
    if not isinstance(token, str) or not token:
        got = "none" if token is None else json_type_name(token)
        raise CheckError(FailureKind.AUTH, f"the token exchange returned no access_token ({got})")
    if len(token) > MAX_TOKEN_CHARS or not TOKEN_CHARS.fullmatch(token):
        raise CheckError(
            FailureKind.BAD_RESPONSE,
            "the token exchange returned an access_token that cannot be sent in a header",
        )
    kind = payload.get("token_type")
    if kind is not None and (not isinstance(kind, str) or kind.lower() != "bearer"):
        shown = kind[:20] if isinstance(kind, str) else json_type_name(kind)
        raise CheckError(
            FailureKind.BAD_RESPONSE, f"the token exchange returned a {shown!r} token, not bearer"
        )
    return Token(access_token=token, expires_in=_lifetime(payload.get("expires_in")))


def _lifetime(value: object) -> float:
    if isinstance(value, str) and NUMERIC_STRING.fullmatch(value):
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return DEFAULT_LIFETIME_SECONDS
    return min(max(float(value), 0.0), MAX_LIFETIME_SECONDS)
