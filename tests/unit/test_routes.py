"""Routes in the accounts file: what a valid [[route]] gives, which accounts each one gets, and an
error naming file, route and field for each way to get one wrong (never repeating a secret)."""

from __future__ import annotations

from pathlib import Path

import pytest

from credit_monitor.accounts_file import load_accounts, load_config
from credit_monitor.alerting import Kind, Level, Notification
from credit_monitor.config import ConfigError
from credit_monitor.routes import (
    INCIDENT_KINDS,
    MAX_RECEIVERS,
    MAX_ROUTE_TOPIC_CHARS,
    MAX_ROUTES,
    TOPIC,
    PagerDutyRegion,
    ReceiverEntry,
    ReceiverKind,
    ReceiverSpec,
    Route,
    StackTopic,
    accounts_for,
    kind_of,
    route_of,
    routes_for,
)

ACCOUNTS = """
[[account]]
id = "acme-lemlist"
provider = "lemlist"
warning = 500
labels = { client = "acme", team = "sales" }

[[account]]
id = "acme-fullenrich"
provider = "fullenrich"
warning = 1000
labels = { client = "acme" }

[[account]]
id = "globex-lemlist"
provider = "lemlist"
warning = 500
labels = { client = "globex" }
"""

ROUTES = """
[[route]]
match = { client = "acme" }
slack = "acme-slack"
pagerduty = ["acme-pd", "acme-pd-night"]
pagerduty_region = "eu"

[[route]]
name = "acme-sales"
match = { client = "acme", team = "sales" }
teams = "acme-sales-teams"
webhook = ["acme-hook"]
webhook_signing = "acme-hook-signing"

[[route]]
topic = "arn:aws:sns:eu-west-1:123456789012:agency-everything"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "accounts.toml"
    path.write_text(text)
    return path


def refused(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    return caught.value


def test_routes_are_read_next_to_the_accounts_with_their_receivers_and_names(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ACCOUNTS + ROUTES))

    assert [account.id for account in config.accounts] == [
        "acme-lemlist",
        "acme-fullenrich",
        "globex-lemlist",
    ]
    acme, sales, everything = config.routes
    assert (acme.name, dict(acme.match)) == ("client=acme", {"client": "acme"})
    assert acme.receivers == (
        ReceiverSpec(ReceiverKind.SLACK, "acme-slack"),
        ReceiverSpec(ReceiverKind.PAGERDUTY, "acme-pd", region=PagerDutyRegion.EU),
        ReceiverSpec(ReceiverKind.PAGERDUTY, "acme-pd-night", region=PagerDutyRegion.EU),
    )
    assert sales.name == "acme-sales"
    assert sales.receivers == (
        ReceiverSpec(ReceiverKind.TEAMS, "acme-sales-teams"),
        ReceiverSpec(ReceiverKind.WEBHOOK, "acme-hook", signing="acme-hook-signing"),
    )
    assert (everything.name, dict(everything.match)) == ("all", {})
    [topic] = everything.receivers
    assert topic.id == "topic:arn:aws:sns:eu-west-1:123456789012:agency-everything"
    assert topic.entries == ()
    assert sales.receivers[1].entries == ("acme-hook", "acme-hook-signing")
    assert [spec.describe() for spec in acme.receivers] == [
        "slack acme-slack",
        "pagerduty acme-pd (EU region)",
        "pagerduty acme-pd-night (EU region)",
    ]
    assert sales.receivers[1].describe() == "webhook acme-hook (signed with acme-hook-signing)"
    assert load_accounts(write(tmp_path, ACCOUNTS + ROUTES)) == config.accounts  # callers of old keep working


def test_a_route_gets_the_accounts_that_have_every_label_it_matches(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ACCOUNTS + ROUTES))
    acme, sales, everything = config.routes
    by_id = {account.id: account for account in config.accounts}

    assert [a.id for a in accounts_for(acme, config.accounts)] == ["acme-lemlist", "acme-fullenrich"]
    assert [a.id for a in accounts_for(sales, config.accounts)] == ["acme-lemlist"]  # both labels
    assert len(accounts_for(everything, config.accounts)) == 3
    assert routes_for(by_id["acme-lemlist"], config.routes) == (acme, sales, everything)
    assert routes_for(by_id["acme-fullenrich"], config.routes) == (acme, everything)
    assert routes_for(by_id["globex-lemlist"], config.routes) == (everything,)
    assert accounts_for(Route("nobody", {"client": "initech"}), config.accounts) == ()


def test_the_secret_entries_the_receivers_read_are_listed_once_with_every_route_that_reads_them(
    tmp_path: Path,
) -> None:
    again = (
        '[[route]]\nname = "night"\nslack = "acme-slack"\ntopic = "arn:aws:sns:eu-west-1:123456789012:n"\n'
    )
    routing = load_config(write(tmp_path, ACCOUNTS + ROUTES + again)).routing
    slack = ReceiverSpec(ReceiverKind.SLACK, "acme-slack")
    hook = ReceiverSpec(ReceiverKind.WEBHOOK, "acme-hook", signing="acme-hook-signing")

    entries = routing.entries()

    assert list(entries) == [
        "acme-slack", "acme-pd", "acme-pd-night", "acme-sales-teams", "acme-hook", "acme-hook-signing"
    ]  # fmt: skip
    assert entries["acme-slack"] == ReceiverEntry("acme-slack", slack, ("client=acme", "night"))
    assert entries["acme-hook-signing"] == ReceiverEntry("acme-hook-signing", hook, ("acme-sales",))
    assert [entry.holds for entry in entries.values()] == [
        "the Slack incoming-webhook URL",
        "the PagerDuty Events API v2 routing key",
        "the PagerDuty Events API v2 routing key",
        "the Teams Workflows webhook URL",
        "the webhook's URL",
        "the webhook's signing secret",
    ]


def test_a_file_without_routes_has_none(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, ACCOUNTS)).routes == ()


URL = "https://hooks.slack.com/services/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"


@pytest.mark.parametrize(
    ("route", "message"),
    [
        ('slack = "a-slack"\nslak = "x"\n', "route #1: slak: unknown field (a route takes"),
        ('slack = "a-slack"\nslak = "x"\n', "did you mean slack?"),
        (
            'name = "acme"\nslack = "a-slack"\nmatch = { Client = "acme" }\n',
            "route 'acme': match.Client: a label",
        ),
        ('slack = "a-slack"\nmatch = { client = " acme" }\n', "match.client: must be a non-empty string"),
        ('slack = "a-slack"\nmatch = "client=acme"\n', "match: must be a table of labels"),
        ('match = { client = "acme" }\n', "receivers: none; give at least one of slack, teams, pagerduty"),
        ('name = "Acme Corp"\nslack = "a-slack"\n', "route #1: name: must be a slug"),
        ('slack = "A Slack"\n', "slack: must name the secret entry holding the Slack incoming-webhook URL"),
        ("slack = []\n", "slack: an empty list"),
        ('teams = ["t-one", "t-one"]\n', "teams: 't-one' named twice"),
        ("pagerduty = 42\n", "pagerduty: must name the secret entry holding the PagerDuty Events API v2"),
        ('pagerduty = "pd"\npagerduty_region = "apac"\n', "pagerduty_region: must be one of us, eu"),
        ('pagerduty = "pd"\npagerduty_region = ["eu"]\n', "pagerduty_region: must be one of us, eu"),
        (
            'slack = "s"\npagerduty_region = "eu"\n',
            "pagerduty_region: only applies to a route with pagerduty",
        ),
        ('webhook = "hook"\n', "webhook_signing: is missing"),
        ('slack = "s"\nwebhook_signing = "sig"\n', "webhook_signing: only applies to a route with webhook"),
        ('webhook = "hook"\nwebhook_signing = "not a slug"\n', "webhook_signing: must name the secret entry"),
        ('topic = "arn:aws:sns:eu-west-1:12345:short-account"\n', "topic: must be an SNS topic ARN"),
        ('topic = ["arn:aws:sns:eu-west-1:123456789012:a.fifo"]\n', "is a FIFO topic"),
        (
            'webhook = "same"\nwebhook_signing = "same"\n',
            "secret entry 'same' is named as webhook and webhook_signing",
        ),
        (
            "slack = [" + ", ".join(f'"s-{n}"' for n in range(MAX_RECEIVERS + 1)) + "]\n",
            f"receivers: {MAX_RECEIVERS + 1}; at most {MAX_RECEIVERS} per route",
        ),
    ],
)
def test_each_mistake_is_refused_naming_the_file_the_route_and_the_field(
    tmp_path: Path, route: str, message: str
) -> None:
    error = refused(tmp_path, ACCOUNTS + "\n[[route]]\n" + route)

    assert message in str(error)
    assert str(error).startswith(str(tmp_path / "accounts.toml"))


def test_a_secret_pasted_where_an_entry_name_goes_is_refused_without_repeating_it(tmp_path: Path) -> None:
    for field in ("slack", "teams", "webhook", "pagerduty"):
        extra = 'webhook_signing = "sig"\n' if field == "webhook" else ""
        error = refused(tmp_path, ACCOUNTS + f'\n[[route]]\n{field} = "{URL}"\n{extra}')
        assert "not the value itself: the value goes in the API-keys secret" in str(error)
        assert "q8Zx3Lm9" not in str(error)
        assert "hooks.slack.com" not in str(error)
    error = refused(tmp_path, ACCOUNTS + f'\n[[route]]\nwebhook = "hook"\nwebhook_signing = "{URL}"\n')
    assert "not the secret itself" in str(error)
    assert "q8Zx3Lm9" not in str(error)


def test_two_routes_that_would_have_one_name_are_refused_until_named(tmp_path: Path) -> None:
    twice = '\n[[route]]\nmatch = { client = "acme" }\nslack = "s"\n' * 2
    error = refused(tmp_path, ACCOUNTS + twice)
    assert "route #2: name: 'client=acme' (the name its match gives it) is route #1's too" in str(error)

    named = '\n[[route]]\nname = "acme"\nslack = "s"\n' * 2
    assert "route 'acme': name: 'acme' (its name) is route #1's too" in str(
        refused(tmp_path, ACCOUNTS + named)
    )

    catch_all = '\n[[route]]\nslack = "s"\n\n[[route]]\nname = "all"\nteams = "t"\n'
    assert "'all' (its name) is route #1's too" in str(refused(tmp_path, ACCOUNTS + catch_all))


def test_a_receiver_stored_in_an_accounts_key_entry_is_refused(tmp_path: Path) -> None:
    error = refused(tmp_path, ACCOUNTS + '\n[[route]]\nslack = "acme-lemlist"\n')

    assert (
        "route 'all': slack: 'acme-lemlist' is the secret entry of account 'acme-lemlist''s API key"
        in str(error)
    )


def test_one_entry_named_for_two_kinds_of_receiver_is_refused(tmp_path: Path) -> None:
    text = ACCOUNTS + '\n[[route]]\nslack = "shared"\n\n[[route]]\nname = "b"\nteams = "shared"\n'

    assert "secret entry 'shared' is named as slack and teams" in str(refused(tmp_path, text))


def test_one_slack_channel_for_several_routes_is_fine(tmp_path: Path) -> None:
    text = ACCOUNTS + '\n[[route]]\nslack = "agency"\n\n[[route]]\nname = "b"\nslack = "agency"\n'

    assert len(load_config(write(tmp_path, text)).routes) == 2


def test_routes_must_be_an_array_of_tables_and_bounded(tmp_path: Path) -> None:
    assert "route: routes are [[route]] tables" in str(
        refused(tmp_path, ACCOUNTS + '\n[route]\nslack = "s"\n')
    )
    many = "".join(f'\n[[route]]\nname = "r{n}"\nslack = "s"\n' for n in range(MAX_ROUTES + 1))
    assert f"{MAX_ROUTES + 1} routes; at most {MAX_ROUTES}" in str(refused(tmp_path, ACCOUNTS + many))
    assert "route #1: must be a table" in str(refused(tmp_path, "route = [1]\n" + ACCOUNTS))


def test_every_problem_of_accounts_and_routes_is_listed_at_once(tmp_path: Path) -> None:
    text = (
        ACCOUNTS.replace("warning = 1000", "warning = -1")
        + '\n[[route]]\nslak = "s"\n\n[[route]]\nteams = []\n'
    )

    error = refused(tmp_path, text)

    assert [problem.split(": ", 1)[1].split(":")[0] for problem in error.problems] == [
        "account 'acme-fullenrich'",
        "route #1",
        "route #1",
        "route #2",
    ]


def test_routes_without_accounts_still_have_their_problems_listed(tmp_path: Path) -> None:
    error = refused(tmp_path, '[[route]]\nslak = "s"\n')

    assert "no [[account]] tables" in str(error)
    assert "route #1: slak: unknown field" in str(error)


def test_an_unknown_top_level_key_names_both_tables(tmp_path: Path) -> None:
    error = refused(tmp_path, ACCOUNTS + '\n[[routes]]\nslack = "s"\n')

    assert "unknown top-level key 'routes'; did you mean route?" in str(error)


def test_the_receivers_of_an_account_are_the_stack_topic_and_each_matching_route_s(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ACCOUNTS + ROUTES))
    by_id = {account.id: account for account in config.accounts}
    routing = config.routing

    assert routing.receivers_for(by_id["acme-lemlist"]) == (
        TOPIC,
        "client=acme/slack:acme-slack",
        "client=acme/pagerduty:acme-pd",
        "client=acme/pagerduty:acme-pd-night",
        "acme-sales/teams:acme-sales-teams",
        "acme-sales/webhook:acme-hook",
        "all/topic:arn:aws:sns:eu-west-1:123456789012:agency-everything",
    )
    assert routing.receivers_for(by_id["globex-lemlist"]) == (
        TOPIC,
        "all/topic:arn:aws:sns:eu-west-1:123456789012:agency-everything",
    )
    assert set(routing.specs()) == set(routing.receivers_for(by_id["acme-lemlist"])) - {TOPIC}
    assert routing.route("acme-sales") is config.routes[1]
    assert routing.route("nobody") is None


def test_the_stack_topic_hears_every_account_only_the_unrouted_or_none(tmp_path: Path) -> None:
    acme_only = ACCOUNTS + '\n[[route]]\nmatch = { client = "acme" }\nslack = "acme-slack"\n'
    for chosen, acme_hears, globex_hears in (
        ("all", True, True),
        ("unrouted", False, True),
        ("none", False, False),
    ):
        config = load_config(write(tmp_path, f'stack_topic = "{chosen}"\n' + acme_only))
        acme, _, globex = config.accounts
        assert config.stack_topic is StackTopic(chosen)
        assert (TOPIC in config.routing.receivers_for(acme)) is acme_hears, chosen
        assert (TOPIC in config.routing.receivers_for(globex)) is globex_hears, chosen
    assert load_config(write(tmp_path, acme_only)).stack_topic is StackTopic.ALL


def test_a_stack_topic_that_is_not_a_choice_is_refused_with_the_choices(tmp_path: Path) -> None:
    error = str(refused(tmp_path, 'stack_topic = "some"\n' + ACCOUNTS))
    assert "accounts.toml: stack_topic:" in error
    assert '"all", "unrouted", "none"' in error


def test_a_notice_is_due_to_every_receiver_but_those_never_told_and_cleared_only_to_incident_keepers(
    tmp_path: Path,
) -> None:
    config = load_config(write(tmp_path, ACCOUNTS + ROUTES))
    account = config.accounts[0]
    everyone = frozenset(config.routing.receivers_for(account))
    low = Notification(Kind.LOW, account.id, Level.WARNING, balance=10.0, threshold=500.0)
    assert config.routing.due(account, low) == everyone

    never_told = frozenset({TOPIC, "client=acme/slack:acme-slack"})
    recovered = Notification(Kind.RECOVERED, account.id, Level.WARNING, skip=never_told)
    assert config.routing.due(account, recovered) == everyone - never_told

    cleared = Notification(Kind.CLEARED, account.id, Level.OK, clears=Kind.RUNNING_OUT)
    assert config.routing.due(account, cleared) == {
        "client=acme/pagerduty:acme-pd",
        "client=acme/pagerduty:acme-pd-night",
        "acme-sales/webhook:acme-hook",
    }
    hook = frozenset({"acme-sales/webhook:acme-hook"})
    skipped = Notification(Kind.CLEARED, account.id, Level.OK, clears=Kind.RUNNING_OUT, skip=hook)
    assert "acme-sales/webhook:acme-hook" not in config.routing.due(account, skipped)


@pytest.mark.parametrize(
    ("receiver", "kind"),
    [
        (TOPIC, "topic"),
        ("client=acme/slack:acme-slack", "slack"),
        ("all/topic:arn:aws:sns:eu-west-1:123456789012:t", "topic"),
        ("acme-sales/webhook:acme-hook", "webhook"),
    ],
)
def test_the_kind_of_a_receiver_is_read_from_its_id(receiver: str, kind: str) -> None:
    assert kind_of(receiver) == kind
    assert (kind in INCIDENT_KINDS) is (kind in {"pagerduty", "webhook"})


def problems(tmp_path: Path, routes: str) -> list[str]:
    """The problems of ACCOUNTS with `routes`, without the file's path."""
    prefix = f"{tmp_path / 'accounts.toml'}: "
    found = refused(tmp_path, ACCOUNTS + routes).problems
    assert all(problem.startswith(prefix) for problem in found)
    return [problem.removeprefix(prefix) for problem in found]


