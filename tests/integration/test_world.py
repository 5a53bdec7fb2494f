"""The local world the benchmark measures in: what it adds must look like AWS to the function."""

from __future__ import annotations

import contextlib
import io
import json

from tests.support.aws import state_text
from tests.support.harness import FakeLambdaContext
from tests.support.world import local_world


def test_through_the_aws_front_a_warm_run_reuses_its_connections_and_records_every_state() -> None:
    from credit_monitor import app

    with local_world(
        "world-fullenrich-key-3b9e0c1f", "world-lemlist-key-7d21a4e6", 5000, 800, aws_front=True
    ) as world:
        assert world.front is not None
        runs = []
        for _ in range(2):
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                app.lambda_handler({"trigger": "schedule"}, FakeLambdaContext())  # type: ignore[arg-type]
            runs.append(world.front.connections)
        items = world.stack.dynamodb.scan(TableName=world.stack.table_name)["Items"]

    assert sorted(item["provider"]["S"] for item in items) == ["fullenrich", "lemlist"]
    assert all(json.loads(state_text(item))["samples"] for item in items)
    # moto itself closes after every reply; through the front the second run opened nothing new.
    assert runs[0] >= 1
    assert runs[1] == runs[0]
