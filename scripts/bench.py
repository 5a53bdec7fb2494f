"""Benchmark: warm invocation latency with both providers slow, and cold-start import time.

Target (from the v1 issue): a warm invocation costs about the slowest provider's latency, not
the sum, because both are fetched concurrently. Run with `make bench`; paste the output in the README.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.harness import invoke_handler
from tests.support.world import local_world

FULLENRICH_LATENCY, LEMLIST_LATENCY = 0.30, 0.20
RUNS = 15


def cold_import_seconds() -> float:
    code = "import time; t = time.perf_counter(); import credit_monitor.app; print(time.perf_counter() - t)"
    samples = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
        for _ in range(5)
    ]
    return statistics.median(samples)


def main() -> None:
    with local_world("fe-key", "lm-key", fullenrich_balance=5000, lemlist_balance=800) as world:
        world.fullenrich.latency_seconds, world.lemlist.latency_seconds = FULLENRICH_LATENCY, LEMLIST_LATENCY
        started = time.perf_counter()
        invoke_handler()
        first = time.perf_counter() - started
        warm = []
        for _ in range(RUNS):
            started = time.perf_counter()
            run = invoke_handler()
            warm.append(time.perf_counter() - started)
            if run.error is not None or len(run.metric("CreditsRemaining")) != 2:
                raise SystemExit(f"benchmark run failed: {run.error or run.summary()}")

    slowest, total = max(FULLENRICH_LATENCY, LEMLIST_LATENCY), FULLENRICH_LATENCY + LEMLIST_LATENCY
    median = statistics.median(warm)
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cores; provider latency "
        f"FullEnrich {FULLENRICH_LATENCY * 1000:.0f} ms, lemlist {LEMLIST_LATENCY * 1000:.0f} ms"
    )
    print(f"cold import of credit_monitor.app (median of 5):  {cold_import_seconds() * 1000:6.0f} ms")
    print(f"first invocation (secret read, TLS handshakes):    {first * 1000:6.0f} ms")
    print(f"warm invocation, median of {RUNS}:                  {median * 1000:6.0f} ms")
    print(f"warm invocation, max of {RUNS}:                     {max(warm) * 1000:6.0f} ms")
    print(
        f"slowest provider {slowest * 1000:.0f} ms, sum of both {total * 1000:.0f} ms -> "
        f"{'concurrent: about the slowest' if median < total else 'NOT concurrent: about the sum'}"
    )


if __name__ == "__main__":
    main()