FIELDS_TAKEN = "name, match, slack, teams, pagerduty, webhook, topic, pagerduty_region, webhook_signing"
SLAK = f"slak: unknown field (a route takes {FIELDS_TAKEN}); did you mean slack?"
NOT_THE_VALUE = "or a list of them, not the value itself: the value goes in the API-keys secret"


@pytest.mark.parametrize(
    ("route", "said"),
    [
        ('slack = "s"\nslak = "x"\n', SLAK),
        (
            'slack = "s"\nmatch = "client=acme"\n',
            'match: must be a table of labels, e.g. match = { client = "acme" }',
        ),
        (
            'slack = "A Slack"\n',
            "slack: must name the secret entry holding the Slack incoming-webhook URL (a slug like"
            f" 'acme-slack'), {NOT_THE_VALUE}",
        ),
        ('teams = ["t-one", "t-one", "t-two", "t-two"]\n', "teams: 't-one', 't-two' named twice"),
        (
            'topic = "arn:aws:sns:eu-west-1:12345:short"\n',
            "topic: must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>), or a list of them",
        ),
        (
            'topic = "arn:aws:sns:eu-west-1:123456789012:a.fifo"\n',
            "topic: 'arn:aws:sns:eu-west-1:123456789012:a.fifo' is a FIFO topic, which rejects every publish"
            " without a MessageGroupId; use a standard topic",
        ),
        (
            'webhook = "hook"\n',
            "webhook_signing: is missing; name the secret entry holding the HMAC-SHA256 secret webhooks are"
            " signed with",
        ),
        (
            'webhook = "hook"\nwebhook_signing = "not a slug"\n',
            "webhook_signing: must name the secret entry holding the signing secret (a slug like"
            " 'acme-webhook-signing'), not the secret itself",
        ),
    ],
)
def test_each_mistake_says_what_to_write_instead(tmp_path: Path, route: str, said: str) -> None:
    """What `validate` prints, word for word: the field, what is wrong, and what to write."""
    assert problems(tmp_path, "\n[[route]]\n" + route) == [f"route #1: {said}"]


