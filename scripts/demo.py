"""`make demo`: the real Lambda handler, end to end, on this machine, with no AWS account.

FullEnrich and lemlist are loopback HTTPS simulators (a throwaway CA, trusted through
SSL_CERT_FILE as a private CA would be); Secrets Manager, SNS and SQS are moto server,
reached through AWS_ENDPOINT_URL exactly as the function reaches AWS. The routes' receivers (two
Slack channels, PagerDuty's Events API) are loopback HTTPS simulators too, their URLs and routing
key in the secret as a user stores them.
"""

from __future__ import annotations

import json
import textwrap
import urllib.parse
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from tests.support.aws import Stack, request_body
from tests.support.harness import Invocation, SimClock, captured_output, invoke_handler
from tests.support.simulators import Reply
from tests.support.world import LocalWorld, local_world, seed_history

from credit_monitor import app
from credit_monitor.budget import Budget
from credit_monitor.config import LAMBDA_TIMEOUT_SECONDS

FULLENRICH_KEY = "demo-fullenrich-key-0f3a9c"
LEMLIST_KEY = "demo-lemlist-key-7b21e4"


def heading(text: str) -> None:
    print(f"\n=== {text} " + "=" * max(0, 74 - len(text)))


def show(run: Invocation) -> None:
    print("Metrics (CloudWatch EMF, namespace CreditMonitor): per account, dimension Account:")
    balances = run.metric("CreditsRemaining")
    for provider in ("fullenrich", "lemlist"):
        balance = balances.get(provider)
        shown = f"{balance:,.0f}" if balance is not None else "(none: a failed check emits no balance)"
        print(f"  {provider:<11} CreditsRemaining={shown}")
    totals = ("AccountsChecked", "AccountsFailing", "AccountsLow", "AccountsCritical", "NotificationsPending")
    shown_totals = [f"{name}={run.aggregate(name):.0f}" for name in totals if run.aggregate(name) is not None]
    print("  and for the whole run, no dimensions: " + "  ".join(shown_totals))
    print("Summary log line:")
    for provider, entry in run.summary().items():
        detail = (
            entry.get("reason") or f"balance {entry['balance']:,.0f}, threshold {entry['threshold']:,.0f}"
        )
        print(f"  {provider:<11} {entry['status']:<7} {detail}")
    if run.error is not None:
        print(f"Invocation failed: {run.error}")


def show_notifications(stack: Stack, already: int) -> int:
    messages = stack.inbox.messages()
    if len(messages) == already:
        print("Notifications: none (nothing changed since the last one)")
    for message in messages[already:]:
        attributes = {k: v["Value"] for k, v in message["MessageAttributes"].items()}
        print(f"Notification ({attributes['kind']}, level {attributes['level']}), e-mail body:")
        print(f"  Subject: {message['Subject']}")
        print(textwrap.indent(message["Message"], "  | ", predicate=lambda _: True))
    return len(messages)


def main() -> int:
    with local_world(FULLENRICH_KEY, LEMLIST_KEY, fullenrich_balance=5000, lemlist_balance=42) as world:
        fullenrich, lemlist, stack = world.fullenrich, world.lemlist, world.stack
        clock = SimClock()
        heading("1. Scheduled run: FullEnrich 5,000 (threshold 1,000), lemlist 42 (threshold 100)")
        first = invoke_handler(clock=clock)
        show(first)
        seen = show_notifications(stack, 0)
        print("Raw EMF lines as CloudWatch Logs receives them (they become the metrics, no API call):")
        for document in first.emf[:2]:
            print("  " + json.dumps(document, separators=(",", ":")))

        heading("2. An hour later: FullEnrich stops answering, lemlist rate-limits once (Retry-After: 1)")
        clock.advance(1)
        fullenrich.then(*[Reply(action="hang")] * 4)  # every retry hangs too
        lemlist.then(Reply(429, "Too many requests", {"Retry-After": "1", "Content-Type": "text/plain"}))
        second = invoke_handler(clock=clock)
        show(second)
        print(
            "  FullEnrich's failure counts in AccountsFailing and is a log line; lemlist was still checked."
        )
        print("  One failed check is not news: CHECK FAILING is sent after 3 in a row.")
        seen = show_notifications(stack, seen)

        heading("3. A day later, lemlist still low: one reminder (REMINDER_HOURS=24)")
        clock.advance(24)
        show(invoke_handler(clock=clock))
        seen = show_notifications(stack, seen)

        heading("4. Someone tops lemlist up to 5,000: recovered")
        clock.advance(1)
        lemlist.balance = 5000
        show(invoke_handler(clock=clock))
        seen = show_notifications(stack, seen)

        heading("Checks")
        outputs = first.output + second.output + json.dumps(stack.inbox.messages())
        leaked = [
            name for name, key in (("FullEnrich", FULLENRICH_KEY), ("lemlist", LEMLIST_KEY)) if key in outputs
        ]
        print("  API keys in logs, metrics or notifications: " + (f"LEAKED {leaked}" if leaked else "none"))
        print(f"  Notifications over 26 simulated hours and 4 runs: {seen} (LOW, REMINDER, RECOVERED)")
        if leaked or seen != 3:
            return 1
    return grouped()


