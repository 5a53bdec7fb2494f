"""`make demo` keeps working: it runs in a real process and its claims are checked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_demo_runs_end_to_end_and_shows_metrics_and_the_alert() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "scripts.demo"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    out = completed.stdout
    assert "lemlist     CreditsRemaining=42" in out
    assert "AccountsChecked=2  AccountsFailing=1  AccountsLow=1" in out
    assert "Subject: [credit-monitor] lemlist credits below warning: 42 left" in out
    assert "Subject: [credit-monitor] Reminder: lemlist still below warning, 42 left" in out
    assert "Subject: [credit-monitor] lemlist credits recovered: 5,000" in out
    assert "fullenrich  FAILED" in out
    assert "API keys in logs, metrics or notifications: none" in out
    assert "Subject: [credit-monitor] 6 lemlist accounts low, lowest 42 left" in out
    assert "Subject: [credit-monitor] lemlist outage: 6 accounts failing (http)" in out
    assert "Subject: [credit-monitor] 6 lemlist accounts: checks working again" in out
    assert "Notifications for 6 accounts over a LOW, a 3-run outage and its recovery: 3" in out
    assert "Subject: [credit-monitor] 6 lemlist accounts low (6 CRITICAL), lowest 12 left" in out
    assert "Subject: [credit-monitor] 6 FullEnrich accounts run out soon, the first in about 5.7 days" in out
    assert out.count("The same notification, as the chat card:") == 3
    assert '"title": ":warning: 6 lemlist accounts low, lowest 42 left"' in out
    assert "Subject: [credit-monitor] Weekly digest, week of 02 Nov 2026: 6 CRITICAL (12 accounts)" in out