def test_a_receiver_in_an_accounts_key_entry_is_told_where_to_store_it(tmp_path: Path) -> None:
    assert problems(tmp_path, '\n[[route]]\nslack = "acme-lemlist"\n') == [
        "route 'all': slack: 'acme-lemlist' is the secret entry of account 'acme-lemlist''s API key; store"
        " the receiver's URL, key or signing secret under an entry of its own"
    ]


def test_a_route_named_twice_is_told_how_to_fix_it_and_the_routes_after_it_are_still_checked(
    tmp_path: Path,
) -> None:
    twice = '\n[[route]]\nmatch = { client = "acme" }\nslack = "s"\n' * 2
    assert problems(tmp_path, twice + '\n[[route]]\nname = "later"\nslak = "s"\n') == [
        "route #2: name: 'client=acme' (the name its match gives it) is route #1's too; give each route a"
        " name of its own, or declare both routes' receivers in one table",
        f"route 'later': {SLAK}",
        "route 'later': receivers: none; give at least one of slack, teams, pagerduty, webhook, topic",
    ]


def test_a_route_that_is_not_a_table_does_not_hide_the_problems_of_the_next(tmp_path: Path) -> None:
    error = refused(tmp_path, 'route = [1, { slak = "s", slack = "s" }]\n' + ACCOUNTS)

    assert [problem.split(": ", 1)[1] for problem in error.problems] == [
        "route #1: must be a table",
        f"route #2: {SLAK}",
    ]