def show_chat_cards(recorded: list[dict[str, Any]]) -> None:
    """The chat card of each publish, as Amazon Q Developer in chat applications receives it (the
    `https` body of the message; the inbox above gets the e-mail text)."""
    for entry in recorded:
        fields = urllib.parse.parse_qs(request_body(entry))
        if fields.get("Action") != ["Publish"]:
            continue
        card = json.loads(json.loads(fields["Message"][0])["https"])
        print("The same notification, as the chat card:")
        shown = json.dumps(card, indent=2, ensure_ascii=False)
        print(textwrap.indent(shown, "  | ", predicate=lambda _: True))


def grouped() -> int:
    """Many accounts: one message per incident."""
    with local_world(FULLENRICH_KEY, LEMLIST_KEY, 5000, 5000, accounts=12, clients=2, critical=20) as world:
        lemlist, stack = world.lemlist, world.stack
        clock = SimClock()
        heading("5. Twelve accounts: six lemlist of client-00, six FullEnrich of client-01")
        invoke_handler(clock=clock)
        seen = show_notifications(stack, 0)

        heading("6. The six lemlist accounts fall to 42 in the same run: one grouped LOW")
        clock.advance(1)
        lemlist.balance = 42
        with world.moto.recording() as published:
            invoke_handler(clock=clock)
        seen = show_notifications(stack, seen)
        grouped_low = seen
        show_chat_cards(published)

        heading("7. lemlist is down for three runs (503): one CHECK FAILING for the six")
        down = Reply(503, "Service Unavailable", {"Retry-After": "0", "Content-Type": "text/plain"})
        lemlist.answer = lambda method, path, headers: down  # type: ignore[method-assign]
        for _ in range(3):
            clock.advance(1)
            invoke_handler(clock=clock)
        seen = show_notifications(stack, seen)
        outage = seen - grouped_low

        heading("8. lemlist answers again: one CHECK RECOVERED")
        del lemlist.answer  # its own answers again
        clock.advance(1)
        invoke_handler(clock=clock)
        seen = show_notifications(stack, seen)
        print(f"  Notifications for 6 accounts over a LOW, a 3-run outage and its recovery: {seen}")

        heading("9. lemlist falls to 12, under the critical level of 20: one grouped CRITICAL")
        clock.advance(1)
        lemlist.balance = 12
        with world.moto.recording() as published:
            invoke_handler(clock=clock)
        critical = show_notifications(stack, seen) - seen
        seen += critical
        show_chat_cards(published)

        heading("10. The weekly digest (DigestSchedule), invoked twice in its week: delivered once")
        runtime = replace(app.runtime(), clock=clock)
        with captured_output():
            for _ in range(2):
                app.handle_digest(runtime, Budget.start(LAMBDA_TIMEOUT_SECONDS, 6), clock.now)
        digests = show_notifications(stack, seen) - seen
        if (grouped_low, outage, critical, seen, digests) != (1, 1, 1, 4, 1):
            return 1
    return quiet_month_then_a_burn() or monthly_plans() or two_clients()


