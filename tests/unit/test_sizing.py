from __future__ import annotations

import pytest

from credit_monitor.sizing import (
    ACCOUNTS_PER_SIZE,
    DEFAULT_MEMORY_MB,
    MAX_CONCURRENT_CHECKS,
    capacity_warning,
    max_concurrent_checks,
    memory_size,
)
from tests.support.cfn import load_template


def test_the_template_default_is_the_size_the_code_plans_for() -> None:
    assert load_template()["Parameters"]["MemorySize"]["Default"] == DEFAULT_MEMORY_MB
    assert DEFAULT_MEMORY_MB in ACCOUNTS_PER_SIZE


@pytest.mark.parametrize(("memory_mb", "workers"), [(128, 15), (256, 29), (512, 58), (1024, 64), (None, 64)])
def test_checks_in_flight_follow_the_cpu_share(memory_mb: int | None, workers: int) -> None:
    assert max_concurrent_checks(memory_mb) == workers
    assert max_concurrent_checks(memory_mb) <= MAX_CONCURRENT_CHECKS


@pytest.mark.parametrize(
    ("raw", "size"), [("512", 512), (" 128 ", 128), ("", None), ("lots", None), ("0", None)]
)
def test_the_memory_size_comes_from_lambdas_variable(raw: str, size: int | None) -> None:
    assert memory_size({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": raw}) == size
    assert memory_size({}) is None


def test_a_fleet_too_big_for_its_size_gets_a_warning_that_says_what_to_do() -> None:
    largest = max(ACCOUNTS_PER_SIZE)
    assert capacity_warning(ACCOUNTS_PER_SIZE[128], 128) is None
    assert "MemorySize parameter to 256" in str(capacity_warning(ACCOUNTS_PER_SIZE[128] + 1, 128))
    assert "MemorySize parameter to 256" in str(capacity_warning(ACCOUNTS_PER_SIZE[128] + 1, 200))
    assert "split the accounts" in str(capacity_warning(ACCOUNTS_PER_SIZE[largest] + 1, 4096))
