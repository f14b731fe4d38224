"""Issue 11, section 2: several worker processes share a poll's work, and registration numbers still follow the
order of arrival, gap-free, whatever order the workers finish in.

The first messages to arrive are made slow in `verify` (tests/integration/hostile_at.py, marker SLOW-VERIFY), so
the workers finish the later ones first; the mailbox, the children, the database and the replies are real.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests import mailfactory
from tests.integration.harness import Intake
from tests.integration.receipts import replies

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Europe/Bucharest"))


def test_numbers_follow_arrival_when_workers_finish_out_of_order(intake: Intake, dovecot, smtp_sink) -> None:  # type: ignore[no-untyped-def]
    subjects = ["Cerere SLOW-VERIFY 0", "Cerere SLOW-VERIFY 1", "Cerere 2", "Cerere 3", "Cerere 4", "Cerere 5"]
    senders = [f"w{index}@example.ro" for index in range(len(subjects))]
    for index, (sender, subject) in enumerate(zip(senders, subjects, strict=True)):
        message = mailfactory.good_submission(sender=sender, subject=subject)
        dovecot.append(message.as_bytes(), internaldate=T0 + timedelta(minutes=index))

    result = subprocess.run(
        [sys.executable, "-m", "tests.integration.hostile_at", "poll", "--once"],
        cwd=intake.workdir,
        env=intake.environment(INTAKE_WORKER__PROCESSES="3"),
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr

    submissions = intake.json("submissions")
    by_number = sorted(submissions, key=lambda s: s["number"])
    assert [s["number"] for s in by_number] == list(range(1, len(subjects) + 1))
    assert [s["sender"] for s in by_number] == senders
    assert all(s["state"] == "receipted" and s["receipt"]["sent"] for s in submissions)

    # The workers did finish out of order: a later arrival passed `assess` (ready for its number) before the
    # slow first ones, so only the serial registration put them back in arrival order.
    ids = {s["sender"]: s["id"] for s in submissions}
    assessed = _commit_order(intake, "stage:assess")
    assert assessed.index(ids[senders[2]]) < assessed.index(ids[senders[0]]), assessed
    registered = _commit_order(intake, "stage:register")
    assert registered == [ids[sender] for sender in senders]

    receipts = [r for r in replies(smtp_sink.wait_for(2 * len(subjects))) if r.is_receipt]
    assert sorted(r.recipient for r in receipts) == sorted(senders)
    assert dovecot.uids("INBOX") == []


def _commit_order(intake: Intake, action: str) -> list[int]:
    """Submission ids in the order their `action` event was committed (event ids are assigned at insert, and
    SQLite's write lock makes inserts of different transactions follow their commit order)."""
    with sqlite3.connect(intake.workdir / "intake.db") as db:
        rows = db.execute("SELECT submission_id FROM event WHERE action = ? ORDER BY id", (action,)).fetchall()
    return [row[0] for row in rows]
