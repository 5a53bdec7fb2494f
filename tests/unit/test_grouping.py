"""Grouping: one message per kind, provider and routing labels, and a vendor outage as one alert."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from credit_monitor.alerting import Kind, Level, Notification, Pending
from credit_monitor.config import Account
from credit_monitor.grouping import Failing, Group, Incident, Item, group, hold, routing_labels
from credit_monitor.model import FailureKind
from credit_monitor.providers import fullenrich, http_json, lemlist

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def account(name: str, provider: str = "lemlist", **labels: str) -> Account:
    module = lemlist if provider == "lemlist" else fullenrich
    return Account(name, module.PROVIDER, "https://api.test", threshold=100, labels=labels)


def item(acct: Account, kind: Kind = Kind.LOW, attempts: int = 0, **fields: object) -> Item:
    note = Notification(kind, acct.id, Level.WARNING, **fields)  # type: ignore[arg-type]
    return Item(acct, Pending(f"run-{acct.id}-{kind.value}", note, T0, attempts=attempts))


def members(groups: list[Group]) -> list[list[str]]:
    return [sorted(group.accounts) for group in groups]


def test_one_group_per_kind_provider_and_routing_labels() -> None:
    acme = [account(f"acme-{n}", client="acme") for n in range(3)]
    globex = [account(f"globex-{n}", client="globex") for n in range(2)]
    other = account("acme-fe", "fullenrich", client="acme")
    items = [item(a) for a in [*acme, *globex, other]] + [item(acme[0], Kind.RUNNING_OUT)]

    groups = group(items, [*acme, *globex, other], group_by=None)

    assert sorted(members(groups)) == [
        ["acme-0"],
        ["acme-0", "acme-1", "acme-2"],
        ["acme-fe"],
        ["globex-0", "globex-1"],
    ]
    assert sorted(i.pending.id for g in groups for i in g.items) == sorted(i.pending.id for i in items)
    acme_low = next(g for g in groups if len(g.items) == 3)
    assert (acme_low.kind, acme_low.vendor.id, acme_low.labels) == (
        Kind.LOW,
        "lemlist",
        (("client", "acme"),),
    )
    assert acme_low.vendor_accounts == 5  # the lemlist accounts the run watches, all labels


def test_group_by_names_the_routing_labels_and_the_others_are_kept_only_when_shared() -> None:
    a = account("a", client="acme", owner="ann")
    b = account("b", client="acme", owner="bob")
    c = account("c", client="globex", owner="ann")

    by_default = group([item(x) for x in (a, b, c)], [a, b, c], group_by=None)
    by_client = group([item(x) for x in (a, b, c)], [a, b, c], group_by={"client"})

    assert sorted(members(by_default)) == [["a"], ["b"], ["c"]]
    assert sorted(members(by_client)) == [["a", "b"], ["c"]]
    acme = next(g for g in by_client if len(g.items) == 2)
    assert acme.labels == (("client", "acme"),)  # owner differs: not carried


def test_a_notification_refused_before_goes_alone_so_it_cannot_hold_a_group_back() -> None:
    accounts = [account(f"acme-{n}", client="acme") for n in range(3)]
    items = [item(accounts[0], attempts=1), item(accounts[1]), item(accounts[2])]

    assert sorted(members(group(items, accounts, None))) == [["acme-0"], ["acme-1", "acme-2"]]


def test_a_providers_accounts_failing_together_are_one_outage_whatever_their_labels() -> None:
    accounts = [account(f"lm-{n}", client=f"client-{n % 4}") for n in range(10)]
    failing = [
        item(a, Kind.CHECK_FAILING, failures=3, failure=FailureKind.TIMEOUT, reason="timed out")
        for a in accounts
    ]

    [outage] = group(failing, accounts, None)

    assert (outage.outage, outage.kind, outage.vendor.id) == (True, Kind.CHECK_FAILING, "lemlist")
    assert (len(outage.items), outage.vendor_accounts) == (10, 10)
    assert outage.failure is FailureKind.TIMEOUT
    assert outage.labels == ()


def test_an_outage_needs_half_the_providers_accounts_with_one_cause_and_one_alone_stays_alone() -> None:
    accounts = [account(f"lm-{n}", client="acme") for n in range(10)]
    fe = account("fe", "fullenrich", client="acme")
    four = [item(a, Kind.CHECK_FAILING, failure=FailureKind.TIMEOUT) for a in accounts[:4]]
    auth = [item(a, Kind.CHECK_FAILING, failure=FailureKind.AUTH) for a in accounts[4:6]]
    alone = item(fe, Kind.CHECK_FAILING, failure=FailureKind.TIMEOUT)

    groups = group([*four, *auth, alone], [*accounts, fe], None)

    assert not any(g.outage for g in groups)  # 4 of 10 with one cause is not a vendor outage
    five = [item(a, Kind.CHECK_FAILING, failure=FailureKind.TIMEOUT) for a in accounts[:5]]
    assert [g.outage for g in group([*five, alone], [*accounts, fe], None)] == [True, False]


def test_two_accounts_failing_together_are_an_outage_when_they_are_half_the_providers() -> None:
    accounts = [account(f"lm-{n}", client=f"c{n}") for n in range(4)]
    failing = [item(a, Kind.CHECK_FAILING, failure=FailureKind.TIMEOUT) for a in accounts[:2]]

    [outage] = group(failing, accounts, None)

    assert (outage.outage, outage.accounts, outage.vendor_accounts) == (True, ["lm-0", "lm-1"], 4)


def test_an_account_without_a_routing_label_routes_as_the_empty_value_no_declared_label_has() -> None:
    """accounts_file refuses an empty label value, so an account that lacks a `group_by` label never
    shares a group with one that declares it, whatever its value."""
    bare, declared = account("bare"), account("declared", client="XXXX")

    assert routing_labels(bare, {"client", "owner"}) == (("client", ""), ("owner", ""))
    groups = group([item(bare), item(declared)], [bare, declared], group_by={"client"})
    assert sorted(members(groups)) == [["bare"], ["declared"]]


def test_halves_split_a_group_in_order_and_keep_its_kind_provider_labels_and_outage() -> None:
    """A message too big for SNS goes as two: the first half has the odd item."""
    accounts = [account(f"lm-{n}", client="acme") for n in range(5)]
    [whole] = group(
        [item(a, Kind.CHECK_FAILING, failure=FailureKind.TIMEOUT) for a in accounts], accounts, None
    )

    first, second = whole.halves()

    assert (first.accounts, second.accounts) == (["lm-0", "lm-1", "lm-2"], ["lm-3", "lm-4"])
    for half in (first, second):
        assert (half.kind, half.vendor.id, half.labels, half.outage, half.vendor_accounts) == (
            Kind.CHECK_FAILING,
            "lemlist",
            (("client", "acme"),),
            True,
            5,
        )


def test_recovering_together_is_one_check_recovered() -> None:
    accounts = [account(f"lm-{n}", client=f"c{n}") for n in range(6)]
    back = [item(a, Kind.CHECK_RECOVERED, balance=500.0) for a in accounts]

    [recovered] = group(back, accounts, None)

    assert (recovered.incident, recovered.kind, len(recovered.items)) == (Incident(), Kind.CHECK_RECOVERED, 6)
    assert not recovered.outage  # what they recovered from is not known: never called an outage


def test_groups_come_oldest_first() -> None:
    a, b = account("a", client="x"), account("b", client="y")
    old = Item(b, Pending("old", Notification(Kind.LOW, "b", Level.WARNING), T0 - timedelta(hours=1)))

    assert [g.accounts for g in group([item(a), old], [a, b], None)] == [["b"], ["a"]]


def test_a_vendor_down_answering_errors_timeouts_and_resets_is_still_one_outage() -> None:
    """A vendor that is down answers 5xx to some requests, times out or resets others: the kinds
    differ per account, the cause is one. 200 accounts of 200 clients must not be 200 messages."""
    accounts = [account(f"lm-{n:03d}", client=f"client-{n:03d}") for n in range(200)]
    vendor_side = [FailureKind.HTTP, FailureKind.TIMEOUT, FailureKind.CONNECTION, FailureKind.BAD_RESPONSE]
    failing = [
        item(a, Kind.CHECK_FAILING, failures=3, failure=vendor_side[n % 4], reason="down")
        for n, a in enumerate(accounts)
    ]

    [outage] = group(failing, accounts, None)

    assert (outage.outage, outage.kind, len(outage.items)) == (True, Kind.CHECK_FAILING, 200)
    assert outage.failure is None  # several kinds: the message names each


def test_keys_rejected_are_not_merged_into_a_vendor_outage_of_another_cause() -> None:
    accounts = [account(f"lm-{n}", client="acme") for n in range(10)]
    four = [item(a, Kind.CHECK_FAILING, failure=FailureKind.TIMEOUT) for a in accounts[:4]]
    auth = [item(a, Kind.CHECK_FAILING, failure=FailureKind.AUTH) for a in accounts[4:6]]

    assert not any(g.outage for g in group([*four, *auth], accounts, None))


def test_an_outage_sns_refused_once_is_not_retried_as_one_message_per_account() -> None:
    accounts = [account(f"lm-{n:03d}", client=f"client-{n:03d}") for n in range(200)]
    refused_once = [
        item(a, Kind.CHECK_FAILING, attempts=1, failures=3, failure=FailureKind.TIMEOUT, reason="down")
        for a in accounts
    ]

    halves = group(refused_once, accounts, None)

    assert [len(half.items) for half in halves] == [100, 100]
    assert all(half.outage for half in halves)


def test_a_group_refused_before_is_retried_in_halves_until_a_poisoned_one_is_alone() -> None:
    """Sixteen LOWs of one client, one of them poisoned: each retry halves what was refused, so
    the poisoned one is alone after four refusals and the fifteen others go out meanwhile."""
    accounts = [account(f"acme-{n:02d}", client="acme") for n in range(16)]
    pending = {a.id: item(a) for a in accounts}
    sent: list[int] = []
    for refusals in range(1, 6):  # five tries: the fifth has it alone
        groups = group(list(pending.values()), accounts, None)
        for found in groups:
            if "acme-07" in found.accounts:  # SNS refuses it
                for name in found.accounts:
                    old = pending[name]
                    pending[name] = Item(old.account, replace(old.pending, attempts=refusals))
            else:
                sent.append(len(found.items))
                for name in found.accounts:
                    del pending[name]
    assert sorted(sent) == [1, 2, 4, 8]
    assert list(pending) == ["acme-07"]


def test_every_refused_group_is_halved_by_notification_id_whatever_the_order_given() -> None:
    acme = [account(f"acme-{n}", client="acme") for n in range(4)]
    items = [item(a, attempts=1) for a in reversed(acme)]
    items += [item(a, Kind.RUNNING_OUT, attempts=1) for a in reversed(acme)]

    groups = group(items, acme, None)

    assert [(g.kind, g.accounts) for g in groups] == [
        (Kind.LOW, ["acme-0", "acme-1"]),
        (Kind.LOW, ["acme-2", "acme-3"]),
        (Kind.RUNNING_OUT, ["acme-0", "acme-1"]),
        (Kind.RUNNING_OUT, ["acme-2", "acme-3"]),
    ]
    assert all(g.labels == (("client", "acme"),) for g in groups)


def http_json_account(name: str, display_name: str, **labels: str) -> Account:
    provider, url = http_json.from_entry(
        {
            "url": f"https://api.{name}.example/v1/balance",
            "auth": {"kind": "bearer"},
            "balance": "credits",
            "display_name": display_name,
            "top_up_url": f"https://{name}.example/billing",
        }
    )
    return Account(name, provider, url, threshold=100, labels=labels)


def test_unrelated_http_json_apis_are_never_one_vendor_outage_nor_one_group() -> None:
    """Alpha answers 503 and Beta's reply lacks its field: two failures of two vendors, each alone,
    though both are http-json and both causes are on a vendor's side. Low together: two groups."""
    alpha, beta, gamma = (http_json_account(n, n.title()) for n in ("alpha", "beta", "gamma"))
    accounts = [alpha, beta, gamma]
    failing = [
        item(alpha, Kind.CHECK_FAILING, failures=3, failure=FailureKind.HTTP, reason="HTTP 503"),
        item(beta, Kind.CHECK_FAILING, failures=3, failure=FailureKind.BAD_RESPONSE, reason="no field"),
    ]

    groups = group(failing, accounts, None)

    assert [(g.vendor.id, g.accounts, g.outage, g.vendor_accounts) for g in groups] == [
        ("alpha", ["alpha"], False, 1),
        ("beta", ["beta"], False, 1),
    ]
    low = group([item(alpha), item(beta)], accounts, None)
    assert sorted((g.vendor.name, g.accounts) for g in low) == [("Alpha", ["alpha"]), ("Beta", ["beta"])]


