"""A complete local world for the function: both API simulators, moto server, the receivers of the
accounts file's routes, and its environment."""

from __future__ import annotations

import json
import os
import secrets
import string
import tempfile
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast

import trustme

from credit_monitor.account import ConfigError
from credit_monitor.accounts_file import load_config
from credit_monitor.adapters.state import DynamoStateStore
from credit_monitor.alerting import AccountState, AlertPolicy, Levels, decide
from credit_monitor.config import PAGERDUTY_EVENTS_URL_VARS
from credit_monitor.model import Balance, CheckResult
from credit_monitor.routes import PagerDutyRegion, ReceiverKind, parse_routes, topic_arns
from tests.support.aws import AWS_ENV, MotoServer, Stack, create_stack
from tests.support.aws_front import KeepAliveFront
from tests.support.keys import WEBHOOK_SIGNING_SECRET
from tests.support.receivers import Kind, ReceiverSimulator
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
    receivers: dict[str, ReceiverSimulator] = field(default_factory=dict)
    """The simulator behind each receiver entry the routes name (a PagerDuty entry's is its region's
    Events API, which every routing key of that region shares)."""
    pagerduty: dict[PagerDutyRegion, ReceiverSimulator] = field(default_factory=dict)
    """PagerDuty's Events API of each region, when a route names PagerDuty."""
    secret: dict[str, str] = field(default_factory=dict)
    """The API-keys secret as stored: every account's key and every receiver's URL, routing key and
    signing secret, by entry."""


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
    secret: Mapping[str, str] | None = None,
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

    The routes of `accounts_file` get their receivers: a simulator (receivers.py) for each Slack,
    Teams and webhook entry, whose URL the secret holds under that entry, and PagerDuty's Events API
    of each region, which the function reaches through PAGERDUTY_<REGION>_EVENTS_URL; each PagerDuty
    entry holds a routing key of its own, each signing entry WEBHOOK_SIGNING_SECRET. `secret`'s
    entries are stored over the world's own (a hostile URL, say).

    The process's environment is given back as it was when the world ends.
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
    saved = dict(os.environ)
    receivers = Receivers(cert, accounts_file)
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
        stored = keys | receivers.secret | dict(secret or {})
        stack = create_stack(moto.endpoint_url, json.dumps(stored))
        os.environ.pop("ACCOUNTS_FILE", None)  # a world before this one may have set it
        os.environ.update(function_environment(stack, fullenrich.base_url, lemlist.base_url, ca_file) | extra)
        os.environ.update(receivers.environment)
        app.runtime.cache_clear()
        yield LocalWorld(
            fullenrich, lemlist, stack, moto, keys, front, receivers.by_entry, receivers.pagerduty, stored
        )
    finally:
        fullenrich.stop()
        lemlist.stop()
        receivers.stop()
        if front:
            front.stop()
        moto.stop()
        os.environ.clear()
        os.environ.update(saved)
        app.runtime.cache_clear()


class Receivers:
    """The receivers an accounts file's routes name, each a simulator started here, and what the
    secret and the function's environment need to reach them."""

    def __init__(self, cert: trustme.LeafCert, accounts_file: str) -> None:
        self.by_entry: dict[str, ReceiverSimulator] = {}
        self.pagerduty: dict[PagerDutyRegion, ReceiverSimulator] = {}
        self.secret: dict[str, str] = {}
        try:
            document = tomllib.loads(accounts_file)
        except tomllib.TOMLDecodeError:
            document = {}  # a file the function refuses: no receivers to start
        routes, _ = parse_routes(document.get("route", []), "accounts file")
        specs = [spec for route in routes for spec in route.receivers if spec.kind is not ReceiverKind.TOPIC]
        if any(spec.kind is ReceiverKind.PAGERDUTY for spec in specs):
            self.pagerduty = {
                region: ReceiverSimulator("pagerduty", cert).start() for region in PagerDutyRegion
            }
        for spec in specs:
            if spec.target in self.secret:
                continue
            if spec.kind is ReceiverKind.PAGERDUTY:
                simulator = self.pagerduty[spec.region]
                self.secret[spec.target] = routing_key()
                simulator.routing_keys.add(self.secret[spec.target])
            else:
                simulator = ReceiverSimulator(cast(Kind, spec.kind.value), cert).start()
                self.secret[spec.target] = simulator.url
                if spec.signing:
                    self.secret[spec.signing] = WEBHOOK_SIGNING_SECRET
            self.by_entry[spec.target] = simulator

    @property
    def environment(self) -> dict[str, str]:
        """Where the function sends PagerDuty's events: each region's simulator."""
        return {PAGERDUTY_EVENTS_URL_VARS[region]: sim.url for region, sim in self.pagerduty.items()}

    def stop(self) -> None:
        for simulator in {id(s): s for s in [*self.by_entry.values(), *self.pagerduty.values()]}.values():
            simulator.stop()


def routing_key() -> str:
    """A PagerDuty integration key of its own: 32 letters and digits."""
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))


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


def seed_history(stack: Stack, account: str, balance: float, days: int, until: datetime) -> None:
    """The alert state a month of hourly checks of a flat balance (above a warning level of 1,000)
    leaves, as the function writes it: decided by the same code, without a month of invocations.
    It replaces whatever the account's item held."""
    state = AccountState()
    levels, policy = Levels(warning=1000), AlertPolicy()
    for hour in range(days * 24, 0, -1):
        result = CheckResult(account, 1000, balance=Balance(balance))
        state = decide(state, result, until - timedelta(hours=hour), levels, policy).state
    store = DynamoStateStore(stack.table_name)
    current = store.load([account])[account]
    version = current.version if isinstance(current, AccountState) else 0
    assert store.put(account, replace(state, version=version + 1), expected_version=version)
