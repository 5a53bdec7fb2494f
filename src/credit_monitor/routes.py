"""Routes: which receivers hear about which accounts, declared in the accounts file. Pure.

    [[route]]
    name = "acme"                      # optional: a slug; by default the match ("client=acme")
    match = { client = "acme" }        # every label given must match; no match: every account
    slack = "acme-slack"               # the secret entry holding the incoming-webhook URL
    teams = "acme-teams"               # ... a Teams Workflows webhook URL
    pagerduty = "acme-pagerduty"       # ... an Events API v2 routing key
    pagerduty_region = "eu"            # optional: PagerDuty's EU service region ("us" by default)
    webhook = ["acme-hook", "ops"]     # ... a URL of our signed JSON
    webhook_signing = "acme-hook-key"  # required with webhook: the HMAC-SHA256 secret's entry
    topic = "arn:aws:sns:eu-west-1:123456789012:acme-alerts"  # an SNS topic of the client's own

Each receiver kind takes one entry name or a list of them. The entries are names in the API-keys
secret (the accounts' keys are there too): webhook URLs and routing keys are secrets, so the file
only names them, and nothing here ever repeats a value that is not a valid name (a URL pasted in
by mistake is a secret). A route's name is what `test-alert --route` and `status` show; derived
from the match, it stays the same while the match does, whatever the order of the tables.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from credit_monitor.account import ACCOUNT_ID, TOPIC_ARN, Account, label_problem
from credit_monitor.alerting import Kind, Notification
from credit_monitor.problems import Invalid, Problems, did_you_mean

MAX_ROUTES = 100
MAX_RECEIVERS = 10
"""Receivers of one route, all kinds together: each is a delivery per message."""
MAX_ROUTE_TOPIC_CHARS = 3000
"""The routes' topic ARNs, joined by commas, at most: `make deploy` passes them as RouteTopicArns (a
CloudFormation parameter holds 4,096 characters) into the function's environment (Lambda's holds
4 KB for every variable together, the others' names and values taking about 1 KB)."""
ALL = "all"
"""The derived name of a route without a match: it gets every account."""
TOPIC = "topic"
"""The receiver id of the stack's own topic (ALERT_TOPIC_ARN: AlertEmail, Amazon Q Developer)."""
INCIDENT_KINDS = frozenset({"pagerduty", "webhook"})
"""Receivers that keep incidents open and closed: CLEARED, which only ends an incident, is theirs."""


class ReceiverKind(StrEnum):
    SLACK = "slack"
    TEAMS = "teams"
    PAGERDUTY = "pagerduty"
    WEBHOOK = "webhook"
    TOPIC = "topic"


class PagerDutyRegion(StrEnum):
    """PagerDuty's service regions: each has its own Events API host."""

    US = "us"
    EU = "eu"


HOLDS = {
    ReceiverKind.SLACK: "the Slack incoming-webhook URL",
    ReceiverKind.TEAMS: "the Teams Workflows webhook URL",
    ReceiverKind.PAGERDUTY: "the PagerDuty Events API v2 routing key",
    ReceiverKind.WEBHOOK: "the webhook's URL",
}
"""What the secret entry each kind names holds (a topic is named by its ARN, no secret)."""
SIGNING = "webhook_signing"
SIGNING_HOLDS = "the webhook's signing secret"
"""What a webhook's `webhook_signing` entry holds."""
REGION = "pagerduty_region"
FIELDS = ("name", "match", *ReceiverKind, REGION, SIGNING)


@dataclass(frozen=True)
class ReceiverSpec:
    """One receiver as the file declares it: its kind and the secret entry holding its URL or key
    (for a topic, its ARN). `signing`: a webhook's HMAC secret entry; `region`: PagerDuty's."""

    kind: ReceiverKind
    target: str
    signing: str = ""
    region: PagerDutyRegion = PagerDutyRegion.US

    @property
    def id(self) -> str:
        """Unique among receivers and stable while the file names the same entry: "slack:acme-slack"."""
        return f"{self.kind}:{self.target}"

    @property
    def entries(self) -> tuple[str, ...]:
        """The secret entries this receiver reads (none for a topic)."""
        if self.kind is ReceiverKind.TOPIC:
            return ()
        return (self.target, self.signing) if self.signing else (self.target,)

    def holds(self, entry: str) -> str:
        """What `entry`, one of `entries`, holds: "the Slack incoming-webhook URL", the signing secret."""
        return SIGNING_HOLDS if entry == self.signing else HOLDS[self.kind]

    def describe(self) -> str:
        """What `validate` shows: never a secret, only entry names and the topic's ARN."""
        if self.kind is ReceiverKind.PAGERDUTY and self.region is not PagerDutyRegion.US:
            return f"pagerduty {self.target} ({self.region.upper()} region)"
        if self.kind is ReceiverKind.WEBHOOK:
            return f"webhook {self.target} (signed with {self.signing})"
        return f"{self.kind} {self.target}"


