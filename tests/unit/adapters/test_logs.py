"""The function's log lines: every one encodable on a real UTF-8 stream; SDK loggers held quiet."""

from __future__ import annotations

import io
import json
import logging
import uuid

import pytest
from aws_lambda_powertools import Logger

from credit_monitor.adapters.logs import SDK_LOGGERS, encodable_json, quiet_sdk_loggers


def test_a_lone_surrogate_or_a_line_separator_never_loses_a_line_on_a_strict_utf8_stream() -> None:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="utf-8", errors="strict", write_through=True)
    # A service name of its own: Powertools configures a named logger once per process, so a reused
    # name would keep writing to the stream of an earlier run (mutmut runs the tests twice in one).
    logger = Logger(service=f"test-logs-{uuid.uuid4().hex}", stream=stream, json_serializer=encodable_json)

    logger.error("vendor said \ud800 and \u2028 and é", extra={"accounts": {"a": {"reason": "\udfff\x85"}}})

    [line] = raw.getvalue().decode("utf-8").splitlines()
    doc = json.loads(line)
    assert doc["message"] == "vendor said \ud800 and \u2028 and é"
    assert doc["accounts"] == {"a": {"reason": "\udfff\x85"}}


def test_sdk_loggers_stay_at_warning_whatever_the_root_level(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SDK_LOGGERS:
        monkeypatch.setattr(logging.getLogger(name), "level", logging.NOTSET)
    monkeypatch.setattr(logging.getLogger(), "level", logging.DEBUG)

    quiet_sdk_loggers()

    assert not logging.getLogger("botocore.parsers").isEnabledFor(logging.DEBUG)
    assert not logging.getLogger("aws_lambda_powertools.utilities.parameters").isEnabledFor(logging.INFO)
    assert logging.getLogger("botocore.endpoint").isEnabledFor(logging.WARNING)
