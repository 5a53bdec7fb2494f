"""`make bench`: the real handler against simulators answering in 300 ms, moto for AWS.

For 2 accounts (zero-config) and 500 (an accounts file): cold import, first and warm invocation
times, peak RSS of the function's process, and the AWS calls one warm run makes. The function
runs in a child process, so its memory is its own (the simulators and moto live in this one).
Run as a module from the repository root: `python -m scripts.bench`. Paste the output in the README.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

LATENCY = 0.30
WARM_RUNS = 5
TARGETS = {2: "warm <= 1.10 x the provider latency", 500: "warm <= 5 s, peak RSS < 110 MB"}


def peak_rss_mb() -> float:
    """The process's own high-water mark. ru_maxrss would not do: Linux keeps it across the fork and
    exec that started this process, so it reports the parent's moto and simulators too."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    [line] = [line for line in status.splitlines() if line.startswith("VmHWM:")]
    return int(line.split()[1]) / 1024


def bare_request_seconds() -> float:
    """The floor: one plain urllib3 GET to a simulator from this process, on a warm connection (the
    median of 5). A run cannot beat it; what the handler adds on top is its own overhead."""
    import urllib3

    pool = urllib3.PoolManager()
    url = os.environ["LEMLIST_API_URL"] + "/team/credits"
    samples = []
    for _ in range(6):
        started = time.perf_counter()
        pool.request("GET", url, headers={"Authorization": "Basic Og=="})
        samples.append(time.perf_counter() - started)
    return statistics.median(samples[1:])


def child(runs: int, out: str) -> None:
    """In the function's own process: one cold invocation, then warm ones; results to `out`."""
    started = time.perf_counter()
    from credit_monitor import app  # the cold import is part of what is measured

    imported = time.perf_counter() - started
    from tests.support.harness import FakeLambdaContext  # a dataclass: nothing heavy comes with it

    times, errors = [], []
    for _ in range(runs + 1):
        started = time.perf_counter()
        try:
            app.lambda_handler({"trigger": "schedule"}, FakeLambdaContext())  # type: ignore[arg-type]
        except Exception as exc:  # reported, not hidden: a failing run is no benchmark
            errors.append(repr(exc)[:200])
        times.append(time.perf_counter() - started)
    rss_mb = peak_rss_mb()
    floor = bare_request_seconds() if runs and os.environ.get("LEMLIST_API_URL") else 0.0
    Path(out).write_text(
        json.dumps({"import": imported, "times": times, "rss_mb": rss_mb, "errors": errors, "floor": floor})
    )


def measure(accounts: int) -> dict[str, Any]:
    from tests.support.world import local_world  # moto and the simulators: this process only

    with local_world("fe-key", "lm-key", 5000, 800, accounts=accounts) as world:
        world.fullenrich.latency_seconds = world.lemlist.latency_seconds = LATENCY
        out = Path(tempfile.mkdtemp()) / "result.json"
        with world.moto.recording() as recorded:
            subprocess.run(
                [sys.executable, "-m", "scripts.bench", "--child", str(WARM_RUNS), str(out)],
                env=os.environ.copy(),
                stdout=subprocess.DEVNULL,  # 500 EMF lines a run: CloudWatch's job, not ours
                check=True,
            )
        result: dict[str, Any] = json.loads(out.read_text())
        calls = Counter(operation(entry) for entry in recorded)
        runs = WARM_RUNS + 1
        result["aws_calls_per_run"] = {name: round(count / runs, 1) for name, count in sorted(calls.items())}
        result["accounts"] = accounts
        return result


def operation(entry: dict[str, Any]) -> str:
    """The AWS operation of one recorded request: DynamoDB names it in a header, SNS in the body."""
    target = str(entry["headers"].get("X-Amz-Target", ""))
    if target:
        return target.split(".")[-1]
    fields = dict(part.split("=", 1) for part in str(entry.get("body") or "").split("&") if "=" in part)
    return fields.get("Action", "?")


def main() -> None:
    latency = f"{LATENCY * 1000:.0f} ms"
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; every provider answers in {latency}")
    for accounts in (2, 500):
        r = measure(accounts)
        warm = r["times"][1:]
        median = statistics.median(warm)
        print(f"\n{accounts} accounts ({TARGETS[accounts]})")
        print(f"  cold import of credit_monitor.app:            {r['import'] * 1000:7.0f} ms")
        print(f"  first invocation (secret, TLS handshakes):    {r['times'][0] * 1000:7.0f} ms")
        print(f"  warm invocation, median of {WARM_RUNS}:              {median * 1000:7.0f} ms")
        print(f"  warm invocation, max of {WARM_RUNS}:                 {max(warm) * 1000:7.0f} ms")
        if accounts == 2:
            floor = r["floor"]
            print(f"  one bare GET to a simulator (the floor):      {floor * 1000:7.0f} ms")
            print(f"  warm median / provider latency:               {median / LATENCY:7.2f} x")
            print(f"  warm median / bare GET:                       {median / floor:7.2f} x")
        print(f"  peak RSS of the function's process:           {r['rss_mb']:7.1f} MB")
        print(f"  AWS calls per run (average): {r['aws_calls_per_run']}")
        if r["errors"]:
            print(f"  FAILED RUNS: {r['errors']}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(int(sys.argv[2]), sys.argv[3])
    else:
        main()