@dataclass(frozen=True)
class ReceiverEntry:
    """A secret entry the routes' receivers read, for the CLI's `keys` commands and `make deploy`:
    the first receiver that reads it (so what it holds, and how the function checks it: the file
    gives an entry one kind), and the names of the routes that read it, in the file's order."""

    name: str
    spec: ReceiverSpec
    routes: tuple[str, ...]

    @property
    def holds(self) -> str:
        return self.spec.holds(self.name)


@dataclass(frozen=True)
class Route:
    name: str
    match: Mapping[str, str] = field(default_factory=dict)
    """Labels an account must all have, with these values; empty: every account."""
    receivers: tuple[ReceiverSpec, ...] = ()

    def matches(self, account: Account) -> bool:
        return all(account.labels.get(name) == value for name, value in self.match.items())


class StackTopic(StrEnum):
    """What the stack's own topic hears: the accounts file's top-level `stack_topic`."""

    ALL = "all"
    """Every account (the default)."""
    UNROUTED = "unrouted"
    """Only the accounts no route matches."""
    NONE = "none"


@dataclass(frozen=True)
class Routing:
    """Who hears about what: the routes and the stack topic's share. A receiver is known by its id:
    "topic" for the stack's topic, "<route name>/<kind>:<entry>" for a route's (routes.ReceiverSpec),
    so that the same Slack channel in two routes gets each route's messages, tracked apart."""

    routes: tuple[Route, ...] = ()
    stack_topic: StackTopic = StackTopic.ALL

    def receivers_for(self, account: Account) -> tuple[str, ...]:
        """Every receiver that hears about `account`, the stack topic first."""
        routes = routes_for(account, self.routes)
        topic = self.stack_topic is StackTopic.ALL or (self.stack_topic is StackTopic.UNROUTED and not routes)
        return (
            *((TOPIC,) if topic else ()),
            *(receiver_id(route, spec) for route in routes for spec in route.receivers),
        )

    def due(self, account: Account, note: Notification) -> frozenset[str]:
        """The receivers `note` is due to: those that hear about its account (`receivers_for`); for
        the end of an incident, those told of it (`Notification.audience`) that the file still has,
        whether or not they hear about the account now, less those never told (`Notification.skip`).
        A CLEARED goes only to the receivers that keep incidents (INCIDENT_KINDS)."""
        hearing = self.receivers_for(account)
        if note.ends and note.audience is not None:
            hearing = self.told(hearing, note.audience)
        due = (receiver for receiver in hearing if receiver not in note.skip)
        if note.kind is Kind.CLEARED:
            return frozenset(receiver for receiver in due if kind_of(receiver) in INCIDENT_KINDS)
        return frozenset(due)

    def told(self, hearing: Sequence[str], audience: Collection[str]) -> tuple[str, ...]:
        """The receivers of the file that are in `audience` (the stack's topic, each route receiver
        by its id), and those of `hearing` that are a renamed route's receiver of `audience`: the
        same kind and entry, under a route name the file no longer has."""
        known = (TOPIC, *self.specs())
        names = {route.name for route in self.routes}
        renamed = {
            receiver.rpartition("/")[2]
            for receiver in audience
            if receiver != TOPIC and route_of(receiver) not in names
        }
        return (
            *(receiver for receiver in known if receiver in audience),
            *(
                receiver
                for receiver in hearing
                if receiver not in audience and receiver != TOPIC and receiver.rpartition("/")[2] in renamed
            ),
        )

    def specs(self) -> dict[str, ReceiverSpec]:
        """Every route receiver by its id."""
        return {receiver_id(route, spec): spec for route in self.routes for spec in route.receivers}

    def entries(self) -> dict[str, ReceiverEntry]:
        """Every secret entry the route receivers read (never a topic's ARN), in the file's order."""
        found: dict[str, ReceiverEntry] = {}
        for route in self.routes:
            for spec in route.receivers:
                for entry in spec.entries:
                    known = found.get(entry)
                    if known is None:
                        found[entry] = ReceiverEntry(entry, spec, (route.name,))
                    elif route.name not in known.routes:
                        found[entry] = ReceiverEntry(entry, known.spec, (*known.routes, route.name))
        return found

    def route(self, name: str) -> Route | None:
        return next((route for route in self.routes if route.name == name), None)


def receiver_id(route: Route, spec: ReceiverSpec) -> str:
    return f"{route.name}/{spec.id}"


