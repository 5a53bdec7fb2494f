"""The delivery rules every receiver shares, and what a receiver's URL, routing key or signing secret
must look like: each problem said without ever repeating the secret."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from credit_monitor.delivery import (
    MAX_RETRY_AFTER_SECONDS,
    Delivery,
    Outcome,
    entry_problem,
    outcome_of,
    receiver_secrets,
    retry_after_seconds,
    routing_key_problem,
    signing_secret_problem,
    url_problem,
    url_secrets,
)
from credit_monitor.keys import NotAString, Redactor, strip_keys
from credit_monitor.routes import ReceiverKind, ReceiverSpec
from tests.support.notices import message

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TOKEN = "q8Zx3Lm9Pw2Rt7Yv5Nk4Hs6J"
SLACK_URL = f"https://hooks.slack.com/services/T0123ABCD/B0456EFGH/{TOKEN}"
TEAMS_URL = (
    "https://prod-12.westeurope.logic.azure.com:443/workflows/4f1c9a7e2b8d4c06a1e3/triggers/manual/paths/invoke"
    "?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=Zp4Kq7Wm2Xc9Vb3Nr8Ts1Ly6Hd5Fg0Ja"
)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, Outcome.ACCEPTED),
        (202, Outcome.ACCEPTED),
        (204, Outcome.ACCEPTED),
        (299, Outcome.ACCEPTED),
        (300, Outcome.REFUSED),
        (301, Outcome.REFUSED),
        (400, Outcome.REFUSED),
        (403, Outcome.REFUSED),
        (404, Outcome.REFUSED),
        (408, Outcome.RETRY_LATER),
        (410, Outcome.REFUSED),
        (413, Outcome.REFUSED),
        (429, Outcome.RETRY_LATER),
        (500, Outcome.RETRY_LATER),
        (503, Outcome.RETRY_LATER),
        (599, Outcome.RETRY_LATER),
    ],
)
def test_one_rule_of_status_for_every_receiver(status: int, outcome: Outcome) -> None:
    assert outcome_of(status) is outcome


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("30", 30.0),
        (" 1 ", 1.0),
        ("0", 0.0),
        ("Mon, 02 Mar 2026 09:02:00 GMT", 120.0),
        ("Mon, 02 Mar 2026 08:00:00 GMT", 0.0),  # already past: no wait
        ("9" * 5000, float(MAX_RETRY_AFTER_SECONDS)),
        ("86401", float(MAX_RETRY_AFTER_SECONDS)),
        ("86399", 86399.0),
        ("0000000030", 30.0),  # 1*DIGIT (RFC 9110): leading zeros are still 30 seconds
        ("0" * 5000, 0.0),
        ("\u00b2", None),  # a digit to str.isdigit, no number to int(): a hostile header is unreadable
        ("\u0663", None),  # an Arabic-Indic three: a delay is ASCII digits
        ("soon", None),
        ("-5", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_is_read_as_seconds_or_a_date_and_bounded(
    header: str | None, seconds: float | None
) -> None:
    assert retry_after_seconds(header, NOW) == seconds


def test_an_accepted_delivery_settles_every_notification_of_its_message() -> None:
    group = message(accounts=3)

    delivery = Delivery.accepted_all(group, "accepted (HTTP 200)", ack="ok")

    assert delivery.ok
    assert (delivery.detail, delivery.ack) == ("accepted (HTTP 200)", "ok")
    assert delivery.accepted == ("run-7-acme-001-1", "run-7-acme-002-1", "run-7-acme-003-1")


@pytest.mark.parametrize("url", [SLACK_URL, TEAMS_URL, "https://proxy.internal.example:8443/slack/acme"])
def test_any_https_url_is_accepted(url: str) -> None:
    assert url_problem(url) is None


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        (SLACK_URL.replace("https://", "http://"), "is an http:// URL; only https:// is accepted"),
        ("HTTP://hooks.slack.com/services/x", "is an http:// URL"),
        ("file:///etc/passwd", "is not an https:// URL"),
        ("ftp://hooks.example.com/x", "is not an https:// URL"),
        (TOKEN, "is not an https:// URL"),
        ("https:///no-host", "is not an https:// URL"),
        (f"https://user:{TOKEN}@hooks.example.com/x", "has credentials before the host"),
        (f"https://{TOKEN}@hooks.example.com/x", "has credentials before the host"),
        (SLACK_URL + "#x", "has a #fragment"),
        (SLACK_URL + "\n", "is not a URL: it has spaces, line breaks"),
        (SLACK_URL.replace("/services", " /services"), "is not a URL"),
        (SLACK_URL.replace("hooks", "h\u00f6oks"), "non-ASCII"),
        ("https://hooks.slack.com:99999/x", "is not a valid URL"),
        ("https://[::1/x", "is not a valid URL"),
        ("https://hooks.example.com/" + "a" * 3000, "longer than 2048"),
    ],
)
def test_a_hostile_or_mistaken_url_is_refused_without_repeating_it(url: str, problem: str) -> None:
    found = url_problem(url)

    assert found is not None
    assert problem in found
    assert TOKEN[:8] not in found
    assert "hooks" not in found


def test_what_to_redact_of_a_url_is_everything_after_its_host() -> None:
    assert url_secrets(SLACK_URL) == (f"/services/T0123ABCD/B0456EFGH/{TOKEN}",)
    path, decoded = url_secrets(TEAMS_URL)
    assert decoded == path.replace("%2F", "/")
    assert url_secrets("https://hooks.example.com/x") == ()  # nothing long enough to be a secret
    assert url_secrets("https://hooks.example.com/1234567") == ("/1234567",)  # as long as a key fragment

    redactor = Redactor(url_secrets(TEAMS_URL))
    said = f"POST {TEAMS_URL} failed; sig={TEAMS_URL.rsplit('sig=', 1)[1]}"
    assert "Zp4Kq7Wm" not in redactor.redact(said)
    assert "prod-12.westeurope.logic.azure.com" in redactor.redact(said)  # the host stays readable


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("0123456789abcdef0123456789abcdef", None),
        ("R0123456789abcdefABCDEF012345678", None),
        ("0123456789abcdef", "is not a PagerDuty routing key (32 letters and digits"),
        ("0123456789abcdef0123456789abcdef0", "is not a PagerDuty routing key"),
        ("https://events.pagerduty.com/v2/", "is not a PagerDuty routing key"),
        ("<your-routing-key>", "is a placeholder"),
        ("x" * 32, "is a placeholder"),
    ],
)
def test_a_routing_key_is_the_32_characters_pagerduty_issues(key: str, problem: str | None) -> None:
    found = routing_key_problem(key)

    assert found == problem if problem is None else (found is not None and problem in found)
    assert found is None or key[:8] not in found


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        ("9f2c4e6a8b0d1f3e5a7c9e1b3d5f7a9c", None),
        ("9f2c4e6a8b0d1f3e", None),  # 16 characters: long enough
        ("short-secret", "is shorter than 16 characters"),
        ("changeme", "is a placeholder"),
        ("9f2c4e6a8b0d 1f3e5a7c9e1b3d5f7a9c", "has spaces, line breaks"),
    ],
)
def test_a_signing_secret_is_long_enough_to_be_one(secret: str, problem: str | None) -> None:
    found = signing_secret_problem(secret)

    assert found == problem if problem is None else (found is not None and problem in found)


SLACK = ReceiverSpec(ReceiverKind.SLACK, "acme-slack")
PAGERDUTY = ReceiverSpec(ReceiverKind.PAGERDUTY, "acme-pd")
HOOK = ReceiverSpec(ReceiverKind.WEBHOOK, "acme-hook", signing="acme-hook-signing")
ROUTING_KEY = "R0123456789abcdefABCDEF012345678"
SIGNING_SECRET = "9f2c4e6a8b0d1f3e5a7c9e1b3d5f7a9c"
MISSING = "is missing; add it to the API-keys secret, holding "
NOT_TEXT = "must be a JSON string holding the Slack incoming-webhook URL, got "


@pytest.mark.parametrize(
    ("spec", "entry", "stored", "problem"),
    [
        (SLACK, "acme-slack", f"  {SLACK_URL}\n", None),  # stripped, as the function reads the secret
        (SLACK, "acme-slack", None, MISSING + "the Slack incoming-webhook URL"),
        (SLACK, "acme-slack", " ", MISSING),
        (SLACK, "acme-slack", 42, NOT_TEXT + "a number"),
        (SLACK, "acme-slack", ["x"], NOT_TEXT + "an array"),
        (SLACK, "acme-slack", SLACK_URL.replace("https", "http"), "is an http:// URL; only https://"),
        (SLACK, "acme-slack", ROUTING_KEY, "is not an https:// URL"),
        (PAGERDUTY, "acme-pd", ROUTING_KEY, None),
        (PAGERDUTY, "acme-pd", SLACK_URL, "is not a PagerDuty routing key"),
        (HOOK, "acme-hook", SLACK_URL, None),
        (HOOK, "acme-hook-signing", SIGNING_SECRET, None),
        (HOOK, "acme-hook-signing", SLACK_URL, None),  # printable and long: a secret like any other
        (HOOK, "acme-hook-signing", "short-secret", "is shorter than 16 characters"),
        (HOOK, "acme-hook-signing", None, MISSING + "the webhook's signing secret"),
    ],
)  # fmt: skip
def test_a_receivers_entry_is_judged_by_what_it_holds_as_the_function_reads_the_secret(
    spec: ReceiverSpec, entry: str, stored: object, problem: str | None
) -> None:
    secrets = strip_keys({} if stored is None else {entry: stored})

    found = entry_problem(spec, entry, secrets)

    assert found == problem if problem is None else (found is not None and found.startswith(problem))
    assert found is None or (TOKEN not in found and ROUTING_KEY not in found and "hooks." not in found)
    if isinstance(secrets.get(entry), NotAString):
        assert "42" not in (found or "")


AGAIN = "store the URL exactly as the service gave it"
RANDOM = "store a random one, e.g. from `openssl rand -hex 32`"


@pytest.mark.parametrize(
    ("problem_of", "value", "said"),
    [
        (url_problem, "https://hooks.slack.com:99999/x", "is not a valid URL (check the host and the port)"),
        (
            url_problem,
            f"https://user:{TOKEN}@hooks.example.com/x",
            "has credentials before the host (user:password@); store only the URL the service gave",
        ),
        (url_problem, SLACK_URL + "#x", f"has a #fragment, which is never sent; {AGAIN}"),
        (
            routing_key_problem,
            "0123456789abcdef",
            "is not a PagerDuty routing key (32 letters and digits: the Integration Key of an Events API v2"
            " integration)",
        ),
        (
            signing_secret_problem,
            "9f2c4e6a8b0d 1f3e5a7c9e1b3d5f7a9c",
            "has spaces, line breaks or non-ASCII characters; store printable ASCII, e.g. 64 hex digits",
        ),
        (signing_secret_problem, "changeme", f"is a placeholder, not a secret; {RANDOM}"),
        (
            signing_secret_problem,
            "short-secret",
            f"is shorter than 16 characters, too easy to guess; {RANDOM}",
        ),
    ],
)
def test_each_problem_says_what_to_store_instead(
    problem_of: Callable[[str], str | None], value: str, said: str
) -> None:
    """What `validate`, `keys check` and the run's log tell the person fixing the entry, word for word."""
    assert problem_of(value) == said


