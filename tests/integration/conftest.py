"""Integration fixtures: moto server for AWS, the function's environment, and a leak check."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from credit_monitor import app
from tests.support.aws import AWS_ENV, MotoServer, Stack, create_stack
from tests.support.harness import Invocation, Invoke, SimClock, invoke_handler
from tests.support.keys import FULLENRICH_KEY, LEMLIST_KEY, assert_no_key_leaked
from tests.support.simulators import ApiSimulator
from tests.support.world import function_environment, granted_route_topics

KEYS_JSON = json.dumps({"fullenrich": FULLENRICH_KEY, "lemlist": LEMLIST_KEY})


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    server = MotoServer().start()
    yield server
    server.stop()


@pytest.fixture
def aws(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """Fresh moto state and the AWS variables the deployed function would have."""
    moto_server.reset()
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.endpoint_url)
    return moto_server.endpoint_url


@pytest.fixture
def secret_string() -> str | None:
    """Override in a test module or with parametrize to store a different secret (None: none)."""
    return KEYS_JSON


@pytest.fixture
def stack(aws: str, secret_string: str | None) -> Stack:
    return create_stack(aws, secret_string)


@pytest.fixture
def function_env(
    stack: Stack,
    fullenrich_api: ApiSimulator,
    lemlist_api: ApiSimulator,
    ca_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[dict[str, str]]:
    """The environment template.yaml gives the function, pointed at the simulators."""
    env = function_environment(stack, fullenrich_api.base_url, lemlist_api.base_url, ca_file)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app.runtime.cache_clear()  # a new sandbox: cold start with this environment
    yield env
    app.runtime.cache_clear()


@pytest.fixture
def accounts_file(
    function_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[[str], Path]:
    """Give the function an accounts file with this text (a new sandbox reads it at its cold start),
    and its routes' topics granted, as `make deploy` grants them."""

    def use(text: str) -> Path:
        path = tmp_path / "accounts.toml"
        path.write_text(text)
        monkeypatch.setenv("ACCOUNTS_FILE", str(path))
        monkeypatch.setenv("ROUTE_TOPIC_ARNS", granted_route_topics(path))
        app.runtime.cache_clear()
        return path

    return use


@pytest.fixture
def invoke(function_env: dict[str, str], stack: Stack, caplog: pytest.LogCaptureFixture) -> Invoke:
    """Invoke the handler; every call checks that no key appears in any output it produced."""

    def _invoke(clock: SimClock | None = None) -> Invocation:
        caplog.clear()
        caplog.set_level(logging.INFO)
        invocation = invoke_handler(clock=clock)
        sent = json.dumps(stack.inbox.messages())
        assert_no_key_leaked(
            invocation.output, caplog.text, repr(invocation.error), json.dumps(invocation.result), sent
        )
        return invocation

    return _invoke