def route_of(receiver: str) -> str | None:
    """ "acme" of "acme/slack:acme-slack"; None for the stack's topic. A route's name may hold a "/"
    (its match's label value, "team=eu/sales"), a receiver's kind and entry never do: the id is cut
    at its last one."""
    return None if receiver == TOPIC else receiver.rpartition("/")[0]


def kind_of(receiver: str) -> str:
    """ "slack" of "acme/slack:acme-slack"; "topic" of the stack's topic."""
    return TOPIC if receiver == TOPIC else receiver.rpartition("/")[2].partition(":")[0]


def topic_arns(routes: Iterable[Route]) -> dict[str, tuple[str, ...]]:
    """Every SNS topic the routes publish to, in the file's order, with the routes that name it:
    what the function's role must grant (template.yaml's RouteTopicArns), and no more."""
    found: dict[str, tuple[str, ...]] = {}
    for route in routes:
        for spec in route.receivers:
            if spec.kind is ReceiverKind.TOPIC:
                found[spec.target] = (*found.get(spec.target, ()), route.name)
    return found


def routes_for(account: Account, routes: Iterable[Route]) -> tuple[Route, ...]:
    """The routes whose receivers hear about `account`, in the file's order."""
    return tuple(route for route in routes if route.matches(account))


def accounts_for(route: Route, accounts: Iterable[Account]) -> tuple[Account, ...]:
    """The accounts `route` gets, in the file's order: all its receivers may hear of, and no other."""
    return tuple(account for account in accounts if route.matches(account))


def parse_routes(entries: object, source: str) -> tuple[tuple[Route, ...], list[str]]:
    """The `route` value of an accounts file: every route, and a problem for each field at fault
    ("<file>: route <name or #n>: <field>: <what is wrong>"). A route with a problem is left out."""
    if not isinstance(entries, list):
        return (), [f"{source}: route: routes are [[route]] tables (an array of tables)"]
    if len(entries) > MAX_ROUTES:
        return (), [f"{source}: {len(entries)} routes; at most {MAX_ROUTES}"]
    routes: list[Route] = []
    problems: list[str] = []
    named: dict[str, int] = {}
    for number, entry in enumerate(entries, start=1):
        where = f"{source}: route #{number}"
        if not isinstance(entry, dict):
            problems.append(f"{where}: must be a table")
            continue
        explicit = entry.get("name")
        if isinstance(explicit, str) and ACCOUNT_ID.fullmatch(explicit):
            where = f"{source}: route {explicit!r}"
        route, wrong = _route(entry)
        problems.extend(f"{where}: {problem}" for problem in wrong)
        if route is None:
            continue
        if route.name in named:
            how = "its name" if "name" in entry else "the name its match gives it"
            problems.append(
                f"{where}: name: {route.name!r} ({how}) is route #{named[route.name]}'s too; give each"
                " route a name of its own, or declare both routes' receivers in one table"
            )
            continue
        named[route.name] = number
        routes.append(route)
    problems.extend(f"{source}: {problem}" for problem in _entry_clashes(routes))
    topics = topic_arns(routes)
    chars = len(",".join(topics))
    if chars > MAX_ROUTE_TOPIC_CHARS:
        problems.append(
            f"{source}: topic: the routes name {len(topics)} SNS topics, {chars:,} characters together; at"
            f" most {MAX_ROUTE_TOPIC_CHARS:,} fit in the function's settings (RouteTopicArns, which grants"
            " it each topic): subscribe several clients' lists to fewer topics, or give routes another"
            " receiver kind"
        )
    return tuple(routes), problems


def entry_problems(routes: Sequence[Route], accounts: Sequence[Account], source: str) -> list[str]:
    """Receivers naming an account's key entry: a URL stored there would be sent as an API key,
    and the key as a URL."""
    keys = {account.secret_entry: account.id for account in accounts}
    return [
        f"{source}: route {route.name!r}: {spec.kind}: {entry!r} is the secret entry of account"
        f" {keys[entry]!r}'s API key; store the receiver's URL, key or signing secret under an entry of"
        " its own"
        for route in routes
        for spec in route.receivers
        for entry in spec.entries
        if entry in keys
    ]


