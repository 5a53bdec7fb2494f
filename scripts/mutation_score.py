"""`make mutate`: the mutation score of the pure core, from `mutmut results --all true` on stdin.

mutmut prints counts but no score, and knows nothing of mutants that no test can kill. Those are
listed, each with its reason, in mutmut-equivalents.txt at the repository root: one line each,
`mutant-name  reason`, `#` starts a comment. The score is killed / (all - listed equivalents).
A listed name that no longer survives is reported as stale, so the list cannot rot unseen.
Run as a module from the repository root: `mutmut results --all true | python -m scripts.mutation_score`.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

EQUIVALENTS = Path(__file__).resolve().parents[1] / "mutmut-equivalents.txt"
KILLED = {"killed", "timeout", "caught by type check"}


def read_results(lines: list[str]) -> dict[str, str]:
    """`    name: status` lines, by mutant name."""
    results = {}
    for line in lines:
        name, sep, status = line.strip().rpartition(": ")
        if sep and "__mutmut_" in name:
            results[name] = status
    return results


def read_equivalents(path: Path) -> dict[str, str]:
    """The listed equivalent mutants and why each one is equivalent."""
    listed = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, _, reason = line.partition(" ")
        if not reason.strip():
            sys.exit(f"{path.name}, line {number}: {name} needs a reason after the name")
        listed[name] = reason.strip()
    return listed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fail-under", type=float, default=0.0, help="exit 1 below this score (percent)")
    args = parser.parse_args()

    results = read_results(sys.stdin.read().splitlines())
    if not results:
        sys.exit("no mutmut results on stdin: run `mutmut run` first")
    equivalents = read_equivalents(EQUIVALENTS) if EQUIVALENTS.exists() else {}

    counts = Counter(results.values())
    killed = sum(counts[status] for status in KILLED)
    equivalent = [name for name in equivalents if results.get(name) == "survived"]
    stale = [name for name in equivalents if results.get(name) != "survived"]
    unexplained = sorted(
        name for name, status in results.items() if status not in KILLED and name not in equivalents
    )

    for name in unexplained:
        print(f"not killed: {name} ({results[name]})")
    for name in stale:
        print(f"stale in {EQUIVALENTS.name}: {name} ({results.get(name, 'no such mutant')})")
    judged = len(results) - len(equivalent)
    score = 100.0 * killed / judged if judged else 100.0
    print(
        f"mutation score: {score:.1f}% ({killed} killed of {len(results)} mutants, "
        f"{len(equivalent)} listed as equivalent, {len(unexplained)} not killed)"
    )
    return 1 if score < args.fail_under else 0


if __name__ == "__main__":
    sys.exit(main())
