"""Keys as people paste them (issue #7): surrounding whitespace is stripped; a stray character
inside fails that provider's check alone, before anything is sent; and no form of a key (raw,
escaped, URL-encoded, an HTTP Basic token) ever reaches a log line, the summary or a notification.
The `invoke` fixture checks every form of every test key after each invocation.
"""

from __future__ import annotations

import json

import pytest

from credit_monitor.providers import lemlist
from tests.support.aws import Stack
from tests.support.harness import Invoke
from tests.support.keys import (
    FULLENRICH_KEY,
    KEY_WITH_CONTROL_CHARACTER,
    KEY_WITH_LINE_BREAK,
    KEY_WITH_NON_ASCII,
    LEMLIST_KEY,
)
from tests.support.simulators import ApiSimulator, Reply


@pytest.mark.parametrize(
    "secret_string",
    [
        json.dumps({"fullenrich": FULLENRICH_KEY + "\n", "lemlist": LEMLIST_KEY + "\r\n"}),
        json.dumps({"fullenrich": "  " + FULLENRICH_KEY + " ", "lemlist": "\t" + LEMLIST_KEY + "  "}),
    ],
    ids=["trailing-line-break", "surrounding-spaces"],
)
def test_whitespace_around_a_key_is_stripped(
    invoke: Invoke, fullenrich_api: ApiSimulator, lemlist_api: ApiSimulator
) -> None:
    run = invoke()

    assert run.check_failed() == {"fullenrich": 0, "lemlist": 0}
    assert fullenrich_api.credit_requests[0].headers["authorization"] == f"Bearer {FULLENRICH_KEY}"
    assert (
        lemlist_api.credit_requests[0].headers["authorization"]
        == lemlist.auth_headers(LEMLIST_KEY)["Authorization"]
    )


HOSTILE_SECRETS = [
    ("fullenrich", KEY_WITH_LINE_BREAK, "a line break"),
    ("lemlist", KEY_WITH_LINE_BREAK, "a line break"),
    ("lemlist", KEY_WITH_CONTROL_CHARACTER, "a control character"),
    ("lemlist", KEY_WITH_NON_ASCII, "a non-ASCII character"),
]


@pytest.mark.parametrize(
    ("secret_string", "broken", "problem"),
    [
        (json.dumps({"fullenrich": FULLENRICH_KEY, "lemlist": LEMLIST_KEY, provider: key}), provider, problem)
        for provider, key, problem in HOSTILE_SECRETS
    ],
    ids=[f"{provider}-{problem.split()[-2]}" for provider, _, problem in HOSTILE_SECRETS],
)
def test_a_key_with_a_stray_character_inside_fails_its_check_only_and_is_never_sent_or_shown(
    invoke: Invoke,
    stack: Stack,
    fullenrich_api: ApiSimulator,
    lemlist_api: ApiSimulator,
    broken: str,
    problem: str,
) -> None:
    apis = {"fullenrich": fullenrich_api, "lemlist": lemlist_api}
    [healthy] = set(apis) - {broken}

    runs = [invoke() for _ in range(3)]  # enough failures in a row for CHECK FAILING

    summary = runs[-1].summary()
    assert summary[broken]["failure"] == "secret"
    assert f"the {broken} API key contains {problem}" in summary[broken]["reason"]
    assert summary[healthy]["status"] == "OK"
    assert apis[broken].requests == []
    [alert] = stack.inbox.messages()
    assert alert["MessageAttributes"]["provider"]["Value"] == broken
    assert problem in alert["Message"]


def test_a_rotated_key_with_a_line_break_is_reported_as_such_after_a_401(
    invoke: Invoke, stack: Stack, lemlist_api: ApiSimulator
) -> None:
    assert invoke().check_failed()["lemlist"] == 0  # warm: the old key is now cached
    rotated = json.dumps({"fullenrich": FULLENRICH_KEY, "lemlist": KEY_WITH_LINE_BREAK})
    stack.secrets.put_secret_value(SecretId=stack.secret_id, SecretString=rotated)
    lemlist_api.valid_keys = {"lm_revoked_the_old_one"}

    run = invoke()

    assert run.summary()["lemlist"]["failure"] == "secret"
    assert "the lemlist API key contains a line break" in run.summary()["lemlist"]["reason"]
    assert len(lemlist_api.credit_requests) == 2  # ok, then 401 with the cached key; the new one unsent


@pytest.mark.parametrize("provider", ["fullenrich", "lemlist"])
def test_a_401_that_echoes_the_authorization_header_shows_no_form_of_the_key(
    invoke: Invoke, fullenrich_api: ApiSimulator, lemlist_api: ApiSimulator, provider: str
) -> None:
    api = {"fullenrich": fullenrich_api, "lemlist": lemlist_api}[provider]
    echo = Reply(
        401,
        "The authentication you supplied is incorrect: {authorization}",
        {"Content-Type": "text/plain"},
        action="echo_authorization",
    )
    api.then(echo, echo)

    run = invoke()  # the fixture looks for every form of every key, including the Basic token

    reason = run.summary()[provider]["reason"]
    assert run.summary()[provider]["failure"] == "auth"
    assert "The authentication you supplied is incorrect: " in reason
    assert "***" in reason
