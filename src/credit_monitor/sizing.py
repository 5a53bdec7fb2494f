"""What one invocation can do at a Lambda memory size, as `make bench` measured it. Pure.

Lambda gives a function CPU in proportion to its memory: one vCPU at 1,769 MB, 128/1769 of one at
128 MB. The checks wait on the providers (about 300 ms each), so many run at once; but each also
costs CPU, and past what the CPU share can process in one provider round trip, more requests in
flight only queue for the CPU, each holding a thread and a TLS connection in memory.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

MEMORY_SIZE_VAR = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"
"""Set by Lambda in every sandbox to the function's MemorySize."""
FULL_CPU_MB = 1769
DEFAULT_MEMORY_MB = 1024
"""template.yaml's MemorySize default, picked from `make bench` (docs/benchmark.md)."""

PROVIDER_LATENCY_SECONDS = 0.3
CPU_SECONDS_PER_CHECK = 0.003
"""A check's CPU, state write included, as the concurrency below counts it. `make bench` measures
3.1 to 4.7 ms with a month of history (docs/benchmark.md), so the checks in flight are about one
and a half times what the CPU share processes in one provider round trip."""
MIN_CONCURRENT_CHECKS = 4
MAX_CONCURRENT_CHECKS = 64
"""The HTTP pool keeps 64 connections per provider host (adapters/http.py)."""

ACCOUNTS_PER_SIZE: Mapping[int, int] = {128: 150, 256: 300, 512: 700, 1024: 1000}
"""Accounts one invocation checks inside the 10 s checks deadline, by MemorySize, with a month of
history, as `make bench` measured each in its box: 1,000 (the file's maximum) at 1024 MB in 7.1 s
warm, 700 at 512 MB in 8.3 s, 300 at 256 MB in 8.3 s, 150 at 128 MB in 9.5 s, no check failed in
four runs of each (docs/benchmark.md). 1,000 did not fit at 256 MB (checks still running at the
deadline).
"""


def memory_size(env: Mapping[str, str]) -> int | None:
    """The function's MemorySize in Lambda; None elsewhere (the CLI, tests), or when unreadable."""
    raw = env.get(MEMORY_SIZE_VAR, "").strip()
    return int(raw) if raw.isdigit() and int(raw) > 0 else None


def cpu_share(memory_mb: int) -> float:
    return min(memory_mb, FULL_CPU_MB) / FULL_CPU_MB


def max_concurrent_checks(memory_mb: int | None) -> int:
    """Twice the checks the CPU share processes in one provider round trip (so the CPU never idles
    waiting on the network), within [MIN_CONCURRENT_CHECKS, MAX_CONCURRENT_CHECKS]: 15 at 128 MB,
    29 at 256 MB, 58 at 512 MB, 64 from 1024 MB. Outside Lambda (None) the CPU is not capped: 64."""
    if memory_mb is None:
        return MAX_CONCURRENT_CHECKS
    workers = math.ceil(2 * PROVIDER_LATENCY_SECONDS * cpu_share(memory_mb) / CPU_SECONDS_PER_CHECK)
    return max(MIN_CONCURRENT_CHECKS, min(MAX_CONCURRENT_CHECKS, workers))


def accounts_supported(memory_mb: int) -> int:
    """The bench's figure for the largest measured size at or below `memory_mb` (the smallest's
    below it)."""
    measured = [size for size in sorted(ACCOUNTS_PER_SIZE) if size <= memory_mb] or [min(ACCOUNTS_PER_SIZE)]
    return ACCOUNTS_PER_SIZE[measured[-1]]


def capacity_warning(accounts: int, memory_mb: int) -> str | None:
    """A sentence for the operator when `accounts` is more than `make bench` saw one invocation of
    `memory_mb` check inside the deadline; None when it fits."""
    supported = accounts_supported(memory_mb)
    if accounts <= supported:
        return None
    bigger = [size for size in sorted(ACCOUNTS_PER_SIZE) if ACCOUNTS_PER_SIZE[size] >= accounts]
    advice = (
        f"set the MemorySize parameter to {bigger[0]} or more"
        if bigger
        else "split the accounts across stacks (docs/benchmark.md: where one invocation stops being enough)"
    )
    return (
        f"{accounts} accounts is more than the {supported} that one invocation of {memory_mb} MB"
        f" checked inside the deadline in the benchmark: checks may run out of time; {advice}"
    )
