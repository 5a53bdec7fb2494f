"""`make bench` keeps working: the command the docs give starts, and a tiny bench runs end to end and
prints its table. Nothing here judges speed: the figures are the bench's to report, not the suite's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from tests.support.harness import REPO

BENCH = [sys.executable, "-m", "scripts.bench"]
TINY = [
    "--fleets",
    "3",
    "--sizes",
    "1024",
    "--history-days",
    "1",
    "--warm-runs",
    "1",
    "--latency",
    "0.01",
    "--no-comparator",
]


def test_make_bench_runs_the_bench_with_no_arguments() -> None:
    """`make bench` is `python -m scripts.bench`, no arguments: it reaches the measuring (its first line,
    printed before any fleet), and is stopped there: the full bench takes minutes."""
    printed = subprocess.run(
        ["make", "--no-print-directory", "-n", "-o", ".venv/.installed", "bench"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert printed.strip().endswith("python -m scripts.bench")

    bench = subprocess.Popen(
        BENCH,
        cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: whatever it started is stopped with it
    )
    try:
        assert bench.stdout is not None
        first = bench.stdout.readline()
    finally:
        os.killpg(bench.pid, signal.SIGKILL)
        _, errors = bench.communicate(timeout=60)
    assert first.startswith("python 3."), f"the bench stopped before measuring:\n{first}{errors}"


def test_a_tiny_bench_runs_and_prints_its_table() -> None:
    """One small fleet (an accounts file of 3), one size, one warm run, simulators answering in 10 ms."""
    done = subprocess.run(
        [*BENCH, *TINY],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "=== MemorySize 1024" in out
    assert "\n3 accounts, " in out
    for row in (
        "cold run (import ",
        "warm run, median of 1:",
        "CPU per account check (warm, median):",
        "peak RSS of the function's process:",
        "Lambda cost at an hourly schedule (cold runs):",
        "per run (cold, then warm): failed checks [0, 0], accounts with a problem [0, 0],",
        "notifications [0, 0]",
        "AWS calls per run (average): {'BatchGetItem': 1.0",
    ):
        assert row in out, f"{row!r} missing from the bench's table:\n{out}"
    for fault in ("KILLED", "FAILED RUNS", "NOT A HEALTHY RUN"):
        assert fault not in out, out
