"""`make bench`: the real handler as Lambda runs it, against simulators answering in 300 ms, moto for AWS.

Each measured function runs in a child process inside `lambda-box` (../shared/tools/lambda-box, or
$LAMBDA_BOX): the CPU share and memory cap of a Lambda function of the template's default
MemorySize. Without cgroups (lambda-box exits 97) the child runs unboxed and every figure says so.
The simulators and moto live in this process, outside the box. The function reaches moto through a
keep-alive HTTPS front (tests/support/aws_front.py), as it reaches AWS from Lambda: moto alone
closes the connection after every call.

Fleets of 2 (zero-config), 100 and 1,000 accounts (an accounts file), each with 30 days of hourly
history seeded for every account through the state store. Figures per fleet: the cold run (import
plus first invocation), warm runs, CPU ms per account check (the process's CPU time of a warm run
divided by the accounts), peak RSS, and the AWS calls per run by operation; at 2 accounts, the CPU
of one GET (back to back, and one per provider round trip), one PutItem and one Put of a
transaction through the same libraries, alone. The naive handler of ../shared/baseline runs at 2
accounts in the same box in the same bench run, as the comparator.

Run from the repository root: `python -m scripts.bench` (options: --sizes 128,256 --fleets 2,100
--history-days 1 --profile cpu|memory --warm-runs 3 --latency 0.3 --no-comparator, and --task-root
.aws-sam/build/CreditMonitorFunction to measure the package `sam build` made instead of src/). Paste
the output in docs/benchmark.md. `make test` runs a tiny one (one small fleet, one size) to keep it
working; only this full run's figures mean anything.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
LATENCY = 0.30
WARM_RUNS = 3
FLEETS = (2, 100, 1000)
HISTORY_DAYS = 30
GB_SECOND_USD = 0.0000133334
"""Lambda arm64, us-east-1, first pricing tier (AWS price list as of December 2026)."""
REQUEST_USD = 0.20 / 1_000_000
RUNS_PER_MONTH = 720
"""An hourly schedule over 30 days, as docs/cost.md counts. Each run is costed as a cold
one (import and first invocation): an hourly schedule mostly meets a new sandbox, and Lambda bills
the init phase."""
UNBOXED = 97
"""lambda-box's exit status when the machine has no cgroup cpu/memory controllers."""
BOX = Path(os.environ.get("LAMBDA_BOX", REPO.parent / "shared" / "tools" / "lambda-box"))
PYTHONPATH = os.environ.get("PYTHONPATH", "")
"""As this process was started: measure() puts a --task-root before it for the function's child."""
NAIVE = Path(os.environ.get("NAIVE_HANDLER", REPO.parent / "shared" / "baseline" / "naive_app.py"))


def default_memory_size() -> int:
    """The template's default MemorySize parameter: the size the bench measures first."""
    from tests.support.cfn import load_template

    return int(load_template()["Parameters"]["MemorySize"]["Default"])


def template_check_deadline() -> str:
    """The checks deadline the template deploys (the local world's tests use a shorter one)."""
    from tests.support.cfn import load_template

    function = load_template()["Resources"]["CreditMonitorFunction"]["Properties"]
    return str(function["Environment"]["Variables"]["CHECK_DEADLINE_SECONDS"])


# --- in the function's own process ---------------------------------------------------------------


