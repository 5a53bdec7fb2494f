"""`make bench` keeps working: the command the docs give starts, and a tiny bench runs end to end and
prints its table. Nothing here judges speed: the figures are the bench's to report, not the suite's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from tests.support.harness import REPO


def test_make_bench_runs_the_bench_with_no_arguments() -> None:
    """`make bench` is `python -m scripts.bench`, no arguments: it reaches the measuring (its first line,
    printed before any fleet), and is stopped there: the full bench takes minutes."""
    printed = subprocess.run(
        ["make", "-n", "-o", ".venv/.installed", "bench"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    assert printed.strip().endswith("python -m scripts.bench")

    bench = subprocess.Popen(
        [sys.executable, "-m", "scripts.bench"],
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
