"""A complete local world for the function: both API simulators, moto server, and its environment."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import trustme

from tests.support.aws import AWS_ENV, MotoServer, Stack, create_stack
from tests.support.simulators import ApiSimulator


def function_environment(
    stack: Stack, fullenrich_url: str, lemlist_url: str, ca_file: Path
) -> dict[str, str]:
    """What template.yaml sets for the function, pointed at local peers."""
    return {
        "API_KEYS_SECRET_ID": stack.secret_id,
        "ALERT_TOPIC_ARN": stack.topic_arn,
        "FULLENRICH_THRESHOLD": "1000",
        "LEMLIST_THRESHOLD": "100",
        "FULLENRICH_API_URL": fullenrich_url,
        "LEMLIST_API_URL": lemlist_url,
        "CHECK_DEADLINE_SECONDS": "6",
        "STATE_TABLE_NAME": stack.table_name,
        "POWERTOOLS_METRICS_NAMESPACE": "CreditMonitor",
        "POWERTOOLS_SERVICE_NAME": "credit-monitor",
        "SSL_CERT_FILE": str(ca_file),
    }


@dataclass
class LocalWorld:
    fullenrich: ApiSimulator
    lemlist: ApiSimulator
    stack: Stack


@contextmanager
def local_world(
    fullenrich_key: str, lemlist_key: str, fullenrich_balance: float, lemlist_balance: float
) -> Iterator[LocalWorld]:
    """Start everything, export the function's environment into this process, stop it all after."""
    from credit_monitor import app

    ca = trustme.CA()
    ca_file = Path(tempfile.mkdtemp(prefix="credit-monitor-")) / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    cert = ca.issue_cert("127.0.0.1", "localhost")
    fullenrich = ApiSimulator("fullenrich", cert, fullenrich_key, balance=fullenrich_balance).start()
    lemlist = ApiSimulator("lemlist", cert, lemlist_key, balance=lemlist_balance).start()
    moto = MotoServer().start()
    try:
        os.environ.update(AWS_ENV)
        os.environ["AWS_ENDPOINT_URL"] = moto.endpoint_url
        stack = create_stack(
            moto.endpoint_url, json.dumps({"fullenrich": fullenrich_key, "lemlist": lemlist_key})
        )
        os.environ.update(function_environment(stack, fullenrich.base_url, lemlist.base_url, ca_file))
        app.runtime.cache_clear()
        yield LocalWorld(fullenrich, lemlist, stack)
    finally:
        fullenrich.stop()
        lemlist.stop()
        moto.stop()