def test_the_most_routes_and_receivers_allowed_are_accepted(tmp_path: Path) -> None:
    routes = "".join(f'\n[[route]]\nname = "r{n}"\nslack = "s"\n' for n in range(MAX_ROUTES))
    assert len(load_config(write(tmp_path, ACCOUNTS + routes)).routes) == MAX_ROUTES

    slacks = ", ".join(f'"s-{n}"' for n in range(MAX_RECEIVERS))
    [route] = load_config(write(tmp_path, ACCOUNTS + f"\n[[route]]\nslack = [{slacks}]\n")).routes
    assert len(route.receivers) == MAX_RECEIVERS


def test_a_route_matching_several_labels_is_named_by_all_of_them_in_order(tmp_path: Path) -> None:
    text = ACCOUNTS + '\n[[route]]\nmatch = { team = "sales", client = "acme" }\nslack = "s"\n'

    [route] = load_config(write(tmp_path, text)).routes

    assert route.name == "client=acme,team=sales"


def test_a_pagerduty_receiver_in_the_us_region_is_described_without_it() -> None:
    assert ReceiverSpec(ReceiverKind.PAGERDUTY, "acme-pd").describe() == "pagerduty acme-pd"


def test_a_route_matching_a_label_value_with_a_slash_keeps_its_receivers_kinds_and_name(
    tmp_path: Path,
) -> None:
    """A label value may hold any printable character, "/" too (team = "eu/sales"): the route's
    derived name then holds one, and its receivers' ids must still say their kind, or a CLEARED
    never reaches its PagerDuty and webhooks (whose RUNNING OUT stays open for ever)."""
    accounts = ACCOUNTS.replace('team = "sales"', 'team = "eu/sales"')
    routes = """
[[route]]
match = { team = "eu/sales" }
pagerduty = "eu-sales-pd"
slack = "eu-sales-slack"
"""
    config = load_config(write(tmp_path, accounts + routes))
    [route] = config.routing.routes
    assert route.name == "team=eu/sales"
    account = config.accounts[0]
    cleared = Notification(Kind.CLEARED, account.id, Level.OK, clears=Kind.RUNNING_OUT)

    assert config.routing.due(account, cleared) == {"team=eu/sales/pagerduty:eu-sales-pd"}
    assert kind_of("team=eu/sales/pagerduty:eu-sales-pd") == "pagerduty"
    assert route_of("team=eu/sales/slack:eu-sales-slack") == "team=eu/sales"
    assert route_of(TOPIC) is None