def test_accounts_of_one_declared_api_are_one_vendor() -> None:
    one, two = http_json_account("alpha", "Alpha"), http_json_account("alpha", "Alpha")
    two = replace(two, id="alpha-2")
    failing = [item(a, Kind.CHECK_FAILING, failure=FailureKind.TIMEOUT) for a in (one, two)]

    [outage] = group(failing, [one, two], None)

    assert (outage.outage, outage.vendor.id, outage.accounts) == (True, "alpha", ["alpha", "alpha-2"])


def test_accounts_sharing_a_key_entry_that_fails_are_one_incident_on_our_side_not_an_outage() -> None:
    """Three of ten lemlist accounts name the entry "acme-team", missing from the secret (or its key
    revoked): one group, whatever their labels and though they are under half the vendor's
    accounts; it names the entry and is no vendor outage."""
    team = [replace(account(f"team-{n}", client=f"c{n}"), key_entry="acme-team") for n in range(3)]
    others = [account(f"lm-{n}", client="acme") for n in range(7)]
    for kind in (FailureKind.SECRET, FailureKind.AUTH):
        failing = [item(a, Kind.CHECK_FAILING, failures=3, failure=kind, reason="no key") for a in team]

        [shared] = group(failing, [*team, *others], None)

        assert (shared.accounts, shared.outage, shared.incident) == (
            ["team-0", "team-1", "team-2"],
            False,
            Incident(entry="acme-team"),
        )