def quiet_month_then_a_burn() -> int:
    """An account that sat still for a month, then an automation that empties it in 20 hours."""
    with local_world(FULLENRICH_KEY, LEMLIST_KEY, fullenrich_balance=20_000, lemlist_balance=5000) as world:
        stack, fullenrich = world.stack, world.fullenrich
        clock = SimClock()
        for account, balance in (("fullenrich", 20_000), ("lemlist", 5000)):
            seed_history(stack, account, balance, 29, clock.now)
        heading("11. FullEnrich sat at 20,000 for 29 days; now something uses 1,000 credits an hour")
        seen, told = 0, []
        for hour in range(1, 5):
            fullenrich.balance -= 1000
            run = invoke_handler(clock=clock)
            runway = fullenrich.balance / 1000 / 24
            soonest = run.aggregate("MinDaysUntilEmpty")
            shown = "none yet" if soonest is None else f"{soonest:.2f} days"
            print(f"After {hour} h of the burn: MinDaysUntilEmpty {shown}, the true runway {runway:.2f} days")
            messages = stack.inbox.messages()[seen:]
            told += [m["MessageAttributes"]["kind"]["Value"] for m in messages]
            seen = show_notifications(stack, seen)
            clock.advance(1)
        print(f"  Sent: {', '.join(told)} (one message for the spike; RUNNING OUT once the burn lasts)")
        return 0 if told == ["SPENDING FAST", "RUNNING OUT"] else 1


MONTHLY_PLANS = """
[[account]]
id = "steady-plan"
provider = "lemlist"
url = "{lemlist}"
warning = 500
renewal = { every = "month", day = 1 }

[[account]]
id = "busy-plan"
provider = "lemlist"
url = "{lemlist}"
warning = 500
renewal = { every = "month", day = 1 }
"""


def monthly_plans() -> int:
    """Two 5,000-credit monthly plans renewed on the 1st: one lasts the month, one runs dry on the 21st."""
    plans = {"steady-plan": 160, "busy-plan": 250}
    with local_world(FULLENRICH_KEY, LEMLIST_KEY, 5000, 5000, accounts_file=MONTHLY_PLANS) as world:
        stack, lemlist = world.stack, world.lemlist
        clock = SimClock(datetime(2026, 11, 1, 9, tzinfo=UTC))
        heading("12. Two 5,000-credit monthly plans renewed on the 1st, checked daily at 09:00 for a month")
        print("  steady-plan uses 160 a day (it lasts), busy-plan 250 a day (dry on the 21st)")
        used = dict.fromkeys(plans, 0.0)
        sent: list[tuple[str, str, str]] = []
        seen = 0
        for day in range(31):
            for account in plans:
                left = max(0.0, 5000 - used[account]) if clock.now.day != 1 or day == 0 else 5000.0
                lemlist.balances[world.keys[account]] = left
            invoke_handler(clock=clock)
            for message in stack.inbox.messages()[seen:]:
                attributes = {k: v["Value"] for k, v in message["MessageAttributes"].items()}
                sent.append((f"{clock.now:%a %d %b}", attributes.get("account", "?"), attributes["kind"]))
                if attributes["kind"] in ("RUNNING OUT", "RECOVERED") or (
                    attributes["kind"] == "REMINDER" and clock.now.day == 30
                ):
                    print(f"Notification ({attributes['kind']}), e-mail body:")
                    print(f"  Subject: {message['Subject']}")
                    print(textwrap.indent(message["Message"], "  | ", predicate=lambda _: True))
            seen = len(stack.inbox.messages())
            for account, per_day in plans.items():
                used[account] += per_day
            clock.advance(24)
        print("Every notification of the month:")
        for when, account, kind in sent:
            print(f"  {when}  {account:<12} {kind}")
        quiet = not any(account == "steady-plan" for _, account, _ in sent)
        print(f"  steady-plan: {'nothing, as it lasts until its renewal' if quiet else 'NOT QUIET'}")
        return 0 if quiet and any(kind == "RUNNING OUT" for _, _, kind in sent) else 1


TWO_CLIENTS = """
[[account]]
id = "acme-lemlist"
provider = "lemlist"
url = "{lemlist}"
warning = 100
labels = { client = "acme" }

[[account]]
id = "acme-fullenrich"
provider = "fullenrich"
url = "{fullenrich}"
warning = 1000
labels = { client = "acme" }

[[account]]
id = "globex-lemlist"
provider = "lemlist"
url = "{lemlist}"
warning = 100
labels = { client = "globex" }

[[account]]
id = "globex-fullenrich"
provider = "fullenrich"
url = "{fullenrich}"
warning = 1000
labels = { client = "globex" }

[[route]]
name = "acme"
match = { client = "acme" }
slack = "acme-slack"
pagerduty = "acme-pagerduty"

[[route]]
name = "globex"
match = { client = "globex" }
slack = "globex-slack"
"""
CLIENTS = {"acme": ("acme-lemlist", "acme-fullenrich"), "globex": ("globex-lemlist", "globex-fullenrich")}


