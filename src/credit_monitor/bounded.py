"""Run tasks concurrently and stop waiting at a deadline, on daemon threads.

concurrent.futures' workers are joined at interpreter exit, so one request that overruns its
deadline kept the CLI alive after it had printed its answer. Daemon threads never do: the caller
stops waiting at the deadline, reports the unfinished task as such, and the process can exit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


class Unfinished:
    """The result of a task still running at the deadline."""


UNFINISHED = Unfinished()


def run_until(
    tasks: Sequence[Callable[[], T]],
    deadline: float,
    *,
    max_workers: int,
    name: str = "task",
    clock: Callable[[], float] = time.monotonic,
) -> list[T | BaseException | Unfinished]:
    """Each task's result, in order: its value, what it raised, or UNFINISHED.

    `deadline` is absolute, on `clock` (time.monotonic). At most `max_workers` run at once.
    """
    results: list[T | BaseException | Unfinished] = [UNFINISHED] * len(tasks)
    unfinished = [len(tasks)]  # a count, not a scan of every task at each one's end: flat per task
    cond = threading.Condition()
    queue = iter(range(len(tasks)))

    def worker() -> None:
        while True:
            with cond:
                index = next(queue, None)
            if index is None:
                return
            value: T | BaseException
            try:
                value = tasks[index]()
            except BaseException as exc:  # reported to the caller, who decides what it means
                value = exc
            with cond:
                results[index] = value
                unfinished[0] -= 1
                if not unfinished[0]:
                    cond.notify_all()

    for number in range(min(max_workers, len(tasks))):
        threading.Thread(target=worker, name=f"{name}-{number}", daemon=True).start()
    with cond:
        while unfinished[0]:
            left = deadline - clock()
            if left <= 0:
                break
            cond.wait(left)
        return list(results)