def test_an_empty_secret_is_one_incident_of_the_vendor_not_an_outage() -> None:
    accounts = [account(f"lm-{n}", client=f"c{n}") for n in range(4)]
    failing = [item(a, Kind.CHECK_FAILING, failure=FailureKind.SECRET, reason="no API key") for a in accounts]

    [incident] = group(failing, accounts, None)

    assert (len(incident.items), incident.outage, incident.incident) == (4, False, Incident())


def test_a_vendor_side_failure_is_an_outage_whatever_key_entry_its_accounts_share() -> None:
    team = [replace(account(f"team-{n}"), key_entry="acme-team") for n in range(2)]
    failing = [item(a, Kind.CHECK_FAILING, failure=FailureKind.HTTP, reason="HTTP 503") for a in team]

    [outage] = group(failing, team, None)

    assert outage.incident == Incident(vendor_down=True)


def down(accounts: list[Account], to_alert: dict[str, int]) -> dict[str, Failing]:
    """Each account's failed check this run (a 503), with its failed checks still to go."""
    return {a.id: Failing(FailureKind.HTTP, to_alert.get(a.id, 0)) for a in accounts}


def test_a_check_failing_one_run_ahead_of_an_outage_waits_for_it_then_goes_with_it() -> None:
    accounts = [account(f"lm-{n}", client=f"c{n}") for n in range(10)]
    ahead = item(accounts[0], Kind.CHECK_FAILING, failures=3, failure=FailureKind.HTTP, reason="HTTP 503")

    ready, held = hold([ahead], accounts, down(accounts, {a.id: 1 for a in accounts[1:]}))

    assert (ready, held) == ([], [ahead])
    the_rest = [item(a, Kind.CHECK_FAILING, failure=FailureKind.HTTP) for a in accounts[1:]]
    failing = down(accounts, {"lm-0": -1})
    ready, held = hold([ahead, *the_rest], accounts, failing)
    assert held == []
    [outage] = group(ready, accounts, None, failing)
    assert (outage.outage, len(outage.accounts), outage.failing) == (True, 10, 10)


