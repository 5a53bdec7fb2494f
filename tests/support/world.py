"""A complete local world for the function: both API simulators, moto server, and its environment."""

from __future__ import annotations

import json
import os
import tempfile
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import trustme

from credit_monitor.account import ConfigError
from credit_monitor.accounts_file import load_config
from credit_monitor.routes import topic_arns
from tests.support.aws import AWS_ENV, MotoServer, Stack, create_stack
from tests.support.aws_front import KeepAliveFront
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
        "SCHEDULE_PERIOD_SECONDS": "3600",
        "STATE_TABLE_NAME": stack.table_name,
        "SCHEDULE_TIMEZONE": "UTC",
        "GROUP_BY": "",
        "DASHBOARD_URL": "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards:name=credit-monitor-credits",
        "POWERTOOLS_METRICS_NAMESPACE": "CreditMonitor",
        "POWERTOOLS_SERVICE_NAME": "credit-monitor",
        "SSL_CERT_FILE": str(ca_file),
        "ROUTE_TOPIC_ARNS": "",
    }


def granted_route_topics(path: Path) -> str:
    """ROUTE_TOPIC_ARNS as `make deploy` grants it for this accounts file: the topics its routes
    publish to ("" for a file the function refuses anyway)."""
    try:
        return ",".join(topic_arns(load_config(path).routes))
    except ConfigError:
        return ""


@dataclass
class LocalWorld:
    fullenrich: ApiSimulator
    lemlist: ApiSimulator
    stack: Stack
    moto: MotoServer
    keys: dict[str, str]
    """Every API key by account id, as the secret holds them."""
    front: KeepAliveFront | None = None
    """The keep-alive HTTPS front the function reaches moto through, when asked for."""


@contextmanager
def local_world(
    fullenrich_key: str,
    lemlist_key: str,
    fullenrich_balance: float,
    lemlist_balance: float,
    accounts: int = 0,
    clients: int = 20,
    critical: float | None = None,
    aws_front: bool = False,
    accounts_file: str = "",
) -> Iterator[LocalWorld]:
    """Start everything, export the function's environment into this process, stop it all after.

    With `accounts`, the function watches that many accounts from an accounts file instead of the
    zero-config pair: half on each simulator, each with its own key (`world.keys`), labelled with
    one of `clients` clients, warning below 100 (and critical below `critical`, when given).

    With `accounts_file`, the function watches the accounts of that text instead: "{fullenrich}" and
    "{lemlist}" in it are the simulators' base URLs, and each account gets a key of its own, valid at
    the simulator its provider names.

    With `aws_front`, the function reaches moto through a keep-alive HTTPS front (aws_front.py),
    as it reaches AWS in Lambda; the benchmark uses it. The world's own calls go to moto directly.
    """
    from credit_monitor import app

    workdir = Path(tempfile.mkdtemp(prefix="credit-monitor-"))
    ca = trustme.CA()
    ca_file = workdir / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    cert = ca.issue_cert("127.0.0.1", "localhost")
    fullenrich = ApiSimulator("fullenrich", cert, fullenrich_key, balance=fullenrich_balance).start()
    lemlist = ApiSimulator("lemlist", cert, lemlist_key, balance=lemlist_balance).start()
    moto = MotoServer().start()
    moto.reset()  # moto's backends live in this process: a second world must not see the first's
    front = KeepAliveFront(moto.endpoint_url, cert).start() if aws_front else None
    keys = {"fullenrich": fullenrich_key, "lemlist": lemlist_key}
    try:
        os.environ.update(AWS_ENV)
        os.environ["AWS_ENDPOINT_URL"] = front.url if front else moto.endpoint_url
        if front:
            os.environ["AWS_CA_BUNDLE"] = str(ca_file)
        extra: dict[str, str] = {}
        if accounts:
            keys = write_accounts_file(
                workdir / "accounts.toml", accounts, fullenrich, lemlist, clients, critical
            )
            extra["ACCOUNTS_FILE"] = str(workdir / "accounts.toml")
        elif accounts_file:
            keys = write_given_accounts(workdir / "accounts.toml", accounts_file, fullenrich, lemlist)
            extra["ACCOUNTS_FILE"] = str(workdir / "accounts.toml")
            extra["ROUTE_TOPIC_ARNS"] = granted_route_topics(workdir / "accounts.toml")
        stack = create_stack(moto.endpoint_url, json.dumps(keys))
        os.environ.pop("ACCOUNTS_FILE", None)  # a world before this one may have set it
        os.environ.update(function_environment(stack, fullenrich.base_url, lemlist.base_url, ca_file) | extra)
        app.runtime.cache_clear()
        yield LocalWorld(fullenrich, lemlist, stack, moto, keys, front)
    finally:
        fullenrich.stop()
        lemlist.stop()
        if front:
            front.stop()
            os.environ.pop("AWS_CA_BUNDLE", None)
        moto.stop()


def write_given_accounts(
    path: Path, text: str, fullenrich: ApiSimulator, lemlist: ApiSimulator
) -> dict[str, str]:
    """The accounts of `text` (with the simulators' URLs in), each with a key of its own, valid at
    its provider's simulator; returns the keys by account id, for the secret."""
    text = text.replace("{fullenrich}", fullenrich.base_url).replace("{lemlist}", lemlist.base_url)
    path.write_text(text)
    keys = {}
    for entry in tomllib.loads(text)["account"]:
        simulator = fullenrich if entry["provider"] == "fullenrich" else lemlist
        keys[entry["id"]] = f"{entry['id']}-key-{os.urandom(6).hex()}"
        simulator.valid_keys.add(keys[entry["id"]])
    return keys


def write_accounts_file(
    path: Path,
    count: int,
    fullenrich: ApiSimulator,
    lemlist: ApiSimulator,
    clients: int = 20,
    critical: float | None = None,
) -> dict[str, str]:
    """`count` accounts alternating between the two simulators, each with its own key; returns the
    keys by account id, for the secret. Each warns below 100, and with `critical`, is critical below it."""
    keys, tables = {}, []
    for number in range(count):
        simulator = (lemlist, fullenrich)[number % 2]
        account_id = f"{simulator.kind}-{number:04d}"
        keys[account_id] = f"{simulator.kind}-key-{number:04d}-{os.urandom(6).hex()}"
        simulator.valid_keys.add(keys[account_id])
        tables.append(
            f'[[account]]\nid = "{account_id}"\nprovider = "{simulator.kind}"\nwarning = 100\n'
            + (f"critical = {critical}\n" if critical is not None else "")
            + f'url = "{simulator.base_url}"\nlabels = {{ client = "client-{number % clients:02d}" }}\n'
        )
    path.write_text("\n".join(tables))
    return keys
