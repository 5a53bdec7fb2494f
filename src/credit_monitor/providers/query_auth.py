"""Keys sent in a query string (ZeroBounce, NeverBounce, http-json's `query` auth), kept out of logs.

A key in a header never appears in a URL; a key in a query string is part of every URL urllib3
handles, and urllib3 logs URLs: a WARNING "Retrying (...) after connection broken by ...: <url>"
on a dropped or refused connection, a WARNING "Failed to parse headers (url=...)", and DEBUG
lines with the URL of each request and retry. In Lambda the root logger sends WARNINGs to
CloudWatch; in the CLI Python's last-resort handler prints them. So every urllib3 logger that
names a URL gets a filter, installed once when this module is imported (the providers package
imports it), that cuts query strings out of the record before any handler formats it.
`keys.redact` still cleans every CheckError message; this covers what never becomes one.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

QUERY_STRING = re.compile(r"\?[^\s'\"<>]*")
QUERY_REMOVED = "?<query removed>"
URLLIB3_LOGGERS_WITH_URLS = (
    "urllib3",
    "urllib3.response",
    "urllib3.connectionpool",  # "Retrying (...) after connection broken by ...: <url>", "Retry: <url>"
    "urllib3.connection",  # "Failed to parse headers (url=<url>)"
    "urllib3.poolmanager",  # "Redirecting <url> -> <url>"
    "urllib3.util.retry",  # "Incremented Retry for (url='<url>')"
)


def with_query_key(url: str, name: str, key: str) -> str:
    """`url` with `name=<key>` added to its query string (which may already hold other parameters)."""
    parts = urlsplit(url)
    added = urlencode({name: key}, quote_via=quote)
    query = f"{parts.query}&{added}" if parts.query else added
    return urlunsplit(parts._replace(query=query))


def strip_query_strings(text: str) -> str:
    """Every `?...` up to the next space or quote replaced: what a URL in a message may carry."""
    return QUERY_STRING.sub(QUERY_REMOVED, text)


class QueryStringFilter(logging.Filter):
    """Drops urllib3's own records. Cutting query strings was not enough: "Failed to parse headers"
    quotes a reply's unparsed text, which may echo the key, in its message and its traceback. Every
    failure they describe reaches the log anyway, as the check's own redacted ERROR line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return False


def install_log_filter() -> None:
    """Idempotent: one filter per urllib3 logger, however often this is called."""
    for name in URLLIB3_LOGGERS_WITH_URLS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, QueryStringFilter) for existing in logger.filters):
            logger.addFilter(QueryStringFilter())


install_log_filter()