def test_the_end_of_an_incident_is_due_to_the_receivers_told_of_it_that_the_file_still_has(
    tmp_path: Path,
) -> None:
    """Told: the stack's topic and acme's Slack. The account is globex's by now, and a route named
    otherwise took acme's PagerDuty: the end goes to the topic, acme's Slack (told, though it hears
    of the account no more) and the renamed route's PagerDuty; never to a receiver never told."""
    routes = """
[[route]]
name = "acme"
match = { client = "acme" }
slack = "acme-slack"

[[route]]
name = "globex-co"
match = { client = "globex" }
slack = "globex-slack"
pagerduty = "acme-pd"
"""
    config = load_config(write(tmp_path, ACCOUNTS + routes))
    globex = config.accounts[2]
    audience = frozenset({TOPIC, "acme/slack:acme-slack", "globex/pagerduty:acme-pd", "gone/slack:old"})
    recovered = Notification(Kind.RECOVERED, globex.id, Level.WARNING, audience=audience)

    assert config.routing.due(globex, recovered) == {
        TOPIC,
        "acme/slack:acme-slack",
        "globex-co/pagerduty:acme-pd",
    }
    unrecorded = Notification(Kind.RECOVERED, globex.id, Level.WARNING)
    assert config.routing.due(globex, unrecorded) == {
        TOPIC,
        "globex-co/slack:globex-slack",
        "globex-co/pagerduty:acme-pd",
    }