def peak_rss_mb() -> float:
    """The process's own high-water mark. ru_maxrss would not do: Linux keeps it across the fork and
    exec that started this process, so it reports the parent's moto and simulators too."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    [line] = [line for line in status.splitlines() if line.startswith("VmHWM:")]
    return int(line.split()[1]) / 1024


def child(runs: int, out: str, profile: str, naive: bool) -> None:
    """One cold invocation, then warm ones; wall and CPU time of each, and the peak RSS, to `out`."""
    wall, cpu = time.perf_counter(), time.process_time()
    if naive:
        import importlib

        sys.path.insert(0, str(NAIVE.parent))
        handler: Any = importlib.import_module(NAIVE.stem).lambda_handler
    else:
        from credit_monitor import app  # the cold import is part of what is measured

        handler = app.lambda_handler
    imported = {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}
    from tests.support.harness import FakeLambdaContext  # a dataclass: nothing heavy comes with it

    lines: list[str] = []
    if not naive:  # its log lines and EMF, kept to count outcomes after each run is timed
        sink = _LineSink(lines)
        app.logger.registered_handler.setStream(sink)  # type: ignore[attr-defined]
        sys.stdout = sink
    runs_out, errors = [], []
    for number in range(runs + 1):
        profiling = profile if number == runs else ""  # the last warm run (or the cold one)
        with _profiled(profiling, out):
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                handler({"trigger": "schedule"}, FakeLambdaContext())
            except Exception as exc:  # reported, not hidden: a failing run is no benchmark
                errors.append(repr(exc)[:300])
            runs_out.append({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu})
        runs_out[-1].update(_outcomes(lines))
        lines.clear()
    rss_mb = peak_rss_mb()
    floor = bare_request_seconds() if runs and not naive else 0.0
    Path(out).write_text(
        json.dumps(
            {
                "import": imported,
                "runs": runs_out,
                "rss_mb": rss_mb,
                "errors": errors,
                "floor": floor,
            }
        )
    )


def library_cpu_ms(repeat: int = 200) -> dict[str, float]:
    """CPU of one call through the libraries the function uses, in a boxed process of its own with
    the simulators answering at once: a GET through the function's own pool (kept-alive TLS), a
    conditional PutItem alone, and one Put of a 100-Put TransactWriteItems (scratch items named
    "#bench-..."). What a check cannot cost less than, back to back; calls spaced 300 ms apart
    cost more CPU each on this machine."""
    import uuid

    from credit_monitor.adapters import aws
    from credit_monitor.adapters.http import build_pool_manager

    pool = build_pool_manager()
    url = os.environ["LEMLIST_API_URL"] + "/team/credits"
    dynamodb, table = aws.client("dynamodb"), os.environ["STATE_TABLE_NAME"]
    prefix = f"#bench-{uuid.uuid4().hex[:8]}-"
    state = {"B": os.urandom(500)}

    def put(name: str) -> dict[str, Any]:
        return {
            "TableName": table,
            "Item": {"provider": {"S": prefix + name}, "version": {"N": "1"}, "state": state},
            "ConditionExpression": "attribute_not_exists(#key) OR version = :expected",
            "ExpressionAttributeNames": {"#key": "provider"},
            "ExpressionAttributeValues": {":expected": {"N": "0"}},
        }

    def cpu_ms(call: Any, times: int) -> float:
        call(-1)  # a warm connection
        started = time.process_time()
        for number in range(times):
            call(number)
        return (time.process_time() - started) * 1000 / times

    get = cpu_ms(lambda n: pool.request("GET", url, headers={"Authorization": "Basic Og=="}), repeat)
    alone = cpu_ms(lambda n: dynamodb.put_item(**put(f"alone-{n}")), repeat // 2)
    batches = max(1, repeat // 100)
    batched = cpu_ms(
        lambda n: dynamodb.transact_write_items(
            TransactItems=[{"Put": put(f"batch-{n}-{i}")} for i in range(100)]
        ),
        batches,
    )
    return {
        "GET, back to back": get,
        "PutItem, back to back": alone,
        "Put of a 100-Put TransactWriteItems": batched / 100,
    }


def spaced_get_cpu_ms(latency: float, repeat: int = 20) -> dict[str, float]:
    """CPU of one GET as the checks make them: one per provider round trip (the simulators answer
    in LATENCY), not back to back. On this machine work spaced out costs more CPU per call."""
    from credit_monitor.adapters.http import build_pool_manager

    pool = build_pool_manager()
    url = os.environ["LEMLIST_API_URL"] + "/team/credits"
    pool.request("GET", url, headers={"Authorization": "Basic Og=="})
    started = time.process_time()
    for _ in range(repeat):
        pool.request("GET", url, headers={"Authorization": "Basic Og=="})
    return {f"GET, one per {latency * 1000:.0f} ms reply": (time.process_time() - started) * 1000 / repeat}


def calls_child(out: str, spaced: bool, latency: float) -> None:
    Path(out).write_text(json.dumps(spaced_get_cpu_ms(latency) if spaced else library_cpu_ms()))


def bare_request_seconds() -> float:
    """The floor: one plain urllib3 GET to a simulator from this process, in the same box, on a warm
    connection (the median of 5). A run cannot beat it; what a warm run adds on top is its own."""
    import urllib3

    pool = urllib3.PoolManager()
    url = os.environ["LEMLIST_API_URL"] + "/team/credits"
    samples = []
    for _ in range(6):
        started = time.perf_counter()
        pool.request("GET", url, headers={"Authorization": "Basic Og=="})
        samples.append(time.perf_counter() - started)
    return statistics.median(samples[1:])


class _LineSink:
    """A text stream that keeps what is written, for counting after the run."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def write(self, text: str) -> int:
        self.lines.append(text)
        return len(text)

    def flush(self) -> None:
        pass