def _route(entry: Mapping[str, object]) -> tuple[Route | None, list[str]]:
    problems = Problems()
    for name in sorted(set(entry) - set(FIELDS)):
        hint = did_you_mean(name, FIELDS)
        problems.found.append(f"{name}: unknown field (a route takes {', '.join(FIELDS)}){hint}")
    match = problems.check(lambda: _match(entry.get("match", {})))
    explicit = problems.check(lambda: _name(entry.get("name")))
    region = problems.check(lambda: _region(entry)) or PagerDutyRegion.US
    signing = problems.check(lambda: _signing(entry)) or ""
    specs: list[ReceiverSpec] = []
    for kind in ReceiverKind:
        targets = problems.check(functools.partial(_targets, entry.get(kind), kind)) or ()
        specs.extend(
            ReceiverSpec(
                kind,
                target,
                signing=signing if kind is ReceiverKind.WEBHOOK else "",
                region=region if kind is ReceiverKind.PAGERDUTY else PagerDutyRegion.US,
            )
            for target in targets
        )
    if not any(kind in entry for kind in ReceiverKind):
        problems.found.append(f"receivers: none; give at least one of {', '.join(ReceiverKind)}")
    elif len(specs) > MAX_RECEIVERS:
        problems.found.append(f"receivers: {len(specs)}; at most {MAX_RECEIVERS} per route")
    if problems.found:
        return None, problems.found
    assert match is not None
    name = explicit or ",".join(f"{label}={value}" for label, value in sorted(match.items())) or ALL
    return Route(name, match, tuple(specs)), []


def _name(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or not ACCOUNT_ID.fullmatch(value):
        raise ValueError("name: must be a slug of lower-case letters, digits and dashes, e.g. 'acme'")
    return value


def _match(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ValueError('match: must be a table of labels, e.g. match = { client = "acme" }')
    wrong = {name: label_problem(name, label) for name, label in value.items()}
    if any(wrong.values()):
        raise Invalid([f"match.{name}: {problem}" for name, problem in wrong.items() if problem])
    return dict(value)


def _targets(value: object, kind: ReceiverKind) -> tuple[str, ...]:
    """One name or a list of them; each a slug (a topic: an ARN). Never repeats a bad value."""
    if value is None:
        return ()
    values = value if isinstance(value, list) else [value]
    if not values:
        raise ValueError(f"{kind}: an empty list; name at least one receiver, or leave the field out")
    if kind is ReceiverKind.TOPIC:
        for arn in values:
            _topic(arn)
    elif not all(isinstance(name, str) and ACCOUNT_ID.fullmatch(name) for name in values):
        raise ValueError(
            f"{kind}: must name the secret entry holding {HOLDS[kind]} (a slug like 'acme-{kind}'), or a"
            " list of them, not the value itself: the value goes in the API-keys secret"
        )
    assert all(isinstance(name, str) for name in values)
    names = tuple(str(name) for name in values)
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f"{kind}: {', '.join(map(repr, twice))} named twice")
    return names


def _topic(value: object) -> None:
    if not isinstance(value, str) or not TOPIC_ARN.fullmatch(value):
        raise ValueError(
            "topic: must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>), or a list of them"
        )
    if value.endswith(".fifo"):
        raise ValueError(
            f"topic: {value!r} is a FIFO topic, which rejects every publish without a MessageGroupId;"
            " use a standard topic"
        )


def _region(entry: Mapping[str, object]) -> PagerDutyRegion:
    value = entry.get(REGION, PagerDutyRegion.US.value)
    if not isinstance(value, str) or value not in set(PagerDutyRegion):
        regions = ", ".join(PagerDutyRegion)
        raise ValueError(f"{REGION}: must be one of {regions}: the region of the PagerDuty account")
    if REGION in entry and ReceiverKind.PAGERDUTY not in entry:
        raise ValueError(f"{REGION}: only applies to a route with pagerduty")
    assert isinstance(value, str)
    return PagerDutyRegion(value)


def _signing(entry: Mapping[str, object]) -> str:
    value = entry.get(SIGNING)
    if ReceiverKind.WEBHOOK not in entry:
        if value is not None:
            raise ValueError(f"{SIGNING}: only applies to a route with webhook")
        return ""
    if value is None:
        raise ValueError(
            f"{SIGNING}: is missing; name the secret entry holding the HMAC-SHA256 secret webhooks are"
            " signed with"
        )
    if not isinstance(value, str) or not ACCOUNT_ID.fullmatch(value):
        raise ValueError(
            f"{SIGNING}: must name the secret entry holding the signing secret (a slug like"
            " 'acme-webhook-signing'), not the secret itself"
        )
    return value


def _entry_clashes(routes: Sequence[Route]) -> list[str]:
    """An entry holds one thing: the same name as a Slack URL in one place and a routing key, a
    Teams URL or a signing secret in another is a mistake in one of them."""
    uses: dict[str, set[str]] = {}
    for route in routes:
        for spec in route.receivers:
            if spec.kind is not ReceiverKind.TOPIC:
                uses.setdefault(spec.target, set()).add(spec.kind)
            if spec.signing:
                uses.setdefault(spec.signing, set()).add(SIGNING)
    return [
        f"secret entry {entry!r} is named as {' and '.join(sorted(kinds))}; one entry holds one URL or key"
        for entry, kinds in sorted(uses.items())
        if len(kinds) > 1
    ]