def test_route_topics_that_would_not_fit_in_the_functions_settings_are_refused_with_the_count(
    tmp_path: Path,
) -> None:
    """`make deploy` passes the routes' topics as RouteTopicArns (a CloudFormation parameter of 4,096
    characters at most) into the function's environment (4 KB for every variable together): a file
    whose topics would not fit is refused by validate, never first by CloudFormation at the deploy."""

    def routes(count: int) -> str:
        return "".join(
            f'\n[[route]]\nname = "client-{n:02d}"\nmatch = {{ client = "client-{n:02d}" }}\n'
            f'topic = "arn:aws:sns:eu-west-1:123456789012:client-{n:02d}-finance-and-sales-alerts"\n'
            for n in range(count)
        )

    load_config(write(tmp_path, ACCOUNTS + routes(30)))  # 30 topics of 69 characters: 2,099 with commas
    error = str(refused(tmp_path, ACCOUNTS + routes(45)))

    assert "the routes name 45 SNS topics, 3,149 characters together" in error
    assert f"at most {MAX_ROUTE_TOPIC_CHARS:,}" in error


def test_route_topics_exactly_as_long_as_the_functions_settings_hold_are_accepted(tmp_path: Path) -> None:
    """The limit is inclusive: topics whose ARNs fill MAX_ROUTE_TOPIC_CHARS exactly still fit; one
    character more is refused with advice on what to do instead."""
    prefix = "arn:aws:sns:eu-west-1:123456789012:"

    def routes(last: int) -> str:
        """12 topics, the last one's name `last` characters long."""
        names = [f"t{n:02d}".ljust(214, "x") for n in range(11)] + ["t11".ljust(last, "x")]
        return "".join(
            f'\n[[route]]\nname = "r{n:02d}"\nmatch = {{ client = "c{n:02d}" }}\ntopic = "{prefix}{name}"\n'
            for n, name in enumerate(names)
        )

    exact = 215  # 12 ARNs of 35 + 214 (the last 35 + 215) characters and 11 commas: 3,000
    config = load_config(write(tmp_path, ACCOUNTS + routes(exact)))
    topics = [spec.target for route in config.routes for spec in route.receivers]
    assert len(",".join(topics)) == MAX_ROUTE_TOPIC_CHARS
    error = str(refused(tmp_path, ACCOUNTS + routes(exact + 1)))
    assert f"the routes name 12 SNS topics, {MAX_ROUTE_TOPIC_CHARS + 1:,} characters together" in error
    assert (
        "(RouteTopicArns, which grants it each topic): subscribe several clients' lists to fewer topics, or"
        " give routes another receiver kind"
    ) in error