def test_what_a_receiver_reads_of_the_secret_is_what_to_redact_near_it() -> None:
    """Its URL's path and query, its routing key, its signing secret; nothing of a missing entry, of
    one that is not a string, or of another receiver's."""
    secrets = strip_keys(
        {
            "acme-slack": SLACK_URL,
            "acme-pd": ROUTING_KEY,
            "acme-hook": TEAMS_URL,
            "acme-hook-signing": SIGNING_SECRET,
            "other-slack": SLACK_URL.replace(TOKEN, "A" * 24),
            "broken-slack": 42,
        }
    )

    assert receiver_secrets(SLACK, secrets) == (f"/services/T0123ABCD/B0456EFGH/{TOKEN}",)
    assert receiver_secrets(PAGERDUTY, secrets) == (ROUTING_KEY,)
    assert receiver_secrets(HOOK, secrets) == (*url_secrets(TEAMS_URL), SIGNING_SECRET)
    assert receiver_secrets(ReceiverSpec(ReceiverKind.SLACK, "missing-slack"), secrets) == ()
    unsigned = ReceiverSpec(ReceiverKind.WEBHOOK, "missing-hook", signing="acme-hook-signing")
    assert receiver_secrets(unsigned, secrets) == (SIGNING_SECRET,)  # its URL missing, its secret is not
    assert receiver_secrets(ReceiverSpec(ReceiverKind.SLACK, "broken-slack"), secrets) == ()
    topic = ReceiverSpec(ReceiverKind.TOPIC, "arn:aws:sns:eu-west-1:123456789012:acme")
    assert receiver_secrets(topic, {topic.target: SLACK_URL}) == ()  # a topic's ARN is no secret entry
