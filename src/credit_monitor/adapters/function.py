"""The deployed function, invoked from a terminal with the caller's own credentials: the edge of
`credit-monitor test-alert`. One synchronous Invoke, never retried (a retry would send the test
message twice); the reply is read up to a cap and must be JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from credit_monitor.adapters.aws import BOTO_CONFIG
from credit_monitor.config import LAMBDA_TIMEOUT_SECONDS

INVOKE_CONFIG = BOTO_CONFIG.merge(
    Config(
        connect_timeout=5,
        read_timeout=LAMBDA_TIMEOUT_SECONDS + 15,  # the function's whole run, and a cold start
        retries={"mode": "standard", "total_max_attempts": 1},
    )
)
MAX_REPLY_BYTES = 1_000_000
"""Far above a report of a few receivers; Lambda's own limit for a reply is 6 MB."""
MAX_ERROR_CHARS = 300


class InvokeError(RuntimeError):
    """The function could not be invoked, or failed; the message says which and why."""


class LambdaInvoker:
    def __init__(self, function: str, client: Any) -> None:
        """`client`: a boto3 Lambda client (the project installs no type stubs for Lambda)."""
        self.function = function
        self._client = client

    def invoke(self, event: Mapping[str, object]) -> object:
        """The function's JSON result for `event`. InvokeError when the call fails, the function
        raised (its error type and message, cut short), or its reply is not JSON."""
        where = f"function {self.function!r} in {self._client.meta.region_name}"
        try:
            reply = self._client.invoke(
                FunctionName=self.function,
                InvocationType="RequestResponse",
                Payload=json.dumps(dict(event)).encode(),
            )
            payload = reply["Payload"].read(MAX_REPLY_BYTES + 1)
        except (ClientError, BotoCoreError) as exc:
            raise InvokeError(f"cannot invoke {where}: {exc}") from None
        try:
            result = json.loads(payload) if len(payload) <= MAX_REPLY_BYTES else None
        except (ValueError, RecursionError):
            result = None
        if reply.get("FunctionError"):
            error = result if isinstance(result, dict) else {}
            what = f"{error.get('errorType', 'an error')}: {error.get('errorMessage', '')}"
            raise InvokeError(f"{where} failed: {what[:MAX_ERROR_CHARS]}")
        if result is None:
            raise InvokeError(f"{where} answered something that is not JSON ({len(payload):,} bytes)")
        return result