def test_the_end_of_an_incident_is_not_due_to_another_route_s_receiver_with_the_same_entry(
    tmp_path: Path,
) -> None:
    """Two routes post to one Slack channel; acme's route, still in the file, was told. Its end goes to
    acme's receiver only: the other route's, never told, is no renamed route's receiver."""
    routes = """
[[route]]
name = "acme"
match = { client = "acme" }
slack = "shared-slack"

[[route]]
name = "everyone"
slack = "shared-slack"
"""
    config = load_config(write(tmp_path, ACCOUNTS + routes))
    acme = config.accounts[0]
    told = Notification(
        Kind.RECOVERED, acme.id, Level.WARNING, audience=frozenset({"acme/slack:shared-slack"})
    )

    assert config.routing.due(acme, told) == {"acme/slack:shared-slack"}


def test_the_end_of_an_incident_reaches_a_renamed_route_s_receiver_when_the_names_hold_a_slash(
    tmp_path: Path,
) -> None:
    """A route matching team = "eu/sales" was told; it now also matches a client, so its derived name
    changed, both names holding a "/": the receiver is recognised by its kind and entry, the part of
    the id after the last "/"."""
    accounts = ACCOUNTS.replace('team = "sales"', 'team = "eu/sales"')
    routes = """
[[route]]
match = { client = "acme", team = "eu/sales" }
pagerduty = "eu-sales-pd"
"""
    config = load_config(write(tmp_path, accounts + routes))
    [route] = config.routing.routes
    assert route.name == "client=acme,team=eu/sales"
    account = config.accounts[0]
    audience = frozenset({"team=eu/sales/pagerduty:eu-sales-pd"})
    cleared = Notification(Kind.CLEARED, account.id, Level.OK, clears=Kind.RUNNING_OUT, audience=audience)

    assert config.routing.due(account, cleared) == {"client=acme,team=eu/sales/pagerduty:eu-sales-pd"}