ACME_INCIDENT = "credit-monitor/acme-lemlist/balance"


def only_its_own(payloads: list[dict[str, Any]], client: str) -> bool:
    """The channel's messages name the client's accounts, and none of another client's."""
    text = json.dumps(payloads)
    others = [account for other, ids in CLIENTS.items() if other != client for account in ids]
    return any(account in text for account in CLIENTS[client]) and not any(a in text for a in others)


def leaked(world: LocalWorld, outputs: list[str]) -> bool:
    """Any receiver's secret (what follows the host of a webhook URL, a routing key) in `outputs`,
    or in what any receiver was sent (PagerDuty's events carry their own routing key: not them)."""
    sent = [json.dumps(sim.accepted) for sim in world.receivers.values() if sim.kind != "pagerduty"]
    secrets = [
        value.partition("://")[2].partition("/")[2] or value  # a URL's path, a key whole
        for entry, value in world.secret.items()
        if entry not in world.keys
    ]
    return any(secret in text for secret in secrets for text in [*outputs, *sent])


def show_slack(name: str, payloads: list[dict[str, Any]]) -> None:
    """What a Slack channel shows of each message: its header and its sections."""
    print(f"Slack #{name} received {len(payloads)} message{'s' if len(payloads) != 1 else ''}:")
    for payload in payloads:
        texts = [
            block["text"]["text"] for block in payload["blocks"] if block["type"] in ("header", "section")
        ]
        print(textwrap.indent("\n".join(texts), "  | ", predicate=lambda _: True))


def show_events(events: list[dict[str, Any]]) -> None:
    print("PagerDuty events (Events API v2), as PagerDuty received them:")
    for event in events:
        payload = event.get("payload", {})
        said = f"  severity {payload['severity']:<8} {payload['summary']}" if payload else ""
        print(f"  {event['event_action']:<8} dedup_key {event['dedup_key']}{said}")


def two_clients() -> int:
    """Two clients, each with its route: its own Slack channel, and PagerDuty for one of them."""
    with local_world(FULLENRICH_KEY, LEMLIST_KEY, 5000, 5000, accounts_file=TWO_CLIENTS) as world:
        slack = {client: world.receivers[f"{client}-slack"] for client in CLIENTS}
        pagerduty = world.receivers["acme-pagerduty"]
        clock = SimClock()
        outputs = [invoke_handler(clock=clock).output]
        heading("13. Two clients, each with its route: acme to #acme and PagerDuty, globex to #globex")
        print("  Every account is fine. Now acme-lemlist and globex-lemlist both fall to 42 in the same run.")
        for account in ("acme-lemlist", "globex-lemlist"):
            world.lemlist.balances[world.keys[account]] = 42
        clock.advance(1)
        outputs.append(invoke_handler(clock=clock).output)
        for client in CLIENTS:
            show_slack(client, slack[client].accepted)
        show_events(pagerduty.accepted)
        print(
            "The stack's own topic (AlertEmail) hears both: "
            + "; ".join(m["Subject"] for m in world.stack.inbox.messages())
        )

        heading("14. acme-lemlist is topped up: acme hears it recovered, and PagerDuty resolves the incident")
        world.lemlist.balances[world.keys["acme-lemlist"]] = 5000
        clock.advance(1)
        outputs.append(invoke_handler(clock=clock).output)
        show_slack("acme", slack["acme"].accepted[1:])
        show_events(pagerduty.accepted[1:])
        incidents = pagerduty.open_incidents()
        print(f"Open PagerDuty incidents: {', '.join(incidents) or 'none'}")

        heading("Checks")
        claims = [
            *(
                (f"Slack #{client} names only its own accounts", only_its_own(slack[client].accepted, client))
                for client in CLIENTS
            ),
            (
                "PagerDuty: one incident, triggered then resolved",
                [(e["event_action"], e["dedup_key"]) for e in pagerduty.accepted]
                == [("trigger", ACME_INCIDENT), ("resolve", ACME_INCIDENT)]
                and not incidents,
            ),
            (
                "Webhook URLs and the routing key nowhere in logs, metrics or messages",
                not leaked(world, [*outputs, json.dumps(world.stack.inbox.messages())]),
            ),
        ]
        for claim, holds in claims:
            print(f"  {claim}: {'yes' if holds else 'NO'}")
        return 0 if all(holds for _, holds in claims) else 1


if __name__ == "__main__":
    raise SystemExit(main())
