"""A vendor outage as one alert, through the real handler, moto and the simulators: 200 lemlist
accounts failing together for three runs, then coming back."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from credit_monitor import app
from tests.support.aws import Stack
from tests.support.harness import Invoke, SimClock
from tests.support.simulators import ApiSimulator, Reply
from tests.support.vendors import KeyPlace, Vendor, VendorSimulator

HTTP_JSON_KEYS = {name: f"{name}-key-3f9c2e7b5d1a" for name in ("alpha", "beta", "gamma")}
KEYS = (
    {f"lm-{n:03d}": f"lm-key-{n:03d}-5e1d" for n in range(200)}
    | {"fe-alone": "fe-key-alone-9c2a"}
    | HTTP_JSON_KEYS
)


@pytest.fixture
def secret_string() -> str:
    return json.dumps(KEYS)


@pytest.fixture
def two_hundred_lemlist_accounts(
    function_env: dict[str, str],
    fullenrich_api: ApiSimulator,
    lemlist_api: ApiSimulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """200 lemlist accounts of 20 clients, and one fullenrich account."""
    tables = [
        f'[[account]]\nid = "lm-{n:03d}"\nprovider = "lemlist"\nwarning = 100\n'
        f'url = "{lemlist_api.base_url}"\n'
        f'labels = {{ client = "client-{n % 20:02d}" }}\n'
        for n in range(200)
    ]
    tables.append(
        f'[[account]]\nid = "fe-alone"\nprovider = "fullenrich"\nwarning = 1000\n'
        f'url = "{fullenrich_api.base_url}"\nlabels = {{ client = "client-00" }}\n'
    )
    path = tmp_path / "accounts.toml"
    path.write_text("\n".join(tables))
    monkeypatch.setenv("ACCOUNTS_FILE", str(path))
    lemlist_api.valid_keys = {key for name, key in KEYS.items() if name.startswith("lm-")}
    fullenrich_api.valid_keys = {KEYS["fe-alone"]}
    app.runtime.cache_clear()


def kinds(stack: Stack) -> list[tuple[str, str]]:
    return [
        (m["MessageAttributes"]["provider"]["Value"], m["MessageAttributes"]["kind"]["Value"])
        for m in stack.inbox.messages()
    ]


def message_from(stack: Stack, provider: str) -> dict[str, Any]:
    return next(m for m in stack.inbox.messages() if m["MessageAttributes"]["provider"]["Value"] == provider)


def test_two_hundred_accounts_failing_together_are_one_check_failing_and_one_check_recovered(
    two_hundred_lemlist_accounts: None,
    invoke: Invoke,
    stack: Stack,
    lemlist_api: ApiSimulator,
    fullenrich_api: ApiSimulator,
) -> None:
    clock = SimClock()
    assert invoke(clock).error is None
    valid = lemlist_api.valid_keys
    lemlist_api.valid_keys = {"lemlist-rejects-every-key"}  # every key rejected at once
    fullenrich_api.valid_keys = {"revoked"}  # and, at the same time, one account failing on its own
    for _ in range(3):
        clock.advance(1)
        run = invoke(clock)
        assert run.check_failed()["lm-000"] == 1

    assert sorted(kinds(stack)) == [("fullenrich", "CHECK FAILING"), ("lemlist", "CHECK FAILING")]
    outage = message_from(stack, "lemlist")
    # Whose side a rejected key is on is not known: it is said as what it is, never "outage".
    assert outage["Subject"] == "[credit-monitor] 200 lemlist accounts: keys rejected (auth)"
    text = outage["Message"]
    assert "200 of the 200 lemlist accounts could not be checked: lemlist rejected their keys." in text
    assert "  Accounts:      200 of the 200 lemlist accounts watched" in text
    assert "  Cause:         auth: HTTP 401, key rejected" in text
    assert "  Failing since: Mon 02 Nov 2026 10:00 UTC" in text  # the first of the three failed runs
    assert "  - Dashboard: https://" in text
    assert len(outage["MessageAttributes"]["notification_id"]["Value"].split(",")) == 200
    alone = message_from(stack, "fullenrich")
    assert alone["MessageAttributes"]["account"]["Value"] == "fe-alone"  # reported on its own, as before

    lemlist_api.valid_keys = valid
    for _ in range(2):
        clock.advance(1)
        assert invoke(clock).error is None

    lemlist_messages = [k for p, k in kinds(stack) if p == "lemlist"]
    assert lemlist_messages == ["CHECK FAILING", "CHECK RECOVERED"]
    recovered = stack.inbox.messages()[-1]
    assert recovered["Subject"] == "[credit-monitor] 200 lemlist accounts: checks working again"


def test_a_vendor_down_failing_several_ways_at_once_is_still_one_check_failing(
    two_hundred_lemlist_accounts: None,
    invoke: Invoke,
    stack: Stack,
    lemlist_api: ApiSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A vendor that is down answers 503 to some requests and an error page to others: the
    accounts fail with different kinds (http, bad_response), and 20 clients' labels differ. One
    message, naming each kind, not one per client."""
    # Each 503 is retried with backoff: the default 6 s deadline of the local world let a loaded
    # machine (two suites side by side) time 2 of the 200 out, which changes the causes counted.
    monkeypatch.setenv("CHECK_DEADLINE_SECONDS", "12")
    app.runtime.cache_clear()
    clock = SimClock()
    assert invoke(clock).error is None
    healthy = lemlist_api.answer

    def down(method: str, path: str, headers: dict[str, str]) -> Reply:
        password = base64.b64decode(headers.get("authorization", "")[6:]).decode().partition(":")[2]
        if int(password.split("-")[2]) % 2:
            return Reply(200, "<html>Bad gateway</html>", {"Content-Type": "text/html"})
        return Reply(503, "Service Unavailable", {"Content-Type": "text/plain"})

    monkeypatch.setattr(lemlist_api, "answer", down)
    for _ in range(3):
        clock.advance(1)
        invoke(clock)

    assert kinds(stack) == [("lemlist", "CHECK FAILING")]
    outage = stack.inbox.messages()[0]
    assert outage["Subject"] == "[credit-monitor] lemlist outage: 200 accounts failing (several causes)"
    assert "  Cause:         bad_response (100), http (100)" in outage["Message"].splitlines()

    monkeypatch.setattr(lemlist_api, "answer", healthy)
    clock.advance(1)
    assert invoke(clock).error is None
    assert kinds(stack) == [("lemlist", "CHECK FAILING"), ("lemlist", "CHECK RECOVERED")]


