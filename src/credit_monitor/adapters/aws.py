"""The botocore configuration every AWS client of the function uses: its timeouts and retries
are the worst case the run's budget reserves for each call (budget.AWS_CALL_SECONDS)."""

import functools
import threading
from typing import Any

import boto3
from botocore.config import Config

from credit_monitor.budget import (
    AWS_CONNECT_TIMEOUT_SECONDS,
    AWS_MAX_ATTEMPTS,
    AWS_READ_TIMEOUT_SECONDS,
    MAX_CONCURRENT_ACCOUNTS,
)

BOTO_CONFIG = Config(
    connect_timeout=AWS_CONNECT_TIMEOUT_SECONDS,
    read_timeout=AWS_READ_TIMEOUT_SECONDS,
    retries={"mode": "standard", "total_max_attempts": AWS_MAX_ATTEMPTS},
    max_pool_connections=MAX_CONCURRENT_ACCOUNTS,  # one connection per account settled at once
)

PUBLISH_CONFIG = BOTO_CONFIG.merge(Config(retries={"mode": "standard", "total_max_attempts": 1}))
"""SNS publishes are never retried by botocore: a retry after a reply that was slow or lost, of a
publish SNS had accepted, delivers it twice. A failed publish stays pending for the next run."""

_session_lock = threading.Lock()


@functools.cache
def _session() -> boto3.session.Session:
    return boto3.session.Session()


def client(service: str, config: Config = BOTO_CONFIG) -> Any:
    """A client from the one boto3 session of the process. Each session loads botocore's endpoint
    data and models again (about 50 ms of CPU, which at 128 MB is most of a second of a cold
    start), so every adapter shares one. Creating a client is not thread-safe: one at a time."""
    with _session_lock:
        return _session().client(service, config=config)  # type: ignore[call-overload]