def _outcomes(written: list[str]) -> dict[str, int]:
    """Failed checks, accounts with a problem (a state not written, a notification left pending) and
    notifications sent, from the run's summary lines."""
    failed = problems = sent = 0
    for line in "".join(written).splitlines():
        if '"credit check finished"' not in line and '"notifications published"' not in line:
            continue
        document = json.loads(line)
        for entry in document.get("accounts", {}).values():
            failed += entry.get("status") == "FAILED"
            problems += bool(entry.get("problems"))
        sent += len(document.get("notifications", []))
    return {"failed": failed, "problems": problems, "sent": sent}


@contextmanager
def _profiled(kind: str, out: str) -> Iterator[None]:
    """cProfile of every thread (each check and settle runs on a worker thread), or tracemalloc."""
    if kind == "cpu":
        import cProfile

        profiler = cProfile.Profile()  # sys.monitoring since Python 3.12: every thread
        profiler.enable()
        try:
            yield
        finally:
            profiler.disable()
            profiler.dump_stats(out + ".pstats")
    elif kind == "memory":
        import tracemalloc

        tracemalloc.start(8)
        try:
            yield
        finally:
            snapshot = tracemalloc.take_snapshot()
            current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            lines = [f"traced current {current / 2**20:.1f} MB, peak {peak / 2**20:.1f} MB"]
            for stat in snapshot.statistics("lineno")[:25]:
                lines.append(f"{stat.size / 2**10:9.0f} KB {stat.count:8d} {stat.traceback[0]}")
            Path(out + ".memory.txt").write_text("\n".join(lines) + "\n")
    else:
        yield


# --- in this process: the world, the seeding, the box -------------------------------------------


def seed_history(world: Any, days: int, now: datetime) -> int:
    """`days` of hourly samples for every account, written through the state store as a month of
    hourly runs would leave them: a slow burn ending at the simulators' balance, no alert raised."""
    from credit_monitor.adapters.state import DynamoStateStore
    from credit_monitor.alerting import AccountState
    from credit_monitor.forecast import Sample, thin

    store = DynamoStateStore(world.stack.table_name, client=world.stack.dynamodb)
    balances = {"fullenrich": world.fullenrich.balance, "lemlist": world.lemlist.balance}
    last = now - timedelta(hours=1)
    hours = days * 24
    for account in world.keys:
        balance = balances[account.split("-")[0]]
        hourly = (
            Sample(last - timedelta(hours=hours - 1 - h), balance + (hours - 1 - h) * 0.5)
            for h in range(hours)
        )
        samples = thin(hourly, last)  # what one add_sample per hourly run leaves
        store.put(account, AccountState(samples=samples, checked_at=last, version=1), expected_version=0)
    return len(world.keys)


def run_boxed(memory_mb: int | None, argv: list[str]) -> tuple[bool, int]:
    """(boxed, exit status) of `argv` in lambda-box at `memory_mb`, or unboxed when there is none."""
    if memory_mb is not None and BOX.exists():
        done = subprocess.run(
            [str(BOX), str(memory_mb), *argv], env=os.environ.copy(), stdout=subprocess.DEVNULL
        )
        if done.returncode != UNBOXED:
            return True, done.returncode
    done = subprocess.run(argv, env=os.environ.copy(), stdout=subprocess.DEVNULL)
    return False, done.returncode


def function_python(task_root: Path | None) -> list[str]:
    """How the function's child process starts: this Python, importing credit_monitor from src/ (the
    editable install), or from `task_root` with -B, as Lambda imports from its read-only /var/task
    (PYTHONPATH, set in measure(), puts it before the venv's packages)."""
    return [sys.executable] if task_root is None else [sys.executable, "-B"]