BALANCE_API = Vendor(
    name="balance-api",
    base_path="",
    path="/v1/balance",
    key=KeyPlace("header", "X-Api-Key"),
    success=lambda balance: {"data": {"credits": balance}},
    bad_key=Reply(401, {"message": "invalid API key"}),
    missing_key=Reply(401, {"message": "no API key"}),
)


@pytest.fixture
def three_apis(
    accounts_file: Callable[[str], Path], server_cert: trustme.LeafCert
) -> Iterator[dict[str, VendorSimulator]]:
    """Three unrelated JSON APIs, each declared with http-json, its own name and billing page."""
    apis = {
        name: VendorSimulator(BALANCE_API, server_cert, key).start() for name, key in HTTP_JSON_KEYS.items()
    }
    accounts_file(
        "".join(
            f'[[account]]\nid = "{name}"\nprovider = "http-json"\nurl = "{api.url}"\n'
            f'auth = {{ kind = "header", name = "X-Api-Key" }}\nbalance = "data.credits"\n'
            f'display_name = "{name.title()}"\ntop_up_url = "https://{name}.example/billing"\n'
            "warning = 100\n\n"
            for name, api in apis.items()
        )
    )
    yield apis
    for api in apis.values():
        api.stop()


def test_unrelated_http_json_apis_are_each_their_own_vendor(
    three_apis: dict[str, VendorSimulator], invoke: Invoke, stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Alpha answers 503, Beta's reply lacks its field, Gamma is fine: two messages, each about its
    own API, never "Alpha outage" with Beta inside; a filter policy tells them apart by `provider`.
    When both are low, each reader is sent to its own billing page."""
    clock = SimClock()
    assert invoke(clock).error is None
    healthy = three_apis["alpha"].answer
    monkeypatch.setattr(
        three_apis["alpha"], "answer", lambda request: Reply(503, "down", {"Retry-After": "0"})
    )
    three_apis["beta"].then(*[Reply(200, {"data": {}})] * 3)
    for _ in range(3):
        clock.advance(1)
        invoke(clock)

    failing = {m["MessageAttributes"]["provider"]["Value"]: m for m in stack.inbox.messages()}
    assert sorted(failing) == ["alpha", "beta"]
    for name, other in (("alpha", "Beta"), ("beta", "Alpha")):
        message = failing[name]
        assert message["MessageAttributes"]["kind"]["Value"] == "CHECK FAILING"
        assert message["MessageAttributes"]["account"]["Value"] == name
        assert name.title() in message["Subject"]
        assert other not in message["Message"]
        assert "outage" not in message["Subject"]

    monkeypatch.setattr(three_apis["alpha"], "answer", healthy)
    for api in three_apis.values():
        api.balance = 10
    before = len(stack.inbox.messages())
    clock.advance(1)
    invoke(clock)

    low = [m for m in stack.inbox.messages()[before:] if m["MessageAttributes"]["kind"]["Value"] == "LOW"]
    assert sorted(m["MessageAttributes"]["provider"]["Value"] for m in low) == ["alpha", "beta", "gamma"]
    for message in low:
        name = message["MessageAttributes"]["provider"]["Value"]
        links = set(re.findall(r"https://\w+\.example/billing", message["Message"]))
        assert links == {f"https://{name}.example/billing"}, message["Message"]


TEAM_KEY = "lm-acme-team-key-4c7e1b9d"
OWN_KEY = "lm-own-key-8a2f6c3e5b1d"


@pytest.mark.parametrize(
    ("secret", "valid", "said"),
    [
        (
            {"lm-own": OWN_KEY},
            {OWN_KEY},
            "3 lemlist accounts: shared key entry 'acme-team' missing or unusable (secret)",
        ),
        (
            {"acme-team": TEAM_KEY, "lm-own": OWN_KEY},
            {OWN_KEY},
            "3 lemlist accounts: their shared key was rejected (auth)",
        ),
        ({}, {OWN_KEY}, "4 lemlist accounts: no usable key in the secret (secret)"),
    ],
    ids=["shared-entry-missing", "shared-key-revoked", "empty-secret"],
)
def test_our_own_key_or_secret_problem_is_one_message_that_says_so_never_a_vendor_outage(
    accounts_file: Callable[[str], Path],
    lemlist_api: ApiSimulator,
    invoke: Invoke,
    stack: Stack,
    secret: dict[str, str],
    valid: set[str],
    said: str,
) -> None:
    """Three lemlist accounts name the key entry "acme-team", a fourth has its own. The vendor is up
    throughout; our secret is at fault. One CHECK FAILING, which says what is wrong."""
    accounts_file(
        "".join(
            f'[[account]]\nid = "{name}"\nprovider = "lemlist"\nwarning = 100\n'
            f'url = "{lemlist_api.base_url}"\n'
            + ('key = "acme-team"\n' if name.startswith("team") else "")
            + f'labels = {{ client = "{name}" }}\n\n'
            for name in ("team-a", "team-b", "team-c", "lm-own")
        )
    )
    stack.secrets.put_secret_value(SecretId=stack.secret_id, SecretString=json.dumps(secret))
    lemlist_api.valid_keys = valid
    clock = SimClock()
    for _ in range(3):
        invoke(clock)
        clock.advance(1)

    [message] = stack.inbox.messages()
    assert message["MessageAttributes"]["kind"]["Value"] == "CHECK FAILING"
    assert message["Subject"] == f"[credit-monitor] {said}"
    assert "outage" not in message["Subject"]
    assert "looks down" not in message["Message"]
    assert "status page" not in message["Message"]
    assert 'add "team-a"' not in message["Message"], "a shared entry's hint names the entry"


def test_an_account_a_failure_ahead_of_an_outage_is_reported_with_it_not_alone(
    accounts_file: Callable[[str], Path],
    lemlist_api: ApiSimulator,
    invoke: Invoke,
    stack: Stack,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """lm-000's check failed once the run before lemlist went down: it reaches CHECK FAILING a run
    before the others. It waits for them, and the outage is one message naming all four."""
    accounts_file(
        "".join(
            f'[[account]]\nid = "lm-{n:03d}"\nprovider = "lemlist"\nwarning = 100\n'
            f'url = "{lemlist_api.base_url}"\nlabels = {{ client = "client-{n}" }}\n\n'
            for n in range(4)
        )
    )
    lemlist_api.valid_keys = {key for name, key in KEYS.items() if name.startswith("lm-")}
    healthy = lemlist_api.answer
    unavailable = Reply(503, "Service Unavailable", {"Content-Type": "text/plain", "Retry-After": "0"})

    def down_for(keys: set[str]) -> None:
        def answer(method: str, path: str, headers: dict[str, str]) -> Reply:
            password = base64.b64decode(headers.get("authorization", "")[6:]).decode().partition(":")[2]
            return unavailable if password in keys else healthy(method, path, headers)

        monkeypatch.setattr(lemlist_api, "answer", answer)

    clock = SimClock()
    down_for({KEYS["lm-000"]})  # a flaky check, the day before
    invoke(clock)
    down_for(set(lemlist_api.valid_keys))  # then lemlist is down
    for _ in range(3):
        clock.advance(1)
        invoke(clock)

    [outage] = stack.inbox.messages()
    assert outage["Subject"] == "[credit-monitor] lemlist outage: 4 accounts failing (http)"
    assert len(outage["MessageAttributes"]["notification_id"]["Value"].split(",")) == 4
