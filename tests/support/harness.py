"""Invoke the real Lambda handler in-process and read what it wrote: EMF metrics and JSON logs."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from credit_monitor.budget import Budget

REPO = Path(__file__).resolve().parents[2]
SCHEDULED_EVENT: dict[str, Any] = json.loads((REPO / "events" / "schedule.json").read_text())


@dataclass(frozen=True)
class FakeLambdaContext:
    """The attributes Powertools reads from Lambda's context object."""

    function_name: str = "CreditMonitorFunction"
    memory_limit_in_mb: int = 128
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:CreditMonitorFunction"
    aws_request_id: str = "00000000-0000-4000-8000-000000000000"
    timeout_seconds: float = 30.0

    def get_remaining_time_in_millis(self) -> int:
        return int(self.timeout_seconds * 1000)


@dataclass
class Invocation:
    result: dict[str, Any] | None
    error: BaseException | None
    output: str

    @property
    def documents(self) -> list[dict[str, Any]]:
        docs = []
        for line in self.output.splitlines():
            try:
                doc = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(doc, dict):
                docs.append(doc)
        return docs

    @property
    def emf(self) -> list[dict[str, Any]]:
        return [doc for doc in self.documents if "_aws" in doc]

    @property
    def logs(self) -> list[dict[str, Any]]:
        return [doc for doc in self.documents if "_aws" not in doc and "level" in doc]

    def metric(self, name: str) -> dict[str, float]:
        """{account: value} for one per-account metric (dimension Account), from the EMF documents."""
        values = {}
        for doc in self.emf:
            declared = {m["Name"] for d in doc["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
            if name in declared and "Account" in doc:
                value = doc[name]
                [values[doc["Account"]]] = value if isinstance(value, list) else [value]
        return values

    def aggregate(self, name: str) -> float | None:
        """One no-dimension metric of the run (AccountsFailing, MinDaysUntilEmpty, ...); None when omitted."""
        found = [
            doc[name]
            for doc in self.emf
            if doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [[]] and name in doc
        ]
        if not found:
            return None
        [[value]] = found
        return float(value)

    def check_failed(self) -> dict[str, int]:
        """{account: 1 if its check failed else 0}, from the summary log line (no longer a metric)."""
        return {name: int(entry["status"] == "FAILED") for name, entry in self.summary().items()}

    def summary(self) -> dict[str, Any]:
        """The summary's parts (each line says its `part` of `parts`), merged back into one."""
        lines = [log for log in self.logs if log.get("message") == "credit check finished"]
        assert [line["part"] for line in lines] == list(range(1, len(lines) + 1))
        assert all(line["parts"] == len(lines) for line in lines)
        return {name: entry for line in lines for name, entry in line["accounts"].items()}


class SimClock:
    """Simulated time for days of scheduled runs without sleeping."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, hours: float) -> datetime:
        self.now += timedelta(hours=hours)
        return self.now


class Invoke(Protocol):
    """The `invoke` fixture: one invocation, at the clock's time when one is given."""

    def __call__(self, clock: SimClock | None = None) -> Invocation: ...


@contextmanager
def captured_output() -> Iterator[io.StringIO]:
    """Everything the function writes, as CloudWatch Logs would receive it: EMF lines and log lines."""
    from credit_monitor import app

    buffer = io.StringIO()
    log_handler = app.logger.registered_handler
    previous = log_handler.setStream(buffer)  # type: ignore[attr-defined]
    try:
        with redirect_stdout(buffer):
            yield buffer
    finally:
        log_handler.setStream(previous)  # type: ignore[attr-defined]


def invoke_handler(
    event: dict[str, Any] | None = None, clock: SimClock | None = None, budget: Budget | None = None
) -> Invocation:
    """The Lambda entry point; with a clock, the handler's body on the same warm runtime at that time,
    within `budget` when one is given (as the entry point makes one from Lambda's remaining time)."""
    from credit_monitor import app

    result: dict[str, Any] | None = None
    error: BaseException | None = None
    with captured_output() as buffer:
        try:
            if clock is None:
                result = app.lambda_handler(event or SCHEDULED_EVENT, FakeLambdaContext())  # type: ignore[arg-type]
            else:
                result = app.handle(replace(app.runtime(), clock=clock), budget)
        except Exception as exc:
            error = exc
    return Invocation(result=result, error=error, output=buffer.getvalue())
