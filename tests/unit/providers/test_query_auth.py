"""Keys in query strings: encoded into the URL, and cut out of every urllib3 log line."""

from __future__ import annotations

import logging

import pytest

from credit_monitor.providers.query_auth import (
    QUERY_REMOVED,
    URLLIB3_LOGGERS_WITH_URLS,
    QueryStringFilter,
    install_log_filter,
    strip_query_strings,
    with_query_key,
)


def test_the_key_is_added_url_encoded() -> None:
    assert with_query_key("https://h/p", "key", "a b/c") == "https://h/p?key=a%20b%2Fc"
    assert with_query_key("https://h/p?x=1", "key", "k") == "https://h/p?x=1&key=k"


def test_query_strings_are_cut_up_to_the_next_space_or_quote() -> None:
    text = "Retrying after error: /v2/getcredits?api_key=s3cr%2Ft and 'https://h/p?key=x' done"
    assert strip_query_strings(text) == (
        f"Retrying after error: /v2/getcredits{QUERY_REMOVED} and 'https://h/p{QUERY_REMOVED}' done"
    )


@pytest.mark.parametrize("name", URLLIB3_LOGGERS_WITH_URLS)
def test_every_urllib3_logger_that_names_urls_is_filtered(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger(name).warning(
        "Retrying (%r) after connection broken by '%r': %s", 1, "err", "/p?key=s3cret"
    )
    assert "s3cret" not in caplog.text
    assert caplog.records == []


def test_installing_twice_adds_one_filter() -> None:
    install_log_filter()
    install_log_filter()
    for name in URLLIB3_LOGGERS_WITH_URLS:
        assert sum(isinstance(f, QueryStringFilter) for f in logging.getLogger(name).filters) == 1


def test_a_header_parsing_warning_that_quotes_the_reply_is_dropped_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """urllib3 logs the unparsed header text of a malformed reply, which may echo the key."""
    caplog.set_level(logging.DEBUG)
    try:
        raise ValueError("unparsed data: 'Echo request for key secret_1f0c9a7e5b3d'")
    except ValueError:
        logging.getLogger("urllib3.connection").warning(
            "Failed to parse headers (url=%s)", "/p", exc_info=True
        )
    assert "secret_1f0c9a7e5b3d" not in caplog.text
