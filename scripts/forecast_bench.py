"""`make forecast-bench`: how early, how right and how quiet the alerts are, on realistic traces.

Replays every family of balance traces (tests/support/traces.py) hour by hour through the real
decision code (`alerting.decide`, with the default policy: MIN_DAYS_LEFT 7, the default spike rule)
and prints, per family:
- lead: the worst lead time of the first warning before the balance ran dry, as a share of the
  ideal (MIN_DAYS_LEFT, or all the time since the run-out became knowable, when that is less);
- error: how far the days left were from the truth (what the rest of the trace really used), as a
  share of the truth, at every run where fewer than twice MIN_DAYS_LEFT really remained: median and
  worst;
- false/month: warnings nobody needed (a spike where there was none, RUNNING OUT with more than
  twice MIN_DAYS_LEFT left, any warning of a plan that lasts until its renewal), per month of trace;
- spikes: spikes (and bursts) told by SPENDING FAST within 2 hours, of those in the traces.

    python -m scripts.forecast_bench [--traces N] [--family NAME ...]
"""

from __future__ import annotations

import argparse
import time

from tests.support.traces import FAMILIES, Row, replay, score

TARGET_LEAD = 0.9
TARGET_MEDIAN_ERROR = 0.15


def table(rows: list[Row]) -> str:
    header = ("family", "traces", "lead (worst)", "error median", "error worst", "false/month", "spikes told")
    lines = [header]
    for row in rows:
        lines.append(
            (
                row.family,
                str(row.traces),
                "-" if row.lead_share is None else f"{row.lead_share:.0%}",
                "-" if row.median_error is None else f"{row.median_error:.1%}",
                "-" if row.worst_error is None else f"{row.worst_error:.0%}",
                f"{row.false_per_month:.2f}",
                row.spikes_told,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = ["| " + " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)) + " |" for line in lines]
    out.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--traces", type=int, default=12, help="seeded variants per family (default 12)")
    parser.add_argument("--family", action="append", choices=sorted(FAMILIES), help="only these families")
    args = parser.parse_args(argv)
    rows = []
    started = time.process_time()
    for name in args.family or FAMILIES:
        replays = [replay(FAMILIES[name](seed)) for seed in range(args.traces)]
        rows.append(score(name, replays))
    print(table(rows))
    print(f"\n{sum(r.traces for r in rows)} traces replayed in {time.process_time() - started:.1f} s of CPU")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
