"""A scheduled run in a child process that SIGKILLs itself right after its Nth call of one kind.

    python -m tests.support.killed_run KIND N ISO_TIME

KIND is `load` (state read), `put_many` (the decided states, written together), `put` (one
account's state write: recording what was sent) or `publish` (SNS accepted). The environment is
the function's (the parent's fixtures set it). Exit status -9 means the kill happened; 0 means the
run finished before reaching that call.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from credit_monitor import app
from credit_monitor.routes import TOPIC


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


def main(kind: str, after: int, at: str) -> int:
    rt = replace(app.runtime(), clock=lambda: datetime.fromisoformat(at))
    if kind == "publish":  # the stack's topic: every delivery to it
        target: object = rt.ports.receivers.receivers(rt.config.routing)[TOPIC]
        kill_after(target, "deliver", [0], after)
    else:
        kill_after(rt.ports.state, kind, [0], after)
    try:
        app.handle(rt)
    except Exception as exc:  # a run that fails is still a run that was not killed
        print(f"run failed: {exc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
