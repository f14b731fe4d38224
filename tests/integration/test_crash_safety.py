"""Kill the worker (SIGKILL, a real process) at every risky point; after a restart every message is
registered exactly once and every receipt is sent exactly once, with one worker process and with several."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests import mailfactory
from tests.integration.receipts import replies

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Europe/Bucharest"))
SENDERS = ["a@example.ro", "b@example.ro", "c@example.ro"]


# The daemon's own points are killed with several workers; the points inside a worker child (a stage's
# record under the write lock, the receipt's prepare outside any transaction) with one worker and with several
# finishing in any order, where the count of workers changes what is in flight when the kill lands.
IN_DAEMON = ["after-claim", "before-sending-acknowledgements", "before-sending-receipts", "after-first-send"]
IN_CHILD = ["during-validate", "before-receipt"]
POINTS = [(point, 3) for point in IN_DAEMON] + [(point, processes) for point in IN_CHILD for processes in (1, 3)]


@pytest.mark.parametrize(("point", "processes"), POINTS, ids=[f"{point}-{processes}" for point, processes in POINTS])
def test_restart_after_kill_registers_and_sends_exactly_once(  # type: ignore[no-untyped-def]
    intake, dovecot, smtp_sink, point: str, processes: int
) -> None:
    intake.env["INTAKE_WORKER__PROCESSES"] = str(processes)
    for index, sender in enumerate(SENDERS):
        dovecot.append(
            mailfactory.good_submission(sender=sender).as_bytes(), internaldate=T0 + timedelta(minutes=index)
        )

    intake.crash(point, "poll", "--once")
    intake.poll()

    submissions = intake.json("submissions")
    assert sorted(s["number"] for s in submissions) == [1, 2, 3]
    assert all(s["state"] == "receipted" and s["receipt"]["sent"] for s in submissions)
    assert [s["sender"] for s in sorted(submissions, key=lambda s: s["number"])] == SENDERS

    receipts = [reply for reply in replies(smtp_sink.wait_for(6)) if reply.is_receipt]
    per_recipient = Counter(reply.recipient for reply in receipts)
    assert per_recipient == Counter(SENDERS)
    assert len({str(reply.message["Message-ID"]) for reply in receipts}) == 3
    assert dovecot.uids("INBOX") == []

    # And nothing more on a further run.
    smtp_sink.clear()
    intake.poll()
    assert smtp_sink.messages == []
