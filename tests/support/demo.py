"""`make demo`: the real Lambda handler, end to end, on this machine, with no AWS account.

FullEnrich and lemlist are loopback HTTPS simulators (a throwaway CA, trusted through
SSL_CERT_FILE as a private CA would be); Secrets Manager, SNS and SQS are moto server,
reached through AWS_ENDPOINT_URL exactly as the function reaches AWS.
"""

from __future__ import annotations

import json
import textwrap

from tests.support.harness import Invocation, invoke_handler
from tests.support.simulators import Reply
from tests.support.world import local_world

FULLENRICH_KEY = "demo-fullenrich-key-0f3a9c"
LEMLIST_KEY = "demo-lemlist-key-7b21e4"


def heading(text: str) -> None:
    print(f"\n=== {text} " + "=" * max(0, 74 - len(text)))


def show(run: Invocation) -> None:
    print("Metrics (CloudWatch EMF, namespace CreditMonitor, dimension Provider):")
    balances, failures = run.metric("CreditsRemaining"), run.metric("CheckFailed")
    for provider in ("fullenrich", "lemlist"):
        balance = balances.get(provider)
        shown = f"{balance:,.0f}" if balance is not None else "(none: a failed check emits no balance)"
        print(f"  {provider:<11} CreditsRemaining={shown:<10}  CheckFailed={failures[provider]:.0f}")
    print("Summary log line:")
    for provider, entry in run.summary().items():
        detail = (
            entry.get("reason") or f"balance {entry['balance']:,.0f}, threshold {entry['threshold']:,.0f}"
        )
        print(f"  {provider:<11} {entry['status']:<7} {detail}")
    if run.error is not None:
        print(f"Invocation failed: {run.error}")


def main() -> int:
    with local_world(FULLENRICH_KEY, LEMLIST_KEY, fullenrich_balance=5000, lemlist_balance=42) as world:
        fullenrich, lemlist, stack = world.fullenrich, world.lemlist, world.stack
        heading("1. Scheduled run: FullEnrich 5,000 (threshold 1,000), lemlist 42 (threshold 100)")
        first = invoke_handler()
        show(first)
        print("Alerts delivered to the SNS topic (read back from a subscribed SQS queue):")
        for message in stack.inbox.messages():
            print(f"  Subject: {message['Subject']}")
            print(f"  Attribute provider={message['MessageAttributes']['provider']['Value']}")
            print(textwrap.indent(message["Message"], "  | ", predicate=lambda _: True))
        print("One raw EMF line as CloudWatch Logs receives it (it becomes the metric, no API call):")
        print("  " + json.dumps(first.emf[1], separators=(",", ":")))

        heading("2. Next run: FullEnrich stops answering, lemlist rate-limits once (Retry-After: 1)")
        fullenrich.then(*[Reply(action="hang")] * 3)
        lemlist.then(Reply(429, "Too many requests", {"Retry-After": "1", "Content-Type": "text/plain"}))
        second = invoke_handler()
        show(second)
        print(
            f"  lemlist answered on attempt {len(lemlist.credit_requests) - 1} of this run (429, then 200)."
        )
        print("  FullEnrich's failure is a metric and a log line; lemlist was still checked and reported.")
        print(f"  Alerts sent this run: {second.result['alerts_sent'] if second.result else second.error}")

        heading("Checks")
        outputs = first.output + second.output + json.dumps(stack.inbox.messages())
        leaked = [
            name for name, key in (("FullEnrich", FULLENRICH_KEY), ("lemlist", LEMLIST_KEY)) if key in outputs
        ]
        print("  API keys in logs, metrics or alerts: " + (f"LEAKED {leaked}" if leaked else "none"))
        return 1 if leaked else 0


if __name__ == "__main__":
    raise SystemExit(main())
