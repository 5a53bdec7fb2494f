"""run_until: results in order, the deadline kept, and the caller woken once, not once per task."""

from __future__ import annotations

import functools
import threading
import time

import pytest

from credit_monitor.bounded import UNFINISHED, run_until


def test_results_come_back_in_order_values_and_exceptions_alike() -> None:
    def fails() -> int:
        raise ValueError("one task's bug")

    results = run_until([lambda: 1, fails, lambda: 3], time.monotonic() + 5, max_workers=2)

    assert results[0] == 1
    assert results[2] == 3
    assert isinstance(results[1], ValueError)


def test_a_task_still_running_at_the_deadline_is_unfinished() -> None:
    release = threading.Event()

    results = run_until([lambda: 1, release.wait], time.monotonic() + 0.2, max_workers=2)
    release.set()

    assert results == [1, UNFINISHED]


def test_the_caller_is_woken_once_for_a_thousand_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Flat per task: the waiting caller is notified when the last task ends, not at each one (which
    made it scan every task's flag 1,000 times for 1,000 accounts)."""
    notified = []

    class Counting(threading.Condition):
        """run_until's own condition (threading's Events make theirs with a lock given)."""

        def __init__(self, lock: threading.Lock | None = None) -> None:
            super().__init__(lock)
            self.counted = lock is None

        def notify_all(self) -> None:
            notified.extend([1] if self.counted else [])
            super().notify_all()

    monkeypatch.setattr(threading, "Condition", Counting)
    tasks = [functools.partial(int, n) for n in range(1000)]

    results = run_until(tasks, time.monotonic() + 30, max_workers=8)

    assert results == list(range(1000))
    assert len(notified) == 1