def measure(
    accounts: int,
    memory_mb: int | None,
    history_days: int,
    profile: str = "",
    naive: bool = False,
    *,
    latency: float = LATENCY,
    warm_runs: int = WARM_RUNS,
    task_root: Path | None = None,
) -> dict[str, Any]:
    from tests.support.world import local_world  # moto and the simulators: this process only

    fleet = 0 if accounts == 2 else accounts  # 2: the zero-config pair, without an accounts file
    os.environ.pop("ACCOUNTS_FILE", None)  # the previous fleet's world leaves it set
    search_path = [str(task_root)] if task_root is not None and not naive else []
    search_path += [PYTHONPATH] if PYTHONPATH else []
    os.environ["PYTHONPATH"] = os.pathsep.join(search_path)
    with local_world(
        "bench-fullenrich-key-5c0e7a", "bench-lemlist-key-91d2f4", 5000, 800, accounts=fleet, aws_front=True
    ) as world:
        world.fullenrich.latency_seconds = world.lemlist.latency_seconds = latency
        os.environ["CHECK_DEADLINE_SECONDS"] = template_check_deadline()
        started = time.perf_counter()
        if history_days:
            seed_history(world, history_days, datetime.now(UTC))
        print(f"  (seeded {accounts} accounts in {time.perf_counter() - started:.1f} s)", file=sys.stderr)
        out = Path(tempfile.mkdtemp()) / "result.json"
        runs = 0 if naive else warm_runs
        python = function_python(None if naive else task_root)
        argv = [*python, "-m", "scripts.bench", "--child", str(runs), str(out), profile or "-"]
        with world.moto.recording() as recorded:
            boxed, status = run_boxed(memory_mb, [*argv, "--naive"] if naive else argv)
        if not out.exists():
            return {"accounts": accounts, "boxed": boxed, "killed": status, "memory_mb": memory_mb}
        result: dict[str, Any] = json.loads(out.read_text())
        calls = Counter(operation(entry) for entry in recorded)
        result["aws_calls_per_run"] = {
            name: round(count / (runs + 1), 1) for name, count in sorted(calls.items())
        }
        if accounts == 2 and not naive:
            result["calls_cpu_ms"] = {}
            for seconds, mode in ((0.0, "--calls"), (latency, "--spaced-calls")):
                world.fullenrich.latency_seconds = world.lemlist.latency_seconds = seconds
                calls_out = out.with_name(f"calls{mode}.json")
                run_boxed(memory_mb, [*python, "-m", "scripts.bench", mode, str(calls_out), str(latency)])
                result["calls_cpu_ms"] |= json.loads(calls_out.read_text()) if calls_out.exists() else {}
        result.update(accounts=accounts, boxed=boxed, memory_mb=memory_mb, out=str(out), latency=latency)
        return result


def operation(entry: dict[str, Any]) -> str:
    """The AWS operation of one recorded request: DynamoDB names it in a header, SNS in the body."""
    target = str(entry["headers"].get("X-Amz-Target", ""))
    if target:
        return target.split(".")[-1]
    from urllib.parse import parse_qs

    from tests.support.aws import request_body

    return parse_qs(request_body(entry)).get("Action", ["?"])[0]


