"""One time budget for a whole run, so a run always ends itself before Lambda kills it.

The checks together end by CHECK_DEADLINE_SECONDS from the start of the run, whatever the number
of providers. State writes and SNS publishes use what remains: each AWS call is attempted only
while its worst case (botocore's timeouts and retries, below) still fits before the run's end,
which keeps SAFETY_MARGIN_SECONDS before Lambda's own timeout. What does not fit is reported and
left for the next run (a pending notification stays pending).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

AWS_CONNECT_TIMEOUT_SECONDS = 1.0
AWS_READ_TIMEOUT_SECONDS = 2.0
AWS_MAX_ATTEMPTS = 2
AWS_CALL_SECONDS = AWS_MAX_ATTEMPTS * (AWS_CONNECT_TIMEOUT_SECONDS + AWS_READ_TIMEOUT_SECONDS) + 1.0
"""Worst case of one state write or publish: two attempts and botocore's backoff (at most 1 s)."""
AWS_RESERVE_SECONDS = 2 * AWS_CALL_SECONDS
"""Kept after the checks: room for at least the state write and one publish, even when AWS hangs."""
MAX_CONCURRENT_ACCOUNTS = 32
"""Accounts whose state writes and publishes run at once (each a few AWS calls, in sequence)."""
MAX_CONCURRENT_DELIVERIES = 128
"""Deliveries under way at once, each to one receiver (a thread waiting on a socket, at most
MAX_DELIVERY_SECONDS): so many receivers hanging together (a Slack-wide outage at an agency of many
clients) hold back no other. Past it, the order of the routes' receivers turns every hour."""
SAFETY_MARGIN_SECONDS = 2.0
"""Kept before Lambda's timeout for the metrics, the summary line and returning."""

Clock = Callable[[], float]


@dataclass(frozen=True)
class Budget:
    """Absolute `time.monotonic()` deadlines: `checks_end` for the fetches, `run_end` for all."""

    checks_end: float
    run_end: float
    clock: Clock = field(default=time.monotonic, compare=False)

    @classmethod
    def start(cls, seconds_available: float, check_deadline: float, clock: Clock = time.monotonic) -> Budget:
        """`seconds_available`: Lambda's remaining time (the CLI passes its own)."""
        now = clock()
        run_end = now + max(0.0, seconds_available - SAFETY_MARGIN_SECONDS)
        checks_end = min(now + check_deadline, run_end - AWS_RESERVE_SECONDS)
        return cls(checks_end=max(now, checks_end), run_end=run_end, clock=clock)

    def remaining(self) -> float:
        return max(0.0, self.run_end - self.clock())

    def allows_aws_call(self, calls: int = 1) -> bool:
        """Whether `calls` more AWS calls fit, each at its worst case, before the run's end."""
        return self.remaining() >= calls * AWS_CALL_SECONDS
