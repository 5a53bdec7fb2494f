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
        timeout=240,
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
    assert out.count("The same notification, as the chat card:") == 2
    assert '"title": ":warning: 6 lemlist accounts low, lowest 42 left"' in out
    assert "Subject: [credit-monitor] Weekly digest, week of 02 Nov 2026: 6 CRITICAL (12 accounts)" in out
    # A quiet month, then a burn: one SPENDING FAST, then RUNNING OUT with the true runway.
    assert "Subject: [credit-monitor] FullEnrich spending fast: 1,000 credits in 1 h" in out
    assert "After 3 h of the burn: MinDaysUntilEmpty 0.71 days, the true runway 0.71 days" in out
    assert "Subject: [credit-monitor] FullEnrich credits run out in about 0.7 days" in out
    # Monthly plans: the one that lasts is silent; the other is told the dates and the gap.
    assert "steady-plan: nothing, as it lasts until its renewal" in out
    assert "runs out around Sat 21 Nov 2026, 10 days before it renews on Tue 01 Dec 2026" in out
    assert "Subject: [credit-monitor] lemlist (busy-plan) credits renewed: 5,000" in out
    # Two clients' routes: each Slack channel hears its own accounts only; PagerDuty opens and resolves.
    acme = out.split("Slack #acme received 1 message:")[1].split("Slack #globex received")[0]
    globex = out.split("Slack #globex received 1 message:")[1].split("PagerDuty events")[0]
    assert "| :warning: lemlist (acme-lemlist) credits below warning: 42 left" in acme
    assert "globex" not in acme
    assert "| :warning: lemlist (globex-lemlist) credits below warning: 42 left" in globex
    assert "acme" not in globex
    assert "| :white_check_mark: lemlist (acme-lemlist) credits recovered: 5,000" in out
    assert "trigger  dedup_key credit-monitor/acme-lemlist/balance  severity warning" in out
    assert "resolve  dedup_key credit-monitor/acme-lemlist/balance" in out
    assert "Open PagerDuty incidents: none" in out
    assert "Slack #acme names only its own accounts: yes" in out
    assert "Slack #globex names only its own accounts: yes" in out
    assert "PagerDuty: one incident, triggered then resolved: yes" in out
    assert "Webhook URLs and the routing key nowhere in logs, metrics or messages: yes" in out