def test_a_check_failing_waits_no_longer_than_the_slowest_of_the_others_needs() -> None:
    """Others that keep flickering (failing, then answering) would hold it for ever: it waits only
    while its own runs past CHECK FAILING are fewer than what the others still need."""
    accounts = [account(f"lm-{n}") for n in range(10)]
    ahead = item(accounts[0], Kind.CHECK_FAILING, failure=FailureKind.HTTP)
    counting = {a.id: 2 for a in accounts[1:]}  # each failed once: two to go

    assert hold([ahead], accounts, down(accounts, {**counting, "lm-0": -1}))[1] == [ahead]
    assert hold([ahead], accounts, down(accounts, {**counting, "lm-0": -2}))[1] == []
    alone = {"lm-0": Failing(FailureKind.HTTP, 0)}  # the others answer: no outage to wait for
    assert hold([ahead], accounts, alone)[1] == []


def test_the_rest_of_an_outage_goes_as_the_outage_whatever_run_queued_it() -> None:
    """Six of ten were reported (a run killed before recording the other four, or four that reach
    CHECK FAILING later): the vendor is still down, so the four are the outage too, not four
    failures of their own."""
    accounts = [account(f"lm-{n}", client=f"c{n}") for n in range(10)]
    four = [item(a, Kind.CHECK_FAILING, failure=FailureKind.HTTP, reason="HTTP 503") for a in accounts[:4]]
    failing = down(accounts, {a.id: -1 for a in accounts})

    [outage] = group(four, accounts, None, failing)

    assert (outage.outage, len(outage.items), outage.failing, outage.vendor_accounts) == (True, 4, 10, 10)


