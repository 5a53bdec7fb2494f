"""A scheduled run in a child process that SIGKILLs itself right after its Nth call of one kind.

    python -m tests.support.killed_run KIND N ISO_TIME

KIND is `load` (state read), `put_many` (the decided states, written together), `put` (one
account's state write: recording what was sent), `publish` (the stack's topic took a message) or
`deliver:RECEIVER` (the receiver of that id, such as `globex/webhook:globex-hook`, answered a
delivery). The environment is the function's (the parent's fixtures set it). Exit status -9 means
the kill happened; 0 means the run finished before reaching that call. `run_killed` starts one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from credit_monitor import app
from credit_monitor.delivery import Receiver
from credit_monitor.routes import TOPIC, Routing
from tests.support.harness import REPO, SimClock

IN_FLIGHT_SECONDS = 1.0
"""After the kill: a publish the dead process had sent may still be landing in moto."""


def run_killed(kind: str, after: int, clock: SimClock) -> None:
    """A scheduled run at the clock's time, in a child process SIGKILLed right after its `after`th
    call of `kind`; it must have been killed."""
    child = subprocess.run(
        [sys.executable, "-m", "tests.support.killed_run", kind, str(after), clock.now.isoformat()],
        cwd=REPO,
        env=os.environ.copy(),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == -9, f"the run was not killed after {kind} {after}: {child.stderr.decode()}"
    time.sleep(IN_FLIGHT_SECONDS)


def kill_after(target: object, method: str, calls: list[int], after: int) -> None:
    original: Callable[..., Any] = getattr(target, method)
    lock = threading.Lock()

    def counted(*args: Any, **kwargs: Any) -> Any:
        value = original(*args, **kwargs)
        with lock:
            calls[0] += 1
            if calls[0] == after:
                os.kill(os.getpid(), signal.SIGKILL)
        return value

    setattr(target, method, counted)


def kill_after_deliveries(source: Any, receiver_id: str, after: int) -> None:
    """Every receiver `source` (the runtime's ReceiverSource) builds of that id dies after its
    `after`th delivery, counted across them (route receivers are built afresh for each use)."""
    original: Callable[[Routing], Mapping[str, Receiver]] = source.receivers
    calls = [0]

    def receivers(routing: Routing) -> Mapping[str, Receiver]:
        found = original(routing)
        if receiver_id in found:
            kill_after(found[receiver_id], "deliver", calls, after)
        return found

    source.receivers = receivers


def main(kind: str, after: int, at: str) -> int:
    rt = replace(app.runtime(), clock=lambda: datetime.fromisoformat(at))
    if kind == "publish":  # the stack's topic: every delivery to it
        target: object = rt.ports.receivers.receivers(rt.config.routing)[TOPIC]
        kill_after(target, "deliver", [0], after)
    elif kind.startswith("deliver:"):
        kill_after_deliveries(rt.ports.receivers, kind.removeprefix("deliver:"), after)
    else:
        kill_after(rt.ports.state, kind, [0], after)
    try:
        app.handle(rt)
    except Exception as exc:  # a run that fails is still a run that was not killed
        print(f"run failed: {exc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
