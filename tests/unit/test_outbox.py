"""The outbox: pending notifications, leases between overlapping runs, and settling. Pure."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from credit_monitor.alerting import AccountState, Family, Kind, Level, Notification
from credit_monitor.outbox import (
    MAX_AGE,
    MAX_ATTEMPTS,
    MAX_LEASE,
    MAX_PENDING,
    enqueue,
    lease,
    leased_by,
    refused,
    settle,
    waits,
)

T0 = datetime(2026, 11, 1, 9, tzinfo=UTC)
LOW = Notification(Kind.LOW, "lemlist", Level.WARNING, balance=50, threshold=100)
RECOVERED = Notification(Kind.CHECK_RECOVERED, "lemlist", Level.OK, balance=50)


def test_new_notifications_are_pending_in_order_with_ids_unique_to_the_run() -> None:
    state, dropped = enqueue(AccountState(), [RECOVERED, LOW], "run1", T0)

    assert [p.note for p in state.outbox] == [RECOVERED, LOW]
    assert [p.id for p in state.outbox] == ["run1-lemlist-1", "run1-lemlist-2"]
    assert dropped == []


def test_a_run_leases_what_is_free_and_leaves_a_live_lease_alone() -> None:
    state, _ = enqueue(AccountState(), [LOW], "run1", T0)
    held = lease(state, "run1", T0, until=T0 + timedelta(seconds=30))
    state, _ = enqueue(held, [RECOVERED], "run2", T0 + timedelta(seconds=5))

    overlapping = lease(state, "run2", T0 + timedelta(seconds=5), until=T0 + timedelta(seconds=35))

    assert [p.note for p in leased_by(overlapping, "run2")] == [RECOVERED]
    assert [p.note for p in leased_by(overlapping, "run1")] == [LOW]


def test_a_lease_ends_with_its_runs_deadline_so_a_killed_run_delays_and_never_loses() -> None:
    state, _ = enqueue(AccountState(), [LOW], "dead", T0)
    state = lease(state, "dead", T0, until=T0 + timedelta(seconds=30))

    after = lease(state, "next", T0 + timedelta(seconds=30), until=T0 + timedelta(seconds=60))

    assert [p.note for p in leased_by(after, "next")] == [LOW]


def test_settle_removes_what_was_delivered_and_frees_what_was_not() -> None:
    state, _ = enqueue(AccountState(), [RECOVERED, LOW], "run1", T0)
    state = lease(state, "run1", T0, until=T0 + timedelta(seconds=30))

    settled = settle(state, delivered={"run1-lemlist-1"}, released={"run1-lemlist-2"})

    [left] = settled.outbox
    assert left.note == LOW
    assert left.lease_owner is None
    assert left.lease_until is None


def test_a_full_outbox_drops_the_oldest_and_says_so() -> None:
    state = AccountState()
    for run in range(MAX_PENDING):
        state, _ = enqueue(state, [LOW], f"r{run}", T0 + timedelta(hours=run))

    state, dropped = enqueue(state, [RECOVERED], "last", T0 + timedelta(days=30))

    assert [p.id for p in dropped] == ["r0-lemlist-1"]
    assert len(state.outbox) == MAX_PENDING
    assert state.outbox[-1].note == RECOVERED


def test_a_lease_no_run_could_hold_is_ignored() -> None:
    """A lease until 2100 (a writer's clock far off, or a hand edit) must not hold a LOW forever."""
    state, _ = enqueue(AccountState(), [LOW], "skewed", T0)
    state = lease(state, "skewed", T0, until=datetime(2100, 1, 1, tzinfo=UTC))

    after = lease(state, "next", T0 + timedelta(hours=1), until=T0 + timedelta(hours=1, seconds=30))

    assert [p.note for p in leased_by(after, "next")] == [LOW]


def test_a_refused_notification_is_counted_released_and_given_up_at_the_bound() -> None:
    state, _ = enqueue(AccountState(), [LOW, RECOVERED], "run-1", T0)
    poisoned, other = (item.id for item in state.outbox)
    given_up: list[str] = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        leased = lease(state, "run", T0 + timedelta(hours=attempt), T0 + timedelta(hours=attempt, seconds=30))
        state, dropped = refused(leased, {poisoned}, T0 + timedelta(hours=attempt))
        given_up += [item.id for item in dropped]
        if attempt < MAX_ATTEMPTS:
            first = state.outbox[0]
            assert (first.attempts, first.lease_owner, first.lease_until) == (attempt, None, None)

    assert given_up == [poisoned]
    assert [item.id for item in state.outbox] == [other]
    assert state.outbox[0].attempts == 0


def test_a_refused_notification_older_than_the_bound_is_given_up_at_its_next_refusal() -> None:
    state, _ = enqueue(AccountState(), [LOW], "run-1", T0)
    [item] = state.outbox

    kept, none = refused(state, {item.id}, T0 + MAX_AGE - timedelta(minutes=1))
    gone, dropped = refused(kept, {item.id}, T0 + MAX_AGE)

    assert none == []
    assert kept.outbox[0].attempts == 1
    assert [d.id for d in dropped] == [item.id]
    assert gone.outbox == ()


def test_a_run_renews_its_own_live_lease_to_its_new_deadline() -> None:
    state, _ = enqueue(AccountState(), [LOW], "run1", T0)
    state = lease(state, "run1", T0, until=T0 + timedelta(seconds=30))

    renewed = lease(state, "run1", T0 + timedelta(seconds=5), until=T0 + timedelta(seconds=90))

    [item] = leased_by(renewed, "run1")
    assert item.lease_until == T0 + timedelta(seconds=90)


def test_a_lease_with_an_owner_but_no_end_is_free() -> None:
    """A hand-edited or half-written item must not hold a notification back forever."""
    state, _ = enqueue(AccountState(), [LOW], "run1", T0)
    [item] = state.outbox
    state = replace(state, outbox=(replace(item, lease_owner="other", lease_until=None),))

    taken = lease(state, "run2", T0, until=T0 + timedelta(seconds=30))

    assert [p.note for p in leased_by(taken, "run2")] == [LOW]


def test_a_lease_ending_exactly_one_maximum_lambda_lifetime_ahead_is_still_held() -> None:
    state, _ = enqueue(AccountState(), [LOW], "run1", T0)
    state = lease(state, "run1", T0, until=T0 + MAX_LEASE)

    after = lease(state, "run2", T0, until=T0 + timedelta(seconds=30))

    assert leased_by(after, "run2") == []


def test_settle_keeps_the_lease_of_what_it_was_not_told_about() -> None:
    state, _ = enqueue(AccountState(), [RECOVERED, LOW], "run1", T0)
    state = lease(state, "run1", T0, until=T0 + timedelta(seconds=30))

    settled = settle(state, delivered={"run1-lemlist-1"})

    [left] = settled.outbox
    assert (left.lease_owner, left.lease_until) == ("run1", T0 + timedelta(seconds=30))


def test_settling_remembers_the_newest_notification_delivered_for_status() -> None:
    state, _ = enqueue(AccountState(), [LOW], "run-1", T0)
    state, _ = enqueue(state, [RECOVERED], "run-2", T0 + timedelta(hours=1))
    ids = [item.id for item in state.outbox]
    sent_at = T0 + timedelta(hours=2)

    both = settle(state, delivered=ids, sent_at=sent_at)
    assert (both.last_sent, both.last_sent_at) == ("CHECK RECOVERED", sent_at)
    first = settle(state, delivered=ids[:1], sent_at=sent_at)
    assert (first.last_sent, first.last_sent_at) == ("LOW", sent_at)
    assert settle(state, released=ids, sent_at=sent_at).last_sent is None, "nothing delivered"
    assert settle(state, delivered=ids).last_sent is None, "no time given: a digest, say"


# --- per receiver ------------------------------------------------------------------------------

TWO = frozenset({"topic", "acme/slack:acme-slack"})


def leased_to(notes: list[Notification], due: frozenset[str] = TWO) -> AccountState:
    state, _ = enqueue(AccountState(), notes, "run1", T0)
    return lease(state, "run1", T0, T0 + timedelta(seconds=30), lambda note: due)


def test_a_notification_leaves_only_when_every_receiver_it_is_due_to_took_it() -> None:
    state = leased_to([LOW])
    [pending] = state.outbox
    assert pending.due == TWO
    assert pending.owed == TWO

    half = settle(state, {pending.id: {"topic"}})
    assert [p.delivered_to for p in half.outbox] == [frozenset({"topic"})]
    assert [p.owed for p in half.outbox] == [frozenset({"acme/slack:acme-slack"})]

    assert settle(half, {pending.id: {"acme/slack:acme-slack"}}).outbox == ()


def test_a_lease_says_afresh_who_it_is_due_to_and_drops_what_nobody_is_owed() -> None:
    state = leased_to([LOW, RECOVERED])
    again = lease(
        state, "run2", T0 + timedelta(minutes=1), T0 + timedelta(minutes=2), lambda note: frozenset()
    )

    assert again.outbox == (), "no receiver hears about the account any more: nothing is owed"


def test_plain_ids_settle_every_receiver_owed() -> None:
    state = leased_to([LOW])
    assert settle(state, [state.outbox[0].id]).outbox == ()


def test_a_refusal_of_one_receiver_counts_once_per_run_and_a_give_up_leaves_it_untold() -> None:
    state = leased_to([LOW])
    [pending] = state.outbox
    state = settle(state, {pending.id: {"topic"}})
    for attempt in range(MAX_ATTEMPTS - 1):
        state, given_up = refused(
            state, {pending.id: {"acme/slack:acme-slack"}}, T0 + timedelta(hours=attempt)
        )
        assert given_up == []
    state, given_up = refused(state, {pending.id: {"acme/slack:acme-slack"}}, T0 + timedelta(hours=24))

    assert [p.owed for p in given_up] == [frozenset({"acme/slack:acme-slack"})]
    assert state.outbox == ()
    assert state.untold == {Family.BALANCE: frozenset({"acme/slack:acme-slack"})}


def test_a_notice_that_reaches_a_receiver_later_makes_it_told_again() -> None:
    state = replace(leased_to([LOW]), untold={Family.BALANCE: frozenset({"topic"})})
    settled = settle(state, {state.outbox[0].id: {"topic"}})
    assert settled.untold == {}


def test_an_ending_that_reaches_a_receiver_does_not_make_it_told() -> None:
    """A recovery delivered is no notice of an incident: untold stays as it is."""
    state = replace(leased_to([RECOVERED]), untold={Family.CHECK: frozenset({"acme/slack:acme-slack"})})
    settled = settle(state, {state.outbox[0].id: {"topic"}})
    assert settled.untold == {Family.CHECK: frozenset({"acme/slack:acme-slack"})}


def test_a_lease_drops_only_what_nobody_is_owed_and_keeps_the_rest_in_order() -> None:
    """A notification of an account no receiver hears about any more leaves; those after it stay."""
    cleared = Notification(Kind.CLEARED, "lemlist", Level.OK, clears=Kind.RUNNING_OUT)
    state, _ = enqueue(AccountState(), [cleared, LOW, RECOVERED], "run1", T0)

    leased = lease(
        state, "run1", T0, T0 + timedelta(seconds=30), lambda note: frozenset() if note.ends else TWO
    )

    assert [p.note for p in leased.outbox] == [LOW]


def test_a_notice_that_reaches_one_untold_receiver_leaves_the_others_untold() -> None:
    untold = frozenset({"topic", "acme/slack:acme-slack"})
    state = replace(leased_to([LOW]), untold={Family.BALANCE: untold})

    settled = settle(state, {state.outbox[0].id: {"topic"}})

    assert settled.untold == {Family.BALANCE: frozenset({"acme/slack:acme-slack"})}


def give_up(state: AccountState, receivers: frozenset[str]) -> AccountState:
    """Every pending notification refused by `receivers` until it is given up."""
    refusals = {pending.id: receivers for pending in state.outbox}
    state, given_up = refused(state, refusals, T0 + MAX_AGE)
    assert len(given_up) == len(refusals)
    return state


def test_a_recovery_given_up_leaves_nobody_untold() -> None:
    """An ending is no notice of an incident: giving it up leaves nothing for a later ending to skip."""
    state = give_up(leased_to([RECOVERED]), TWO)

    assert state.outbox == ()
    assert state.untold == {}


def test_notices_given_up_at_different_receivers_leave_each_of_them_untold() -> None:
    slack = frozenset({"acme/slack:acme-slack"})
    state = give_up(
        replace(leased_to([LOW], due=slack), untold={Family.BALANCE: frozenset({"topic"})}), slack
    )

    assert state.untold == {Family.BALANCE: frozenset({"topic", "acme/slack:acme-slack"})}


def test_a_notice_taken_joins_its_open_incidents_audience_and_an_ending_taken_does_not() -> None:
    state = replace(leased_to([LOW, RECOVERED]), told={Family.BALANCE: frozenset()})
    low, recovered = state.outbox
    settled = settle(state, {low.id: {"topic"}, recovered.id: {"acme/slack:acme-slack"}})
    assert settled.told == {Family.BALANCE: frozenset({"topic"})}, "CHECK RECOVERED's incident is not open"


def test_a_notice_of_an_incident_not_recorded_records_nothing() -> None:
    """An incident opened by an earlier release: its end goes where the routes say (audience None)."""
    state = leased_to([LOW])
    assert settle(state, {state.outbox[0].id: {"topic"}}).told == {}


def test_the_end_of_an_incident_waits_at_a_receiver_still_owed_a_notice_of_it() -> None:
    failing = Notification(Kind.CHECK_FAILING, "lemlist", Level.OK, failures=3)
    state = leased_to([failing, RECOVERED])
    notice, end = state.outbox
    state = settle(state, {notice.id: {"topic"}})  # the Slack channel still owes the failure

    assert waits(state.outbox, state.outbox[1]) == {"acme/slack:acme-slack"}
    assert waits(state.outbox, state.outbox[0]) == frozenset(), "a notice waits for nothing"
    assert waits(settle(state, [notice.id]).outbox, end) == frozenset()


def test_a_notice_given_up_takes_its_receivers_off_the_end_of_its_incident() -> None:
    failing = Notification(Kind.CHECK_FAILING, "lemlist", Level.OK, failures=3)
    state = leased_to([failing, RECOVERED])
    notice, _ = state.outbox
    state = settle(state, {notice.id: {"topic"}})
    for attempt in range(MAX_ATTEMPTS):
        state, given_up = refused(
            state, {notice.id: {"acme/slack:acme-slack"}}, T0 + timedelta(hours=attempt)
        )

    assert [p.note.kind for p in given_up] == [Kind.CHECK_FAILING]
    [end] = state.outbox
    assert end.owed == {"topic"}
    assert end.note.skip == {"acme/slack:acme-slack"}


def test_an_end_left_owing_nobody_leaves_and_the_notifications_after_it_stay() -> None:
    """The failure no receiver ever took is given up: its end, owed to the same receivers, has nobody
    left to tell and leaves too; the LOW pending after it is another matter and stays, in order."""
    failing = Notification(Kind.CHECK_FAILING, "lemlist", Level.OK, failures=3)
    state = leased_to([failing, RECOVERED, LOW])
    notice = state.outbox[0]
    for attempt in range(MAX_ATTEMPTS):
        state, given_up = refused(state, {notice.id}, T0 + timedelta(hours=attempt))

    assert [p.note.kind for p in given_up] == [Kind.CHECK_FAILING]
    assert [p.note for p in state.outbox] == [LOW]
    assert state.outbox[0].owed == TWO