def test_accounts_sharing_a_key_entry_that_work_again_together_are_one_message_as_they_failed() -> None:
    team = [replace(account(f"team-{n}", client=f"c{n}"), key_entry="acme-team") for n in range(3)]
    others = [account(f"lm-{n}", client="acme") for n in range(7)]
    back = [item(a, Kind.CHECK_RECOVERED, balance=500.0) for a in team]

    [recovered] = group(back, [*team, *others], None)

    assert (recovered.accounts, recovered.incident) == (
        ["team-0", "team-1", "team-2"],
        Incident(entry="acme-team"),
    )


def test_a_check_failing_waits_only_while_most_of_the_outage_still_counts_up_to_theirs() -> None:
    """Most accounts reach CHECK FAILING this run (or reached it before): the outage is there to
    report, so a CHECK FAILING does not wait for the few still counting."""
    accounts = [account(f"lm-{n}") for n in range(4)]
    first = item(accounts[0], Kind.CHECK_FAILING, failure=FailureKind.HTTP)

    three_now = down(accounts, {"lm-3": 1})  # lm-0..2 reach theirs now
    assert hold([first], accounts, three_now) == ([first], [])
    half_now = down(accounts, {"lm-2": 1, "lm-3": 1})  # half is not most
    assert hold([first], accounts, half_now) == ([first], [])
    most_counting = down(accounts, {"lm-1": 1, "lm-2": 1, "lm-3": 1})
    assert hold([first], accounts, most_counting) == ([], [first])


def test_a_vendor_is_down_when_half_its_accounts_fail_this_run_and_not_below() -> None:
    """The failures of this run count, reported or not: two of four failing is an outage, though
    one of them reached its CHECK FAILING a run before; two of ten is not."""
    four = [account(f"lm-{n}", client=f"c{n}") for n in range(4)]
    late = item(four[0], Kind.CHECK_FAILING, failure=FailureKind.HTTP, reason="HTTP 503")
    two_of_four = down(four[:2], {"lm-1": -1})

    [outage] = group([late], four, None, two_of_four)

    assert (outage.outage, outage.accounts, outage.failing, outage.vendor_accounts) == (True, ["lm-0"], 2, 4)
    ten = [account(f"lm-{n}", client=f"c{n}") for n in range(10)]
    failing = [item(a, Kind.CHECK_FAILING, failure=FailureKind.HTTP, reason="HTTP 503") for a in ten[:2]]
    groups = group(failing, ten, None, down(ten[:2], {}))
    assert [(g.accounts, g.outage) for g in groups] == [(["lm-0"], False), (["lm-1"], False)]


def test_half_a_vendors_accounts_failing_of_the_key_entry_they_share_name_it() -> None:
    team = [replace(account(f"team-{n}", client=f"c{n}"), key_entry="acme-team") for n in range(2)]
    others = [account(f"lm-{n}") for n in range(2)]
    failing = [item(a, Kind.CHECK_FAILING, failure=FailureKind.AUTH, reason="HTTP 401") for a in team]

    [shared] = group(failing, [*team, *others], None)

    assert (shared.incident, shared.outage, shared.failing) == (Incident(entry="acme-team"), False, 0)


def test_two_accounts_sharing_a_key_entry_are_one_incident_with_their_labels_kind_and_vendor() -> None:
    team = [
        replace(account(f"team-{n}", client="acme", owner=f"o{n}"), key_entry="acme-team") for n in range(2)
    ]
    others = [account(f"lm-{n}", client="acme") for n in range(8)]
    failing = [item(a, Kind.CHECK_FAILING, failure=FailureKind.AUTH, reason="HTTP 401") for a in team]

    [shared] = group(failing, [*team, *others], None)

    assert (shared.kind, shared.vendor.id, shared.accounts, shared.labels) == (
        Kind.CHECK_FAILING,
        "lemlist",
        ["team-0", "team-1"],
        (("client", "acme"),),
    )
    assert (shared.incident, shared.vendor_accounts, shared.failing) == (Incident(entry="acme-team"), 10, 0)


def test_a_recovery_is_never_an_outage_whatever_failure_it_carries() -> None:
    """Accounts working again together are one message; why they had failed is not known from the
    recovery, so it is not called the end of an outage."""
    accounts = [account(f"lm-{n}", client=f"c{n}") for n in range(4)]
    back = [item(a, Kind.CHECK_RECOVERED, failure=FailureKind.TIMEOUT) for a in accounts[:2]]

    [recovered] = group(back, accounts, None)

    assert (recovered.accounts, recovered.incident, recovered.failing) == (["lm-0", "lm-1"], Incident(), 0)
