"""What the function logs, safe whatever it is given: no SDK logger can write a key, and every
JSON log line can be encoded as UTF-8, so no line is ever lost to the text it carries."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping

SDK_LOGGERS = (
    "botocore",  # at DEBUG: every reply body, GetSecretValue's with every key in it
    "boto3",
    "urllib3",  # at DEBUG: every URL, a key in a query string too (see providers/query_auth.py)
    "s3transfer",
    "aws_lambda_powertools.utilities.parameters",
)
SDK_LEVEL = logging.WARNING


def quiet_sdk_loggers() -> None:
    """Hold the SDKs' loggers at WARNING, whatever the root level.

    Lambda's application log level DEBUG sets the root logger to DEBUG, and every logger left at
    NOTSET inherits it. The SDKs' DEBUG records carry request and reply bodies; their warnings
    (retries, deprecations) do not. Idempotent; a level set explicitly above WARNING is kept.
    """
    for name in SDK_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level < SDK_LEVEL:
            logger.setLevel(SDK_LEVEL)


_UNENCODABLE = re.compile(r"[\ud800-\udfff\x7f-\x9f\u2028\u2029]")
"""Lone surrogates (UTF-8 cannot encode them), C1 controls and the Unicode line separators that
would split a line: escaped, they still decode to the same string."""


def encodable_json(log: Mapping[str, object]) -> str:
    """Powertools Logger's serializer, readable like its own (non-ASCII text kept as is) but always
    encodable: these characters occur only inside JSON strings, where \\uXXXX is their escape."""
    text = json.dumps(log, default=str, separators=(",", ":"), ensure_ascii=False)
    return _UNENCODABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)