def report(r: dict[str, Any], naive_cold: float | None) -> None:
    accounts = r["accounts"]
    box = f"lambda-box {r['memory_mb']} MB" if r["boxed"] else "UNBOXED"
    print(f"\n{accounts} accounts, {box}")
    if "runs" not in r:
        print(f"  KILLED (exit status {r['killed']}): no figures")
        return
    cold = r["import"]["wall"] + r["runs"][0]["wall"]
    warm = r["runs"][1:]
    warm_wall = statistics.median(run["wall"] for run in warm)
    warm_cpu = statistics.median(run["cpu"] for run in warm)
    print(f"  cold run (import {r['import']['wall']:.2f} s + first invocation):  {cold:7.2f} s")
    if naive_cold is not None:
        print(
            f"  naive handler's cold run, same box:             {naive_cold:7.2f} s"
            f"  (ratio {cold / naive_cold:.2f})"
        )
    print(f"  warm run, median of {len(warm)}:                         {warm_wall:7.2f} s", end="")
    print(f"  ({warm_wall / r['latency']:.2f} x the provider latency)" if accounts == 2 else "")
    if accounts == 2 and r.get("floor"):
        print(f"  one bare GET to a simulator, same box (the floor): {r['floor']:4.2f} s", end="")
        print(f"  (warm run / floor {warm_wall / r['floor']:.2f})")
    for call, ms in r.get("calls_cpu_ms", {}).items():
        print(f"  CPU of one {call} (the call alone): {ms:.2f} ms")
    print(f"  CPU per account check (warm, median):           {warm_cpu * 1000 / accounts:7.2f} ms")
    print(
        f"  CPU per account check (cold run):               {r['runs'][0]['cpu'] * 1000 / accounts:7.2f} ms"
    )
    print(f"  peak RSS of the function's process:             {r['rss_mb']:7.1f} MB", end="")
    print(f"  ({r['rss_mb'] / r['memory_mb']:.0%} of MemorySize)" if r["memory_mb"] else "")
    if r["memory_mb"]:
        usd = RUNS_PER_MONTH * (cold * r["memory_mb"] / 1024 * GB_SECOND_USD + REQUEST_USD)
        print(f"  Lambda cost at an hourly schedule (cold runs):  ${usd:7.4f} a month")
    failed = [run.get("failed", 0) for run in r["runs"]]
    problems = [run.get("problems", 0) for run in r["runs"]]
    sent = [run.get("sent", 0) for run in r["runs"]]
    print(f"  per run (cold, then warm): failed checks {failed}, accounts with a problem {problems},")
    print(f"    notifications {sent}")
    print(f"  AWS calls per run (average): {r['aws_calls_per_run']}")
    if r["errors"]:
        print(f"  FAILED RUNS: {r['errors']}")
    if any(failed) or any(problems) or any(sent):
        print(
            "  NOT A HEALTHY RUN: a healthy fleet fails no check and sends nothing;"
            " these figures measure a fault"
        )


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="", help="MemorySize values to measure (default: the template's)")
    parser.add_argument("--fleets", default=",".join(map(str, FLEETS)))
    parser.add_argument("--history-days", type=int, default=HISTORY_DAYS)
    parser.add_argument("--profile", choices=("cpu", "memory"), default="")
    parser.add_argument("--warm-runs", type=int, default=WARM_RUNS, help="warm runs after the cold one")
    parser.add_argument("--latency", type=float, default=LATENCY, help="the simulators' reply time, seconds")
    parser.add_argument("--no-comparator", action="store_true", help="skip the naive handler's run")
    parser.add_argument(
        "--task-root", type=Path, help="measure this package (sam build's function folder), not src/"
    )
    parser.add_argument("--json", default="", help="also write every result to this file")
    args = parser.parse_args(argv)
    if args.warm_runs < 1:
        parser.error("--warm-runs must be at least 1: the warm figures are medians of them")
    sizes = [int(s) for s in args.sizes.split(",") if s] or [default_memory_size()]
    fleets = [int(f) for f in args.fleets.split(",") if f]
    comparator = not args.no_comparator and NAIVE.is_file()
    task_root = args.task_root.resolve() if args.task_root else None
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cores;"
        f" providers answer in {args.latency * 1000:.0f} ms;"
        f" {args.history_days} days of hourly history per account;"
        f" the function from {task_root or 'src/'}"
    )
    if not comparator:
        print(f"no comparator: {'--no-comparator' if args.no_comparator else f'no naive handler at {NAIVE}'}")
    results = []
    for size in sizes:
        naive = measure(2, size, 0, naive=True, latency=args.latency) if comparator else None
        naive_cold = naive["import"]["wall"] + naive["runs"][0]["wall"] if naive and "runs" in naive else None
        box = ""
        if naive is not None:
            box = ": " + (
                f"lambda-box {size} MB ({size}/1769 of a core)"
                if naive["boxed"]
                else "UNBOXED (no lambda-box, or no cgroups on this machine)"
            )
        print(f"\n=== MemorySize {size}{box}")
        if naive_cold is not None:
            print(f"naive handler, 2 accounts: cold run {naive_cold:.2f} s")
        for accounts in fleets:
            r = measure(
                accounts,
                size,
                args.history_days,
                args.profile,
                latency=args.latency,
                warm_runs=args.warm_runs,
                task_root=task_root,
            )
            report(r, naive_cold if accounts == 2 else None)
            results.append(r)
        if naive is not None:
            results.append({"naive": naive, "memory_mb": size})
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


def entry(argv: list[str]) -> None:
    """The bench itself, or one of its child processes (their first argument says which)."""
    if argv[:1] in (["--calls"], ["--spaced-calls"]):
        calls_child(argv[1], spaced=argv[0] == "--spaced-calls", latency=float(argv[2]))
    elif argv[:1] == ["--child"]:
        child(int(argv[1]), argv[2], argv[3].strip("-"), naive="--naive" in argv)
    else:
        main(argv)


if __name__ == "__main__":
    entry(sys.argv[1:])
